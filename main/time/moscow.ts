/**
 * Moscow time, the one place it is defined: UTC+3 all year (no DST since 2014). PayKeeper writes
 * and reads its datetimes in it, Docpart shops keep their wall time in it, and the sandboxes
 * (PayKeeper, Docpart, 1C) answer in it.
 */
export const MSK_OFFSET_MS = 3 * 3_600_000;
/** The ISO 8601 zone suffix of Moscow time. */
export const MSK_ZONE = '+03:00';

/** A Date whose UTC fields are the Moscow wall clock at `ms` (read them with getUTC…/toISOString). */
export function moscowWall(ms: number): Date {
  return new Date(ms + MSK_OFFSET_MS);
}

/** `YYYY-MM-DDTHH:MM:SS` of the Moscow wall clock (no zone). */
export function mskIso(ms: number): string {
  return moscowWall(ms).toISOString().slice(0, 19);
}

/** `YYYY-MM-DD HH:MM:SS` in Moscow time. */
export function mskDateTime(ms: number): string {
  return mskIso(ms).replace('T', ' ');
}

/** `YYYY-MM-DD` of the Moscow calendar day. */
export function mskDate(ms: number): string {
  return mskIso(ms).slice(0, 10);
}

/** A Moscow wall time (month 1–12) → ms epoch. Fields out of range roll over as in Date.UTC. */
export function fromMoscowWall(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute, second) - MSK_OFFSET_MS;
}
