/**
 * The accountant's export of PayKeeper invoices: XLSX (exceljs's streaming writer) and CSV shaped
 * for Russian Excel. Rows are written as they arrive from the iterable — nothing collects them —
 * and the producer pauses while `out` is backed up, so memory stays flat for any number of rows.
 *
 * Money is an exact decimal string everywhere; the only conversion to a float is the XLSX cell
 * value (Number("1234.50") is exact enough at 2 decimals: Excel stores doubles anyway).
 */
import type { Column, Worksheet } from 'exceljs';
import { EventEmitter, once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setImmediate as turn } from 'node:timers/promises';
import { excelCsv, Formatted, type CsvCell } from '../../excel-csv.ts';
import { prop, toError } from '../../unknown.ts';

export interface InvoiceExportRow {
  orderId: string;
  /** The payer's name as 1C sent it (Cyrillic). */
  clientId: string | null;
  email: string | null;
  /** Exact decimal string with 2 decimals, e.g. "1234.50". */
  amount: string;
  /** ms epoch */
  createdAt: number;
  /** 'YYYY-MM-DD', the last payable day. */
  expiry: string | null;
  state: 'queued' | 'created' | 'sent' | 'paid' | 'expired' | 'revoked' | 'failed';
  /** ms epoch */
  paidAt: number | null;
  paymentId: string | null;
  /** 17-digit string. */
  invoiceId: string | null;
}

export type ExportFormat = 'xlsx' | 'csv';

export const EXPORT_CONTENT_TYPE: Record<ExportFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
};

export const EXPORT_HEADERS = ['Заказ', 'Клиент', 'E-mail', 'Сумма', 'Создан', 'Оплатить до', 'Состояние', 'Оплачен', 'Платёж', 'Счёт PayKeeper'] as const;

export const STATE_LABELS: Record<InvoiceExportRow['state'], string> = {
  queued: 'В очереди',
  created: 'Создан',
  sent: 'Отправлен',
  paid: 'Оплачен',
  expired: 'Просрочен',
  revoked: 'Отозван',
  failed: 'Ошибка',
};

export const SHEET_NAME = 'Счета';
export const MONEY_FMT = '#,##0.00 "₽"';
export const DATETIME_FMT = 'dd.mm.yyyy hh:mm';
export const DATE_FMT = 'dd.mm.yyyy';

/**
 * 'Счета PayKeeper 2026-11-01 — 2026-11-30.xlsx', with what else the rows were picked by
 * ('… (оплачен).xlsx'), so two exports of one period keep apart. Characters no file system
 * accepts become '_'.
 */
