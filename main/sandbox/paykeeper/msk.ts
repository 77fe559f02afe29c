/**
 * Moscow time (main/time/moscow.ts) as PayKeeper writes it: `YYYY-MM-DD HH:MM:SS`.
 */
import { fromMoscowWall, moscowWall } from '../../time/moscow.ts';

export { mskDate, mskDateTime } from '../../time/moscow.ts';
export const DAY_MS = 24 * 3600_000;

/** `YYYYMMDDhhmmssSSS` of the Moscow time: the shape of a PayKeeper invoice id. */
export function mskIdDigits(ms: number): string {
  return moscowWall(ms).toISOString().replace(/[^0-9]/g, '').slice(0, 17);
}

/**
 * Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (Moscow time) to ms epoch; null when malformed or
 * not a real calendar moment (2026-02-30, 24:00:00).
 */
export function parseMsk(text: string): { ms: number; dateOnly: boolean } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(utc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    return null;
  }
  return { ms: fromMoscowWall(y, mo, d, h, mi, s), dateOnly: m[4] === undefined };
}
