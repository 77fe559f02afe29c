import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throw-away self-signed certificate for the sandbox's ReGate listener (CN=localhost, 30 days),
 * made with the openssl command line; null when openssl is not installed. An ECDSA P-256 key: an
 * RSA key's prime search took 0.1–0.5 s of the sandbox's start-up (P6).
 */
export function sandboxCertificate(): { certFile: string; keyFile: string; remove: () => void } | null {
  const dir = mkdtempSync(join(tmpdir(), 'sputnik-sandbox-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { certFile, keyFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