export function exportFileName(from: string, to: string, format: ExportFormat, tag?: string): string {
  const safe = (s: string) => s.replace(/[\\/:*?"<>|\u0000-\u001f\u007f]/g, '_');
  return `Счета PayKeeper ${safe(from)} — ${safe(to)}${tag ? ` (${safe(tag)})` : ''}.${format}`;
}

/** 1 счёт, 2 счёта, 5 счетов, 21 счёт. */
export function invoicesWord(n: number): string {
  const [ten, one] = [n % 100, n % 10];
  if (ten >= 11 && ten <= 14) return `${n} счетов`;
  return `${n} ${one === 1 ? 'счёт' : one >= 2 && one <= 4 ? 'счёта' : 'счетов'}`;
}

/** Kopecks → "1234.50" (sums are kept in integer kopecks: no float drifts a kopeck over 100,000 rows). */
export function rubles(kopecks: number): string {
  const k = Math.abs(kopecks);
  return `${kopecks < 0 ? '-' : ''}${Math.floor(k / 100)}.${String(k % 100).padStart(2, '0')}`;
}

/** The rows under the data: what the file holds in sum, as the window shows it. */
export const TOTAL_LABELS = { all: 'Итого', paid: 'из них оплачено', filter: 'Отбор' } as const;

/** Counts and sums the rows as they are written, so the totals are those of the file itself. */
class Tally {
  count = 0;
  kopecks = 0;
  paidCount = 0;
  paidKopecks = 0;
  add(r: InvoiceExportRow): void {
    const k = Math.round(Number(r.amount) * 100);
    if (!Number.isFinite(k)) return;
    this.count++;
    this.kopecks += k;
    if (r.state === 'paid') (this.paidCount++, (this.paidKopecks += k));
  }
}

/**
 * `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 /
 * RFC 5987). The fallback keeps the ASCII part of the name (— becomes -) for old clients.
 */
export function contentDisposition(name: string): string {
  const fallback =
    name
      .replace(/[–—]/g, '-')
      .replace(/[^\x20-\x7e]/g, '')
      .replace(/["\\]/g, '_')
      .replace(/\s+/g, ' ')
      .trim() || 'export';
  const encoded = encodeURIComponent(name).replace(/['()*!]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

// ---- wall time ----------------------------------------------------------------------------

/**
 * Converts ms epoch to "wall time as if UTC" in `timeZone`: a Date whose UTC fields are the
 * local fields (what exceljs turns into an Excel serial, and what the CSV formats). Whole
 * seconds; the zone offset is cached per 15 minutes of UTC (every real transition is on such a
 * boundary), so 100,000 rows cost a few thousand Intl calls, not 200,000.
 */
function wallClock(timeZone: string): (ms: number) => Date {
  const dtf = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const offsets = new Map<number, number>();
  const offsetAt = (sec: number): number => {
    const bucket = Math.floor(sec / 900);
    let off = offsets.get(bucket);
    if (off === undefined) {
      const p: Record<string, number> = {};
      for (const part of dtf.formatToParts(bucket * 900_000)) if (part.type !== 'literal') p[part.type] = Number(part.value);
      off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) / 1000 - bucket * 900;
      if (offsets.size > 50_000) offsets.clear();
      offsets.set(bucket, off);
    }
    return off;
  };
  return (ms: number) => {
    const sec = Math.floor(ms / 1000);
    return new Date((sec + offsetAt(sec)) * 1000);
  };
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const fmtDate = (d: Date) => `${pad2(d.getUTCDate())}.${pad2(d.getUTCMonth() + 1)}.${d.getUTCFullYear()}`;
const fmtDateTime = (d: Date) => `${fmtDate(d)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;

/** 'YYYY-MM-DD' → midnight of that calendar day as a zone-less Date; null when malformed. */
function calendarDay(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}

// ---- streaming plumbing -------------------------------------------------------------------

const BATCH = 256;
/** Bytes allowed to wait inside the XLSX pipeline (see xlsxBacklog) before the producer pauses. */
const INNER_LIMIT = 1 << 20;

/** A buffer inside exceljs's pipeline that does not push back by itself (see xlsxBacklog). */
interface Backlog {
  length(): number;
  /** Emits 'drain' when it has emptied. */
  emitter: NodeJS.EventEmitter;
}

async function* rowsOf<T>(rows: Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  yield* rows;
}

/** `out` watched through public stream APIs (watch). */
interface Output {
  /** Resolves once `out` has finished; rejects on its error or early close. */
  done: Promise<void>;
  /** Throws the output's error once it failed. */
  check(): void;
  /** Lets the pipeline run (zlib, archiver, the socket), then waits while `out` or `inner` is full. */
  room(inner?: Backlog | null): Promise<void>;
}

/**
 * Backpressure and failure of `out`: `writableNeedDrain` and 'drain' (events.once), and
 * stream.finished for its error or early close — whose listeners stay, so an error exceljs may
 * still cause after a failure is never unhandled.
 */
function watch(out: Writable): Output {
  // The writing side only: a PassThrough handed to the HTTP reply is done when it has taken the
  // last chunk, not when the client has read it.
  const done = finished(out, { readable: false });
  let failure: unknown = null;
  const failed = new AbortController();
  done.catch((err: unknown) => {
    failure ??= err;
    failed.abort();
  });
  const check = () => {
    if (failure) throw failure;
  };
  return {
    done,
    check,
    async room(inner = null) {
      // A turn of the event loop per batch even when nothing pushes back: other requests get theirs.
      await turn();
      check();
      try {
        for (;;) {
          if (out.writableNeedDrain) await once(out, 'drain', { signal: failed.signal });
          else if (inner && inner.length() > INNER_LIMIT) await once(inner.emitter, 'drain', { signal: failed.signal });
          else break;
        }
      } catch (err) {
        check();
        throw err;
      }
    },
  };
}

/**
 * Writes `rows` to `out` as they come, never holding all of them; every BATCH rows it yields to
 * the event loop and waits while `out` signals backpressure (watch). Resolves when the
 * file is complete and `out` has finished (the writer ends `out`). On failure (iterator error,
 * `out` error or early close) `out` is destroyed with the error — a truncated download must not
 * look complete — the rows' iterator is closed, and it rejects.
 *
 * With better-sqlite3's `.iterate()` the connection is busy until the iteration ends (and it
 * spans awaits): iterate on a connection nothing else uses meanwhile.
 */
export async function writeInvoiceExport(
  rows: Iterable<InvoiceExportRow> | AsyncIterable<InvoiceExportRow>,
  format: ExportFormat,
  out: Writable,
  opts: {
    timeZone?: string;
    /** Rows under the data with the count and sum of all and of paid invoices, and this description of the filter. */
    totals?: { filter: string };
  } = {},
): Promise<void> {
  const wall = wallClock(opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  try {
    if (format === 'xlsx') await writeXlsx(rows, out, watch(out), wall, opts.totals);
    else if (format === 'csv') await writeCsv(rows, out, watch(out), wall, opts.totals);
    else throw new Error(`unknown export format: ${String(format)}`);
  } catch (err) {
    out.destroy(toError(err));
    throw err;
  }
}

// ---- XLSX ---------------------------------------------------------------------------------

const COLUMNS: Array<Partial<Column>> = [
  { key: 'orderId', width: 16, style: { numFmt: '@' } },
  { key: 'clientId', width: 36 },
  { key: 'email', width: 28 },
  { key: 'amount', width: 16, style: { numFmt: MONEY_FMT } },
  { key: 'createdAt', width: 17, style: { numFmt: DATETIME_FMT } },
  { key: 'expiry', width: 13, style: { numFmt: DATE_FMT } },
  { key: 'state', width: 12 },
  { key: 'paidAt', width: 17, style: { numFmt: DATETIME_FMT } },
  { key: 'paymentId', width: 14, style: { numFmt: '@' } },
  { key: 'invoiceId', width: 21, style: { numFmt: '@' } },
];

/**
 * exceljs's streaming writer does not pass backpressure back: a committed row is written (sync)
 * into the sheet's StreamBuf, which hands 64 KB batches to archiver's PassThrough without looking
 * at write()'s result, so when zlib or `out` fall behind, the sheet's whole XML piles up in that
 * PassThrough (measured: 31 MB for 100,000 rows, growing with the row count; 1.2 MB with this
 * probe). Its fill level is the signal we pause on, and neither library makes it public: exceljs
 * exposes no stream or event for it, and archiver's PassThrough is readable-stream 2's, which has
 * no `writableLength`. So this reads the one internal left in the export
 * (WorksheetWriter.stream → StreamBuf.pipes[0]._writableState.length), looked at step by step as
 * unknown (exceljs's types declare none of it): if it changes shape it returns null (or the
 * length reads 0) and the export still works, paced by `out` alone.
 */
function xlsxBacklog(ws: Worksheet): Backlog | null {
  // `stream` is a getter on WorksheetWriter's prototype (it opens the sheet's part), hence `in`.
  const sb = 'stream' in ws ? ws.stream : undefined;
  const pipes = prop(sb, 'pipes');
  const pt: unknown = Array.isArray(pipes) ? pipes[0] : undefined;
  const length = () => prop(prop(pt, '_writableState'), 'length');
  if (!(pt instanceof EventEmitter) || typeof length() !== 'number') return null;
  return {
    length: () => {
      const n = length();
      return typeof n === 'number' ? n : 0;
    },
    emitter: pt,
  };
}

/**
 * A text cell's value. A line break in an Excel cell is LF; a CR would be folded into it by any
 * XML reader anyway (XML end-of-line handling), so CRLF/CR are written as LF. exceljs itself
 * drops the control characters XML 1.0 cannot carry.
 */
function cellText(s: string | null): string | undefined {
  if (s == null) return undefined;
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

async function writeXlsx(
  rows: Iterable<InvoiceExportRow> | AsyncIterable<InvoiceExportRow>,
  out: Writable,
  output: Output,
  wall: (ms: number) => Date,
  totals: { filter: string } | undefined,
): Promise<void> {
  // Loaded here, not at start-up: requiring exceljs takes ~350 ms and ~40 MB.
  const { default: ExcelJS } = await import('exceljs');
  // Inline strings (no shared-strings table, which would keep every string until the end);
  // styles on, for the formats. exceljs pipes its zip into `out` and ends it on commit.
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  wb.creator = 'Sputnik';
  // The streaming writer writes <sheetViews> when the sheet is created: views go in here.
  const ws = wb.addWorksheet(SHEET_NAME, { views: [{ state: 'frozen', xSplit: 0, ySplit: 1, topLeftCell: 'A2', activeCell: 'A2' }] });
  ws.columns = COLUMNS; // no `header`: the header row is added below with its own style

  const header = ws.addRow([...EXPORT_HEADERS]);
  header.eachCell((cell) => (cell.style = { font: { bold: true }, alignment: { vertical: 'middle' } }));
  header.commit();

  let n = 0;
  const tally = new Tally();
  for await (const r of rowsOf(rows)) {
    tally.add(r);
    const amount = Number(r.amount);
    ws.addRow([
      cellText(r.orderId),
      cellText(r.clientId),
      cellText(r.email),
      Number.isFinite(amount) ? amount : r.amount,
      wall(r.createdAt),
      r.expiry ? (calendarDay(r.expiry) ?? r.expiry) : undefined,
      STATE_LABELS[r.state] ?? r.state,
      r.paidAt == null ? undefined : wall(r.paidAt),
      cellText(r.paymentId),
      cellText(r.invoiceId),
    ]).commit();
    if (++n % BATCH === 0) await output.room(xlsxBacklog(ws));
  }
  output.check();
  // Written at commit: the filter spans the header and every data row (not the totals below).
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: n + 1, column: EXPORT_HEADERS.length } };
  if (totals) {
    ws.addRow([]).commit();
    const all = ws.addRow([TOTAL_LABELS.all, invoicesWord(tally.count), undefined, tally.kopecks / 100]);
    // A new style object: a cell starts with its column's, which `cell.font =` would change for every later row.
    all.eachCell((cell) => (cell.style = { ...cell.style, font: { bold: true } }));
    all.commit();
    ws.addRow([TOTAL_LABELS.paid, invoicesWord(tally.paidCount), undefined, tally.paidKopecks / 100]).commit();
    ws.addRow([TOTAL_LABELS.filter, totals.filter]).commit();
  }
  ws.commit();
  await Promise.race([wb.commit(), output.done]);
  await output.done;
}

// ---- CSV ----------------------------------------------------------------------------------

/*
 * CSV for Russian Excel (main/excel-csv.ts: BOM, `;`, CRLF, RFC 4180, every text cell guarded
 * against formulas and number conversion). Amounts "1234,50" (ru decimal comma, no grouping) and
 * dates are written as they are, so Excel takes them as numbers and dates.
 */

function csvRecord(r: InvoiceExportRow, wall: (ms: number) => Date): CsvCell[] {
  const expiry = r.expiry ? calendarDay(r.expiry) : null;
  return [
    r.orderId,
    r.clientId,
    r.email,
    /^-?\d+\.\d+$/.test(r.amount) ? new Formatted(r.amount.replace('.', ',')) : r.amount,
    new Formatted(fmtDateTime(wall(r.createdAt))),
    expiry ? new Formatted(fmtDate(expiry)) : r.expiry,
    STATE_LABELS[r.state] ?? r.state,
    r.paidAt == null ? null : new Formatted(fmtDateTime(wall(r.paidAt))),
    r.paymentId,
    r.invoiceId,
  ];
}

/** A totals line under the data: label under «Заказ», the count under «Клиент», the sum under «Сумма». */
function csvTotal(label: string, text: string, kopecks?: number): CsvCell[] {
  const cells: CsvCell[] = new Array<CsvCell>(EXPORT_HEADERS.length).fill(null);
  cells[0] = label;
  cells[1] = text;
  if (kopecks !== undefined) cells[3] = new Formatted(rubles(kopecks).replace('.', ','));
  return cells;
}

async function writeCsv(
  rows: Iterable<InvoiceExportRow> | AsyncIterable<InvoiceExportRow>,
  out: Writable,
  output: Output,
  wall: (ms: number) => Date,
  totals: { filter: string } | undefined,
): Promise<void> {
  let batch: CsvCell[][] = [[...EXPORT_HEADERS]];
  let first = true;
  const text = () => {
    const chunk = excelCsv(batch, { bom: first });
    first = false;
    batch = [];
    return chunk;
  };
  let n = 0;
  const tally = new Tally();
  for await (const r of rowsOf(rows)) {
    tally.add(r);
    batch.push(csvRecord(r, wall));
    if (++n % BATCH === 0) {
      out.write(text());
      await output.room();
    }
  }
  output.check();
  if (totals) {
    batch.push([]);
    batch.push(csvTotal(TOTAL_LABELS.all, invoicesWord(tally.count), tally.kopecks));
    batch.push(csvTotal(TOTAL_LABELS.paid, invoicesWord(tally.paidCount), tally.paidKopecks));
    batch.push(csvTotal(TOTAL_LABELS.filter, totals.filter));
  }
  out.end(text());
  await output.done;
}
