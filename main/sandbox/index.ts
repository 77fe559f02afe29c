import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../config/schema.ts';
import { startFakePassteam } from './passteam/fake.ts';
import { sandboxPassteamSeed, seedSandboxCards } from './passteam/seed.ts';
import { startFakePayKeeper } from './paykeeper/fake.ts';
import { SANDBOX_PK_USER, seedSandboxInvoices } from './paykeeper/seed.ts';
import { startFakeDocpart } from './docpart/fake.ts';
import { startFake1C } from './onec/fake.ts';
import { sandboxCertificate } from './tls.ts';
import { SANDBOX_REGATE_PASSWORD, SANDBOX_REGATE_USER } from './credentials.ts';
import { generateDocpartData } from './docpart/seed.ts';

export interface Sandbox {
  /** Config that points the connectors at the fakes. */
  config: ConfigInput;
  /** Names of the fake services that are running. */
  services: string[];
  /** Once Sputnik listens: makes sandbox data through its API (best effort). */
  seed(listenerUrl: string, token: string): Promise<void>;
  stop(): Promise<void>;
}

/** The sandbox runs for days: each fake keeps only about its latest requests. */
const KEEP_REQUESTS = 2000;

/**
 * Starts the fake remote services on loopback with seeded data and returns the config that
 * points the connectors at them.
 */
export async function startSandbox(): Promise<Sandbox> {
  const keepRequests = KEEP_REQUESTS;
  const token = `sandbox-${randomBytes(12).toString('hex')}`;
  const passteam = await startFakePassteam({ token, ...sandboxPassteamSeed(), latencyMs: 150, keepRequests });
  const pkPassword = `sandbox-${randomBytes(12).toString('hex')}`;
  const paykeeper = await startFakePayKeeper({ user: SANDBOX_PK_USER, password: pkPassword, latencyMs: 150, keepRequests });
  const dpKey = `sandbox-${randomBytes(12).toString('hex')}`;
  const docpart = await startFakeDocpart({ techKey: dpKey, data: generateDocpartData({ orders: 300, seed: 2026 }), latencyMs: 100, keepRequests });
  const stops: Array<() => Promise<unknown> | void> = [() => passteam.stop(), () => paykeeper.stop(), () => docpart.stop()];
  // ReGate needs a certificate: made with openssl when it is installed (Linux, Git for Windows); else ReGate stays off.
  const cert = sandboxCertificate();
  const onec = cert ? await startFake1C({ latencyScale: 0.2, keepRequests }) : null;
  if (onec) stops.push(() => onec.stop());
  if (cert) stops.push(cert.remove);
  return {
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token, templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: SANDBOX_PK_USER, password: pkPassword },
      docpart: { enabled: true, baseUrl: docpart.url, techKey: dpKey, everySeconds: 60 },
      ...(cert && onec
        ? {
            regate: {
              enabled: true,
              // Its login is published (README): this machine only, unless the user's config names a host.
              host: '127.0.0.1',
              tls: { certFile: cert.certFile, keyFile: cert.keyFile },
              tenants: [{ id: 'sandbox', user: SANDBOX_REGATE_USER, password: SANDBOX_REGATE_PASSWORD, baseUrl: onec.baseUrl, onecUser: onec.user, onecPassword: onec.password, poolSize: 10 }],
            },
          }
        : {}),
    },
    services: ['passteam', 'paykeeper', 'docpart', ...(onec ? ['1c (regate)'] : [])],
    async seed(listenerUrl, listenerToken) {
      await seedSandboxCards(listenerUrl, listenerToken);
      await seedSandboxInvoices(listenerUrl, listenerToken, paykeeper);
    },
    async stop() {
      await Promise.allSettled(stops.map((s) => s()));
    },
  };
}
