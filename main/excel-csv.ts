/**
 * CSV for Russian Excel, the one writer behind every CSV export (the PayKeeper invoices, the
 * journal): csv-stringify with UTF-8 BOM (without it Excel reads CP1251), `;` (the list separator
 * of the ru-RU locale, which Excel uses when it opens a .csv), CRLF and RFC 4180 quoting (a field
 * with `;`, `"`, CR or LF is quoted, `"` doubled).
 *
 * Every string cell goes through `excelText`, so text Excel would not keep as text is written as
 * the formula string literal ="…", the one form Excel opens as the exact text in any locale:
 *  - digits-only values become numbers — 17-digit ids turn into 2,02611E+16 with the last digits
 *    zeroed (lost for good), leading zeros vanish; number-like or date-like text is converted the
 *    same way;
 *  - text starting with = + - @ TAB CR LF (a payer's "name" from a web form) would be run as a
 *    formula — CSV injection; ="=HYPERLINK(…)" shows the characters instead.
 * The field then carries quotes, so it is RFC 4180-quoted: "=""20261123000000001""". A reader other
 * than Excel gets the stored text back by unwrapping ="…" (and "" → ""). Literals are capped at 255
 * characters in Excel, so longer values are split into ="…"&"…".
 *
 * Values Sputnik formatted itself for Excel to read as a number or a date ("1234,50",
 * "23.11.2026 08:50") are passed as `Formatted` and written as they are; numbers as digits.
 */
import { stringify } from 'csv-stringify/sync';

const EXCEL_LITERAL_MAX = 255;
const EXCEL_FORMULA_MAX = 8000;

/** Text Sputnik formatted for Excel to read as a number or a date: written as it is. */
export class Formatted {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type CsvCell = string | number | Formatted | null | undefined;

/** A text cell's value as Excel must show it verbatim (and never run as a formula); '' for none. */
export function excelText(s: string | null | undefined): string {
  if (s == null || s === '') return '';
  const misread = /^[=+\-@\t\r\n]/.test(s) || (/\d/.test(s) && /^[\d\s.,:/()%eE$₽+-]+$/.test(s));
  if (!misread) return s;
  const chars = Array.from(s);
  const parts: string[] = [];
  for (let i = 0; i < chars.length; i += EXCEL_LITERAL_MAX) parts.push(`"${chars.slice(i, i + EXCEL_LITERAL_MAX).join('').replace(/"/g, '""')}"`);
  const formula = '=' + parts.join('&');
  // Past Excel's formula length the value can only go as plain text (pathological input).
  return formula.length <= EXCEL_FORMULA_MAX ? formula : s;
}

const OPTIONS = {
  delimiter: ';',
  record_delimiter: '\r\n',
  // Also quote a field with a lone CR or LF (csv-stringify quotes only the full delimiter once it is set).
  quote_record_delimiter: true,
  cast: {
    string: (s: string) => excelText(s),
    number: (n: number) => String(n),
    object: (v: object) => {
      if (v instanceof Formatted) return v.text;
      throw new TypeError('a CSV cell is a string, a number or Formatted');
    },
  },
};
const WITH_BOM = { ...OPTIONS, bom: true };

/**
 * `records` as CSV lines, each ended by CRLF; `bom` puts the UTF-8 BOM first (the file's first
 * chunk). Strings are guarded by excelText, `Formatted` written as is, null/undefined empty.
 */
export function excelCsv(records: Iterable<readonly CsvCell[]>, opts: { bom?: boolean } = {}): string {
  return stringify(Array.isArray(records) ? records : [...records], opts.bom ? WITH_BOM : OPTIONS);
}
