import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A self-signed localhost certificate (2 days) in `dir`, for ReGate's HTTPS listener. */
export function selfSigned(dir: string): { keyFile: string; certFile: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { keyFile: key, certFile: cert };
}
