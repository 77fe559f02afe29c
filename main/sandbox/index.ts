import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../config/schema.ts';
import { startFakePassteam } from './passteam/fake.ts';
import { sandboxPassteamSeed } from './passteam/seed.ts';

export interface Sandbox {
  /** Config that points the connectors at the fakes. */
  config: ConfigInput;
  /** Names of the fake services that are running. */
  services: string[];
  stop(): Promise<void>;
}

/**
 * Starts the fake remote services on loopback with seeded data and returns the config that
 * points the connectors at them. PayKeeper and Docpart fakes arrive with their connectors.
 */
export async function startSandbox(): Promise<Sandbox> {
  const token = `sandbox-${randomBytes(12).toString('hex')}`;
  const passteam = await startFakePassteam({ token, ...sandboxPassteamSeed(), latencyMs: 150 });
  const stops = [() => passteam.stop()];
  return {
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token, templateId: 'tpl-loyalty' },
    },
    services: ['passteam'],
    async stop() {
      await Promise.allSettled(stops.map((s) => s()));
    },
  };
}
