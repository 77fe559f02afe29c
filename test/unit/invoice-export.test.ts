import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import {
  contentDisposition,
  DATE_FMT,
  DATETIME_FMT,
  EXPORT_CONTENT_TYPE,
  EXPORT_HEADERS,
  exportFileName,
  MONEY_FMT,
  STATE_LABELS,
  writeInvoiceExport,
  type ExportFormat,
  type InvoiceExportRow,
} from '../../main/connectors/paykeeper/export.ts';

// ---- fixtures -----------------------------------------------------------------------------

const STATES = ['queued', 'created', 'sent', 'paid', 'expired', 'revoked', 'failed'] as const;
const LONG_FORMULA_NAME = '=' + 'Щ'.repeat(300) + '"&"' + 'хвост';
const NAMES: Array<string | null> = [
  'Иванов Иван Иванович',
  'ООО «Ромашка»; филиал №2',
  'ИП "Пётр" Сидоров',
  'Строка 1\nСтрока 2',
  'Windows\r\nперевод строки',
  '=HYPERLINK("http://evil.example","клик")',
  '+7 987 654-32-10',
  '-Минусов',
  '@упоминание',
  '1234,50',
  '01.02.2026',
  null,
  'Ёлкин; "Ёж"\r\n; ещё',
  LONG_FORMULA_NAME,
  'Smith & Sons',
];
const AMOUNTS = ['0.10', '1234567.89', '0.00', '1.05', '999999999.99', '10.00'];
const pad = (n: number) => String(n).padStart(2, '0');
const isoDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};

function fixtureRow(i: number): InvoiceExportRow {
  const state = STATES[i % STATES.length];
  const createdAt = Date.UTC(2026, 10, 1, 6, 0, 7) + i * (13 * 3600 + 7 * 60 + 11) * 1000;
  return {
    orderId: i % 4 === 0 ? `000${i}` : i % 4 === 1 ? `ЗК-${i}` : String(20000 + i),
    clientId: NAMES[i % NAMES.length],
    email: i % 6 === 5 ? null : `client${i}@пример.рф`,
    amount: i < AMOUNTS.length ? AMOUNTS[i] : `${i * 37}.${pad((i * 13) % 100)}`,
    createdAt,
    expiry: i % 5 === 4 ? null : isoDay(createdAt + 3 * 86_400_000),
    state,
    paidAt: state === 'paid' ? createdAt + 3_723_000 : null,
    paymentId: state === 'paid' ? String(700_000 + i) : null,
    invoiceId: state === 'queued' ? null : String(20261101000000000n + BigInt(i) * 1_000_003n),
  };
}
const ROWS = Array.from({ length: 50 }, (_, i) => fixtureRow(i));

