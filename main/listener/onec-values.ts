import { z } from 'zod';

/**
 * 1C's values as 1C really writes them, turned into typed ones. Every route that takes a number,
 * money, date or boolean from 1C uses these schemas, so each spelling is accepted everywhere
 * and a bad value is refused with a message naming the field.
 *
 * - numbers: JSON numbers, or strings from Строка()/Формат(): NBSP/space groups, comma decimal
 *   (`1 234,56`), up to 27 fraction digits kept exactly (money is a decimal string, never a float);
 *   `Формат(0)` is "" — accepted as 0 only where a schema says so (`emptyIsZero`).
 * - dates: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (1C local time) with optional `Z`/`±hh:mm`,
 *   `DD.MM.YYYY`, `DD.MM.YYYY H:MM:SS`, `/Date(ms)/`, `new Date(ms)`; the empty date
 *   (`0001-01-01T00:00:00`, `01.01.0001 0:00:00`, "") is null.
 * - booleans: true/false, 1/0, "Да"/"Нет", "true"/"false", "1"/"0".
 */

const NUMBER_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Normalises 1C's number text to a canonical decimal string ("-1234.5"), or null when it is not a number. */
export function parseOnecNumber(input: unknown): string | null {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return null;
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  } else return null;
  const m = NUMBER_TEXT.exec(text);
  if (!m) return null;
  let [, sign, int, frac = ''] = m;
  const exp = m[4] ? Number(m[4]) : 0;
  if (exp > 0) {
    const move = frac.slice(0, exp).padEnd(exp, '0');
    int += move;
    frac = frac.slice(exp);
  } else if (exp < 0) {
    const k = -exp;
    const padded = int.padStart(k + 1, '0');
    frac = padded.slice(padded.length - k) + frac;
    int = padded.slice(0, padded.length - k);
  }
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  if (int === '0' && frac === '') sign = '';
  return `${sign === '-' ? '-' : ''}${int}${frac ? '.' + frac : ''}`;
}

const numberInput = z.union([z.number(), z.string()]);

/** A number from 1C as an exact decimal string. */
export function onecDecimal(opts: { emptyIsZero?: boolean; maxFractionDigits?: number; min?: string; positive?: boolean } = {}) {
  return numberInput
    .transform((value, ctx) => {
      if (typeof value === 'string' && value.trim() === '' && opts.emptyIsZero) return '0';
      const d = parseOnecNumber(value);
      if (d === null) {
        ctx.addIssue({ code: 'custom', message: `«${String(value).slice(0, 40)}» — не число (пример: 1234,56 или 1 234.56)`, input: value });
        return z.NEVER;
      }
      const fraction = d.split('.')[1] ?? '';
      if (opts.maxFractionDigits !== undefined && fraction.length > opts.maxFractionDigits) {
        ctx.addIssue({ code: 'custom', message: `не больше ${opts.maxFractionDigits} знаков после запятой (получено ${d})`, input: value });
        return z.NEVER;
      }
      if (opts.positive && (d.startsWith('-') || /^0(\.0*)?$/.test(d))) {
        ctx.addIssue({ code: 'custom', message: `должно быть больше нуля (получено ${d})`, input: value });
        return z.NEVER;
      }
      return d;
    })
    .meta({ description: 'Число: 1234.56, "1 234,56" (пробелы и неразрывные пробелы, запятая)', examples: [1234.56, '1 234,56'] });
}

/** A whole number from 1C (JS number; refused when it does not fit exactly). */
export function onecInteger(opts: { min?: number; max?: number; emptyIsZero?: boolean } = {}) {
  return numberInput
    .transform((value, ctx) => {
      if (typeof value === 'string' && value.trim() === '' && opts.emptyIsZero) return 0;
      const d = parseOnecNumber(value);
      if (d === null || d.includes('.') || !Number.isSafeInteger(Number(d))) {
        ctx.addIssue({ code: 'custom', message: `«${String(value).slice(0, 40)}» — не целое число`, input: value });
        return z.NEVER;
      }
      const n = Number(d);
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        ctx.addIssue({ code: 'custom', message: `должно быть от ${opts.min ?? '−∞'} до ${opts.max ?? '∞'} (получено ${n})`, input: value });
        return z.NEVER;
      }
      return n;
    })
    .meta({ description: 'Целое число: 7500 или "7 500"', examples: [7500, '7 500'] });
}

/** `?limit=` of a feed or list: an integer 1–max (as 1C writes it, "1 000" too), `fallback` when absent. */
export function pageLimit(max: number, fallback: number) {
  return onecInteger({ min: 1, max })
    .optional()
    .transform((v) => v ?? fallback)
    .describe(`Сколько записей вернуть (1–${max}, по умолчанию ${fallback})`);
}

