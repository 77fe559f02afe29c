import { fromMoscowWall } from '../../time/moscow.ts';


/** PayKeeper's `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`), Moscow wall time → ms epoch; null for empty/absent/unparseable. */
export function parseMsk(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  return fromMoscowWall(+y, +mo, +d, +h, +mi, +s);
}

/** The calendar day after `YYYY-MM-DD` (PayKeeper's `expiry` is exclusive: it gets the first unpayable day). */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** Today's date in the shop's local time, `YYYY-MM-DD`. */
export function localToday(now = new Date()): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

/** Local midnight of a `YYYY-MM-DD` day, ms epoch. */
export function localDayStart(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d).getTime();
}