// Europe/Moscow is UTC+3 all year (no DST since 2014): the expected wall time is computed
// independently of the Intl machinery the writer uses.
const TZ = 'Europe/Moscow';
const moscow = (ms: number) => new Date(Math.floor(ms / 1000) * 1000 + 3 * 3_600_000);
const ddmmyyyy = (d: Date) => `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()}`;
const ddmmyyyyhhmm = (d: Date) => `${ddmmyyyy(d)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function exportToBuffer(rows: Iterable<InvoiceExportRow> | AsyncIterable<InvoiceExportRow>, format: ExportFormat, timeZone = TZ): Promise<Buffer> {
  const out = new Collect();
  await writeInvoiceExport(rows, format, out, { timeZone });
  expect(out.writableFinished).toBe(true);
  return out.buffer;
}

async function loadSheet(buf: Buffer): Promise<ExcelJS.Worksheet> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const ws = wb.getWorksheet('Счета');
  expect(ws).toBeDefined();
  return ws!;
}

// ---- CSV reading: strict RFC 4180 (`;`, CRLF) and Excel's ="…" text literals -----------------

function parseCsv(text: string, sep = ';'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"' && field === '') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== sep && text.slice(i, i + 2) !== '\r\n') throw new Error(`text after a closing quote at ${i}`);
      continue;
    }
    if (text[i] === sep) {
      row.push(field);
      field = '';
      i++;
    } else if (text.slice(i, i + 2) === '\r\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (text[i] === '"' || text[i] === '\r' || text[i] === '\n') {
      throw new Error(`bare ${JSON.stringify(text[i])} in an unquoted field at ${i}`);
    } else {
      field += text[i++];
    }
  }
  if (field !== '' || row.length) throw new Error('last record not terminated by CRLF');
  return rows;
}

/** `="abc"` / `="a""b"&"cd"` → the text Excel shows; anything else as is. */
function excelText(f: string): string {
  if (!f.startsWith('="')) return f;
  let i = 1;
  let out = '';
  for (;;) {
    if (f[i] !== '"') throw new Error(`not a text literal: ${f}`);
    i++;
    for (;;) {
      if (i >= f.length) throw new Error(`unterminated literal: ${f}`);
      if (f[i] === '"') {
        if (f[i + 1] === '"') {
          out += '"';
          i += 2;
          continue;
        }
        i++;
        break;
      }
      out += f[i++];
    }
    if (i === f.length) return out;
    if (f[i] !== '&') throw new Error(`not a text literal: ${f}`);
    i++;
  }
}

// ---- tests --------------------------------------------------------------------------------

describe('PayKeeper invoice export: XLSX', () => {
  it('has the Russian header, frozen and filtered, and typed cells holding the stored data', async () => {
    const ws = await loadSheet(await exportToBuffer(ROWS, 'xlsx'));

    expect(ws.rowCount).toBe(ROWS.length + 1);
    const header = ws.getRow(1);
    expect(EXPORT_HEADERS.map((_, c) => header.getCell(c + 1).value)).toEqual([
      'Заказ', 'Клиент', 'E-mail', 'Сумма', 'Создан', 'Оплатить до', 'Состояние', 'Оплачен', 'Платёж', 'Счёт PayKeeper',
    ]);
    for (let c = 1; c <= 10; c++) expect(header.getCell(c).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe(`A1:J${ROWS.length + 1}`);
    for (const col of ws.columns) expect(col.width).toBeGreaterThanOrEqual(10);

    ROWS.forEach((r, i) => {
      const row = ws.getRow(i + 2);
      const cell = (c: number) => row.getCell(c);
      const text = (c: number, v: string | null) => {
        if (v === null) return expect(cell(c).value, `${cell(c).address}`).toBeNull();
        expect(cell(c).type, `${cell(c).address}`).toBe(ExcelJS.ValueType.String);
        expect(cell(c).value, `${cell(c).address}`).toBe(v);
      };
      const date = (c: number, v: Date | null, fmt: string) => {
        if (v === null) return expect(cell(c).value, `${cell(c).address}`).toBeNull();
        expect(cell(c).value, `${cell(c).address}`).toBeInstanceOf(Date);
        expect((cell(c).value as Date).toISOString(), `${cell(c).address}`).toBe(v.toISOString());
        expect(cell(c).numFmt).toBe(fmt);
      };
      text(1, r.orderId);
      text(2, r.clientId?.replace(/\r\n?/g, '\n') ?? null); // Excel's in-cell line break is LF
      text(3, r.email);
      expect(cell(4).type).toBe(ExcelJS.ValueType.Number);
      expect(cell(4).value).toBe(Number(r.amount));
      expect(cell(4).numFmt).toBe(MONEY_FMT);
      date(5, moscow(r.createdAt), DATETIME_FMT);
      date(6, r.expiry ? new Date(`${r.expiry}T00:00:00Z`) : null, DATE_FMT);
      text(7, STATE_LABELS[r.state]);
      date(8, r.paidAt === null ? null : moscow(r.paidAt), DATETIME_FMT);
      text(9, r.paymentId);
      text(10, r.invoiceId);
      if (r.invoiceId) expect(r.invoiceId).toMatch(/^\d{17}$/);
    });
    expect(MONEY_FMT).toContain('#,##0.00');
    expect(new Set(ROWS.map((r) => r.state)).size).toBe(7);
  });

  it('writes the wall time of the given zone across a DST change', async () => {
    // EU summer time 2026 starts 29 March 01:00 UTC: Berlin 01:30 CET, then 03:30 CEST.
    const base = fixtureRow(3);
    const rows = [Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 2, 29, 1, 30)].map((createdAt) => ({ ...base, createdAt, paidAt: null }));
    const ws = await loadSheet(await exportToBuffer(rows, 'xlsx', 'Europe/Berlin'));
    expect((ws.getCell('E2').value as Date).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect((ws.getCell('E3').value as Date).toISOString()).toBe('2026-03-29T03:30:00.000Z');
    const csv = parseCsv((await exportToBuffer(rows, 'csv', 'Europe/Berlin')).toString('utf8').slice(1));
    expect([csv[1][4], csv[2][4]]).toEqual(['29.03.2026 01:30', '29.03.2026 03:30']);
  });
});

describe('PayKeeper invoice export: CSV for Russian Excel', () => {
  it('is UTF-8 with BOM, `;`, CRLF, RFC 4180, and reads back to the stored data (rows from SQLite .iterate())', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE inv (orderId TEXT, clientId TEXT, email TEXT, amount TEXT, createdAt INTEGER, expiry TEXT, state TEXT, paidAt INTEGER, paymentId TEXT, invoiceId TEXT)`);
    const ins = db.prepare(`INSERT INTO inv VALUES (@orderId, @clientId, @email, @amount, @createdAt, @expiry, @state, @paidAt, @paymentId, @invoiceId)`);
    for (const r of ROWS) ins.run(r);
    const buf = await exportToBuffer(db.prepare('SELECT * FROM inv ORDER BY rowid').iterate() as Iterable<InvoiceExportRow>, 'csv');
    db.close();

    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = buf.toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    // 17-digit ids as Excel text literals, so they never become 2,02611E+16.
    expect(text).toContain(`;"=""${ROWS[1].invoiceId}"""\r\n`);

    const table = parseCsv(text.slice(1));
    expect(table[0]).toEqual([...EXPORT_HEADERS]);
    const back = table.slice(1).map((f) => f.map(excelText));
    const expected = ROWS.map((r) => [
      r.orderId,
      r.clientId ?? '',
      r.email ?? '',
      r.amount.replace('.', ','),
      ddmmyyyyhhmm(moscow(r.createdAt)),
      r.expiry ? r.expiry.split('-').reverse().join('.') : '',
      STATE_LABELS[r.state],
      r.paidAt === null ? '' : ddmmyyyyhhmm(moscow(r.paidAt)),
      r.paymentId ?? '',
      r.invoiceId ?? '',
    ]);
    expect(back).toEqual(expected);
    // and the amounts are exactly the stored decimals
    expect(back.map((f) => f[3].replace(',', '.'))).toEqual(ROWS.map((r) => r.amount));
  });

  it('never lets Excel run or reinterpret text: formulas, numbers, leading zeros', async () => {
    const table = parseCsv((await exportToBuffer(ROWS.slice(0, NAMES.length), 'csv')).toString('utf8').slice(1));
    const raw = (name: string | null) => table[1 + NAMES.indexOf(name)][1];
    expect(raw('=HYPERLINK("http://evil.example","клик")')).toBe('="=HYPERLINK(""http://evil.example"",""клик"")"');
    expect(raw('+7 987 654-32-10')).toBe('="+7 987 654-32-10"');
    expect(raw('1234,50')).toBe('="1234,50"');
    expect(raw('Иванов Иван Иванович')).toBe('Иванов Иван Иванович');
    // Excel caps a text literal at 255 characters: longer ones are joined with &.
    const long = raw(LONG_FORMULA_NAME);
    expect(long.split('"&"').length).toBeGreaterThan(1);
    expect(excelText(long)).toBe(LONG_FORMULA_NAME);
    expect(table[1][0]).toBe('="0000"'); // order "0000" keeps its zeros
  });
});