export interface OnecDateTime {
  /** Wall-clock date and time as 1C meant them. */
  date: string; // YYYY-MM-DD
  time: string; // HH:MM:SS
  /** Minutes east of UTC when 1C wrote a zone (Z, ±hh:mm, /Date(ms)/), else null: the client's local time. */
  offsetMinutes: number | null;
}

function validYmd(y: number, mo: number, d: number): boolean {
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return d <= days;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Parses any of 1C's date spellings; undefined when not a date, null for the empty date. */
export function parseOnecDate(input: string): OnecDateTime | null | undefined {
  const s = input.trim();
  if (s === '') return null;
  let m = /^(?:\/Date\((-?\d+)\)\/|new Date\((-?\d+)\))$/.exec(s);
  if (m) {
    const d = new Date(Number(m[1] ?? m[2]));
    if (Number.isNaN(d.getTime())) return undefined;
    return { date: d.toISOString().slice(0, 10), time: d.toISOString().slice(11, 19), offsetMinutes: 0 };
  }
  let y: number, mo: number, d: number, h = 0, mi = 0, se = 0;
  let offset: number | null = null;
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (m) {
    [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[4]) [h, mi, se] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
    if (m[7]) offset = m[7] === 'Z' ? 0 : (m[7][0] === '-' ? -1 : 1) * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(-2)));
  } else {
    m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
    if (!m) return undefined;
    [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[4]) [h, mi, se] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  }
  if (y === 1 && mo === 1 && d === 1 && h === 0 && mi === 0 && se === 0) return null;
  if (!validYmd(y, mo, d) || h > 23 || mi > 59 || se > 59) return undefined;
  return { date: `${pad(y, 4)}-${pad(mo)}-${pad(d)}`, time: `${pad(h)}:${pad(mi)}:${pad(se)}`, offsetMinutes: offset };
}

const DATE_HELP = 'Дата: 2024-03-04, 04.03.2024, 2024-03-04T05:06:07, 04.03.2024 5:06:07; пустая дата 0001-01-01T00:00:00 — пусто';

function dateSchema<T>(pick: (v: OnecDateTime) => T) {
  return z
    .string()
    .transform((value, ctx): T | null => {
      const v = parseOnecDate(value);
      if (v === undefined) {
        ctx.addIssue({ code: 'custom', message: `«${value.slice(0, 40)}» — не дата (пример: 17.05.1990 или 1990-05-17)`, input: value });
        return z.NEVER;
      }
      return v === null ? null : pick(v);
    })
    .meta({ description: DATE_HELP, examples: ['17.05.1990', '2024-03-04T05:06:07'] });
}

/** A calendar date from 1C → `YYYY-MM-DD`, or null for 1C's empty date. */
export const onecDate = () => dateSchema((v) => v.date);

/** ISO text of a moment 1C wrote: with its zone when 1C gave one, else local wall-clock time without zone. */
export function onecIso(v: OnecDateTime): string {
  const base = `${v.date}T${v.time}`;
  if (v.offsetMinutes === null) return base;
  if (v.offsetMinutes === 0) return `${base}Z`;
  const a = Math.abs(v.offsetMinutes);
  return `${base}${v.offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** A moment from 1C → ISO text (onecIso). */
export const onecDateTime = () => dateSchema(onecIso);

const TRUE_WORDS = new Set(['true', '1', 'да', 'истина', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'нет', 'ложь', 'no', '']);

/** A boolean from 1C: true/false, 1/0, Да/Нет. */
export const onecBoolean = () =>
  z
    .union([z.boolean(), z.number(), z.string()])
    .transform((value, ctx) => {
      if (typeof value === 'boolean') return value;
      const w = String(value).trim().toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      ctx.addIssue({ code: 'custom', message: `«${String(value).slice(0, 40)}» — ожидалось Да/Нет, true/false или 1/0`, input: value });
      return z.NEVER;
    })
    .meta({ description: 'Логическое: true/false, 1/0, "Да"/"Нет"', examples: [true, 'Да'] });

/**
 * A key in the path (a card's code, an order's number), trimmed as the body's texts are: 1C pads
 * fixed-length codes with spaces, so `0001  ` and `0001` are one card; blank is refused.
 */
export const onecKey = (max = 100) => z.string().trim().min(1).max(max);

/** Text from 1C, trimmed; "" counts as absent when `emptyIsAbsent`. */
export const onecText = (opts: { max?: number } = {}) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .pipe(z.string().max(opts.max ?? 1000, `не длиннее ${opts.max ?? 1000} символов`));

/** Formats a moment for 1C: local time without zone, `YYYY-MM-DDTHH:MM:SS` (what ЗаписатьJSON writes and ПрочитатьJSON reads). */
export function toOnecDateTime(ms: number | Date): string {
  const d = typeof ms === 'number' ? new Date(ms) : ms;
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
