/**
 * Docpart answers as PHP's PDO hands them out: every number may be a JSON string ("10",
 * "1500.00"), flags 0/1 or "0"/"1", times as Unix seconds or `dd.MM.yyyy HH:mm:ss` shop time.
 * These turn each into one shape; money stays exact decimal text.
 */
import { fromMoscowWall } from '../../time/moscow.ts';

export function int(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*-?\d+(\.0+)?\s*$/.test(v)) return Number.parseInt(v, 10);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

/** "1500", 1500, "1500.5", 1500.5 → "1500.00" / "1500.50" (two decimals, no float arithmetic on text). */
export function money(v: unknown): string {
  const text = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '0') : typeof v === 'string' ? v.trim().replace(',', '.') : '0';
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) return '0.00';
  const frac = (m[3] ?? '').padEnd(2, '0');
  if (frac.length > 2 && /[1-9]/.test(frac.slice(2))) return `${m[1]}${m[2] || '0'}.${frac}`; // more precision than kopecks: keep it
  return `${m[1]}${m[2] || '0'}.${frac.slice(0, 2)}`;
}

export function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

export function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** Unix seconds (number or digits) or `dd.MM.yyyy[ HH:mm[:ss]]` / `yyyy-MM-dd[ HH:mm:ss]` shop time → Unix seconds; null if none. */
export function unixTime(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v !== 'string' || v.trim() === '') return null;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number.parseInt(s, 10);
  let m = /^(\d{2})\.(\d{2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) return wall(+m[3], +m[2], +m[1], m[4], m[5], m[6]);
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) return wall(+m[1], +m[2], +m[3], m[4], m[5], m[6]);
  return null;
}

/** The shop's wall time is Moscow time. */
function wall(y: number, mo: number, d: number, h = '0', mi = '0', s = '0'): number {
  return Math.floor(fromMoscowWall(y, mo, d, +h, +mi, +s) / 1000);
}