describe('PayKeeper invoice export: names and headers', () => {
  it('builds the file name and an RFC 5987 Content-Disposition', () => {
    const name = exportFileName('2026-11-01', '2026-11-30', 'xlsx');
    expect(name).toBe('Счета PayKeeper 2026-11-01 — 2026-11-30.xlsx');
    const cd = contentDisposition(name);
    expect(cd).toBe(`attachment; filename="PayKeeper 2026-11-01 - 2026-11-30.xlsx"; filename*=UTF-8''${encodeURIComponent(name)}`);
    const star = /filename\*=UTF-8''(.+)$/.exec(cd)![1];
    expect(star).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/); // attr-chars and %XX only
    expect(decodeURIComponent(star)).toBe(name);
    expect(contentDisposition(`Отчёт (итог)'s "x".csv`)).toBe(`attachment; filename="()'s _x_.csv"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%28%D0%B8%D1%82%D0%BE%D0%B3%29%27s%20%22x%22.csv`);
    expect(exportFileName('2026/11/01', '2026-11-30', 'csv')).toBe('Счета PayKeeper 2026_11_01 — 2026-11-30.csv');
    expect(EXPORT_CONTENT_TYPE.xlsx).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(EXPORT_CONTENT_TYPE.csv).toBe('text/csv; charset=utf-8');
  });
});

// ---- streaming and backpressure -----------------------------------------------------------

const MANY = 20_000;

async function* generated(n: number, progress: { pulled: number; done: boolean; closed: boolean }): AsyncGenerator<InvoiceExportRow> {
  try {
    for (let i = 0; i < n; i++) {
      progress.pulled = i + 1;
      yield fixtureRow(i % 50);
    }
    progress.done = true;
  } finally {
    progress.closed = true;
  }
}

