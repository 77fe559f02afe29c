import { SputnikError } from '../errors.ts';

/**
 * Opaque change-feed cursors. The store hands out monotonically increasing `seq` values on every
 * row 1C reads by cursor; a cursor wraps the last seq a reader has seen, tagged with the feed's
 * name so a cursor of one feed is refused by another. Stable across restarts (seq lives in SQLite).
 */
export function encodeCursor(feed: string, seq: number): string {
  return Buffer.from(`${feed}:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(feed: string, cursor: string, field = 'since'): number {
  let text = '';
  try {
    text = Buffer.from(cursor, 'base64url').toString('utf8');
  } catch {
    /* fall through */
  }
  const m = /^([a-z_]+):(\d{1,15})$/.exec(text);
  if (!m || m[1] !== feed) {
    throw new SputnikError(400, 'invalid_cursor', `Курсор «${cursor.slice(0, 40)}» не от этого списка: передайте значение поля next из прошлого ответа (или пустое, чтобы начать сначала)`, { field });
  }
  return Number(m[2]);
}
