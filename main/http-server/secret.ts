import { timingSafeEqual } from 'node:crypto';

/** Constant-time token comparison. Only a length mismatch returns early: a token's length is no secret. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = bytesOf(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// Expected tokens' bytes, encoded once per token value rather than on every request.
const encoded = new Map<string, Buffer>();
function bytesOf(secret: string): Buffer {
  let d = encoded.get(secret);
  if (!d) {
    if (encoded.size >= 8) encoded.clear(); // tokens change rarely; never grow without bound
    d = Buffer.from(secret, 'utf8');
    encoded.set(secret, d);
  }
  return d;
}
