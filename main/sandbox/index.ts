import type { ConfigInput } from '../config/schema.ts';

export interface Sandbox {
  /** Config that points the connectors at the fakes. */
  config: ConfigInput;
  /** Names of the fake services that are running. */
  services: string[];
  stop(): Promise<void>;
}

/**
 * Starts the fake remote services on loopback with seeded data and returns the config that
 * points the connectors at them. The fakes themselves arrive with their connectors
 * (Passteam, PayKeeper, Docpart); until then the sandbox runs the core with connectors off.
 */
export async function startSandbox(): Promise<Sandbox> {
  const stops: Array<() => Promise<void>> = [];
  return {
    config: {},
    services: [],
    async stop() {
      await Promise.allSettled(stops.map((s) => s()));
    },
  };
}
