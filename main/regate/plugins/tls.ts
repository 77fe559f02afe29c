import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import type { RegateConfig } from '../tenants.ts';

/**
 * ReGate is HTTPS only, TLS ≥ 1.2, with a PEM pair or a PFX (specs/regate.md). TLS is the server's
 * option (fastify takes it when the instance is made), not a plugin: app.ts passes these.
 */
export function httpsOptions(tls: RegateConfig['tls']): ServerOptions {
  if (tls.pfxFile) return { pfx: readFileSync(tls.pfxFile), passphrase: tls.pfxPassword, minVersion: 'TLSv1.2' };
  if (!tls.keyFile || !tls.certFile) throw new Error('regate.tls: нужен сертификат: certFile + keyFile (PEM) или pfxFile');
  return { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile), minVersion: 'TLSv1.2' };
}
