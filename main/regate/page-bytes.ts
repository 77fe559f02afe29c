import { createHash } from 'node:crypto';

/** A read's answer's media type, on the full path and the fresh-hit path alike. */
export const PAGE_TYPE = 'application/json; charset=utf-8';

export interface PageBytes {
  text: string;
  bytes: Buffer;
  etag: string;
}

// A cached answer is serialized, encoded and hashed once, not on every hit (a hot assortment page is read thousands of times a second).
const wire = new WeakMap<object, PageBytes>();

/** A read's answer as sent: its JSON text, its UTF-8 bytes and its ETag (made once per cached value). */
export function pageBytes(value: unknown): PageBytes {
  const key = value !== null && typeof value === 'object' ? value : null;
  const known = key && wire.get(key);
  if (known) return known;
  const text = JSON.stringify(value);
  const bytes = Buffer.from(text, 'utf8');
  const out = { text, bytes, etag: `"${createHash('sha1').update(bytes).digest('base64url')}"` };
  if (key) wire.set(key, out);
  return out;
}