/** A writable that accepts nothing until open() (its _write callbacks are held). */
class Gate extends Writable {
  chunks: Buffer[] = [];
  held: Array<() => void> = [];
  isOpen = false;
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.isOpen) cb();
    else this.held.push(() => cb());
  }
  open(): void {
    this.isOpen = true;
    for (const cb of this.held.splice(0)) cb();
  }
}

async function quiet(progress: { pulled: number }): Promise<void> {
  // wait until the producer has stopped pulling rows for 150 ms
  let last = -1;
  while (progress.pulled !== last) {
    last = progress.pulled;
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe.each(['xlsx', 'csv'] as const)('PayKeeper invoice export streams (%s)', (format) => {
  it('sends data while rows are still coming', async () => {
    const progress = { pulled: 0, done: false, closed: false };
    let bytesBeforeDone = 0;
    const out = new Collect();
    const orig = out._write.bind(out);
    out._write = (chunk, enc, cb) => {
      if (!progress.done) bytesBeforeDone += chunk.length;
      orig(chunk, enc, cb);
    };
    await writeInvoiceExport(generated(MANY, progress), format, out, { timeZone: TZ });
    const total = out.buffer.length;
    expect(progress.done).toBe(true);
    // most of the file was out before the last row was read, not written at the end
    expect(bytesBeforeDone / total).toBeGreaterThan(0.5);
    if (format === 'xlsx') expect((await loadSheet(out.buffer)).rowCount).toBe(MANY + 1);
    else expect(parseCsv(out.buffer.toString('utf8').slice(1)).length).toBe(MANY + 1);
  });

  it('stops reading rows while the output is full, and resumes when it drains', async () => {
    const progress = { pulled: 0, done: false, closed: false };
    const out = new Gate();
    const done = writeInvoiceExport(generated(MANY, progress), format, out, { timeZone: TZ });
    await quiet(progress);
    // stalled well before the end, with a bounded amount handed to the stream
    expect(progress.done).toBe(false);
    expect(progress.pulled).toBeLessThan(MANY / 4);
    const stalledAt = progress.pulled;
    expect(out.writableLength).toBeLessThan(256 * 1024);
    await new Promise((r) => setTimeout(r, 100));
    expect(progress.pulled).toBe(stalledAt);

    out.open();
    await done;
    expect(progress.done).toBe(true);
    const buf = Buffer.concat(out.chunks);
    if (format === 'xlsx') {
      const ws = await loadSheet(buf);
      expect(ws.rowCount).toBe(MANY + 1);
      expect(ws.getCell(`J${MANY + 1}`).value).toBe(fixtureRow((MANY - 1) % 50).invoiceId);
    } else {
      expect(parseCsv(buf.toString('utf8').slice(1)).length).toBe(MANY + 1);
    }
  });

  it('rejects, stops reading and destroys the output when the output fails', async () => {
    const progress = { pulled: 0, done: false, closed: false };
    let bytes = 0;
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        setImmediate(() => cb(bytes > 64 * 1024 ? new Error('disk full') : null));
      },
    });
    await expect(writeInvoiceExport(generated(MANY, progress), format, out, { timeZone: TZ })).rejects.toThrow('disk full');
    expect(progress.done).toBe(false);
    expect(progress.closed).toBe(true);
    expect(out.destroyed).toBe(true);
  });

  it('rejects and stops reading when the output is closed early (the download was cancelled)', async () => {
    const progress = { pulled: 0, done: false, closed: false };
    const out = new Collect();
    const orig = out._write.bind(out);
    out._write = (chunk, enc, cb) => {
      orig(chunk, enc, cb);
      if (out.buffer.length > 64 * 1024) out.destroy();
    };
    await expect(writeInvoiceExport(generated(MANY, progress), format, out, { timeZone: TZ })).rejects.toThrow();
    expect(progress.done).toBe(false);
    expect(progress.closed).toBe(true);
  });

  it('destroys the output with the error when reading rows fails', async () => {
    async function* failing(): AsyncGenerator<InvoiceExportRow> {
      for (let i = 0; i < 3 * 256; i++) yield fixtureRow(i % 50);
      throw new Error('database is locked');
    }
    const out = new Collect();
    out.on('error', () => {}); // emitted on destroy; the assertion reads out.errored
    await expect(writeInvoiceExport(failing(), format, out, { timeZone: TZ })).rejects.toThrow('database is locked');
    expect(out.destroyed).toBe(true);
    expect(out.writableFinished).toBe(false);
    expect(out.errored?.message).toBe('database is locked');
  });
});
