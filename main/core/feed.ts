import { onecIso, parseOnecDate } from '../listener/onec-values.ts';
import { decodeCursor, encodeCursor } from '../store/cursor.ts';

/** Where a change feed read starts: after a cursor's seq, or at rows changed at or after a time. */
export interface FeedStart {
  after: number;
  sinceMs: number;
}

/**
 * `changedSince` as 1C passes it: empty (from the beginning), the `next` of the last answer, or a
 * date and time in any spelling 1C writes (17.05.2026 10:00:00, ISO with or without a zone; no
 * zone means this computer's local time).
 */
export function feedStart(feed: string, changedSince: string | undefined, param = 'changedSince'): FeedStart {
  if (!changedSince) return { after: 0, sinceMs: 0 };
  const date = parseOnecDate(changedSince);
  if (date === undefined) return { after: decodeCursor(feed, changedSince, param), sinceMs: 0 };
  if (date === null) return { after: 0, sinceMs: 0 };
  return { after: 0, sinceMs: new Date(onecIso(date)).getTime() };
}

/**
 * The `next` cursor: after the last row given. With no row it stays where the read started, except
 * after a date: nothing changed since then means every row so far is behind the reader, so the
 * cursor moves to the feed's head (`head()`, the highest seq now); left at 0, the next call would
 * hand 1C the whole feed from the beginning.
 */
export function feedNext(feed: string, rows: ReadonlyArray<{ seq: number }>, start: FeedStart, head: () => number): string {
  const last = rows.at(-1)?.seq ?? (start.sinceMs > 0 ? head() : start.after);
  return encodeCursor(feed, last);
}
