import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { journalCsv } from '../../main/admin/journal-csv.ts';
import { writeInvoiceExport, type InvoiceExportRow } from '../../main/connectors/paykeeper/export.ts';
import type { JournalEvent } from '../../main/journal/index.ts';

/**
 * Both CSV exports (the PayKeeper invoices and the journal) neutralise text that Excel would run
 * as a formula, in every cell that can carry text: it is written as the Excel text literal
 * ="…", which Excel shows verbatim.
 */
const HOSTILE = ['=HYPERLINK("http://evil.example","клик")', '+1', '-1', '@x', '\tx', '\rx=1'];

/** RFC 4180 with `;` and CRLF; throws on anything malformed. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
        else if (text[i] === '"') break;
        else field += text[i++];
      }
      i++;
    } else {
      while (i < text.length && text[i] !== ';' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ';') i++;
    else if (text.startsWith('\r\n', i)) (rows.push(row), (row = []), (i += 2));
    else throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (row.length) throw new Error('last record not terminated by CRLF');
  return rows;
}

const literal = (s: string) => `="${s.replace(/"/g, '""')}"`;

/** Every cell: never starts with a formula character unless it is the literal of a hostile value. */
function expectNeutralised(table: string[][], where: string): number {
  let literals = 0;
  for (const [r, row] of table.entries()) {
    for (const [c, cell] of row.entries()) {
      if (!/^[=+\-@\t\r]/.test(cell)) continue;
      expect(HOSTILE.map(literal), `${where} row ${r} column ${c}: ${JSON.stringify(cell)}`).toContain(cell);
      literals++;
    }
  }
  return literals;
}

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
}

describe('CSV exports neutralise formulas', () => {
  it('PayKeeper invoices: every text cell, the totals filter included', async () => {
    const rows: InvoiceExportRow[] = HOSTILE.map((v, i) => ({
      orderId: v,
      clientId: v,
      email: v,
      amount: v,
      createdAt: Date.UTC(2026, 10, 1, 6, 0, 0) + i * 60_000,
      expiry: v,
      state: v as InvoiceExportRow['state'],
      paidAt: null,
      paymentId: v,
      invoiceId: v,
    }));
    const out = new Collect();
    await writeInvoiceExport(rows, 'csv', out, { timeZone: 'Europe/Moscow', totals: { filter: '=HYPERLINK("http://evil.example","клик")' } });
    const table = parseCsv(Buffer.concat(out.chunks).toString('utf8').replace(/^\uFEFF/, ''));
    for (const [i, v] of HOSTILE.entries()) {
      expect([0, 1, 2, 3, 5, 6, 8, 9].map((c) => table[1 + i][c])).toEqual(new Array(8).fill(literal(v)));
    }
    expect(table.at(-1)![1]).toBe(literal(HOSTILE[0]));
    expect(expectNeutralised(table, 'invoices')).toBe(HOSTILE.length * 8 + 1);
  });

  it('the journal: every text cell, the system name included', () => {
    const events: JournalEvent[] = HOSTILE.map((v, i) => ({
      id: i + 1,
      at: '2026-12-06T21:30:05.000Z',
      endedAt: null,
      direction: 'out',
      system: v,
      entity: v,
      title: v,
      outcome: 'failed',
      summary: v,
      error: v,
      retry: false,
      counts: null,
      exchanges: 1,
      durationMs: 35,
      method: null,
      url: null,
      status: 200,
    }));
    const table = parseCsv(journalCsv(() => events, 'Europe/Moscow').replace(/^\uFEFF/, ''));
    for (const [i, v] of HOSTILE.entries()) {
      expect([3, 4, 6, 7, 8].map((c) => table[1 + i][c])).toEqual(new Array(5).fill(literal(v)));
    }
    expect(expectNeutralised(table, 'journal')).toBe(HOSTILE.length * 5);
  });
});
