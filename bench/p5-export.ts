import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeInvoiceExport, type InvoiceExportRow } from '../main/connectors/paykeeper/export.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * P5: the accountant's export of 100,000 PayKeeper invoices, read from a real SQLite table with
 * better-sqlite3 `.iterate()` and written to a file as XLSX (exceljs streaming writer) and CSV.
 * Each export runs in its own child process (`node bench/p5-export.ts --child …`) so its peak
 * RSS (`process.resourceUsage().maxRSS`) is its own. Baseline, same rows, same way: each row as
 * one JSON line into a file, with the same backpressure handling — node + SQLite + fs, no format.
 * Time is from preparing the statement to the file's 'finish'. Targets: XLSX ≤ 10 s, ≤ 300 MB.
 */
const ROWS = 100_000;
const RUNS = 3;
const TZ = 'Europe/Moscow';
const TARGET_MS = 10_000;
const TARGET_RSS_MB = 300;
const VARIANTS = ['jsonl', 'csv', 'xlsx'] as const;
type Variant = (typeof VARIANTS)[number];

interface ChildResult {
  ms: number;
  maxRssMb: number;
  rows: number;
}

// ---- the child: `node bench/p5-export.ts --child <variant> <db> <out>` ----
if (process.argv[1] === import.meta.filename && process.argv[2] === '--child') {
  const [variant, dbPath, outPath] = process.argv.slice(3) as [Variant, string, string];
  const db = new Database(dbPath, { readonly: true });
  const t0 = performance.now();
  const stmt = db.prepare('SELECT orderId, clientId, email, amount, createdAt, expiry, state, paidAt, paymentId, invoiceId FROM invoices ORDER BY createdAt');
  const rows = stmt.iterate() as IterableIterator<InvoiceExportRow>;
  const out = createWriteStream(outPath);
  let n = 0;
  const counted = (function* () {
    for (const r of rows) {
      n++;
      yield r;
    }
  })();
  if (variant === 'jsonl') {
    for (const r of counted) {
      if (!out.write(JSON.stringify(r) + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
    }
    await new Promise<void>((r) => out.end(r));
  } else {
    await writeInvoiceExport(counted, variant, out, { timeZone: TZ });
  }
  const ms = performance.now() - t0;
  db.close();
  const result: ChildResult = { ms, maxRssMb: process.resourceUsage().maxRSS / 1024, rows: n };
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

const FIRST = ['Иван', 'Пётр', 'Анна', 'Мария', 'Сергей', 'Ольга', 'Дмитрий', 'Елена', 'Алексей', 'Наталья'];
const LAST = ['Иванов', 'Петров', 'Сидоров', 'Кузнецов', 'Смирнов', 'Попов', 'Васильев', 'Соколов', 'Михайлов', 'Новиков'];
const STATES = ['queued', 'created', 'sent', 'paid', 'paid', 'paid', 'expired', 'revoked', 'failed'] as const;

function makeDb(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE invoices (
    orderId TEXT PRIMARY KEY, clientId TEXT, email TEXT, amount TEXT NOT NULL, createdAt INTEGER NOT NULL,
    expiry TEXT, state TEXT NOT NULL, paidAt INTEGER, paymentId TEXT, invoiceId TEXT)`);
  db.exec('CREATE INDEX invoices_created ON invoices (createdAt)');
  const ins = db.prepare('INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const start = Date.UTC(2026, 10, 1, 5, 0, 0);
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const state = STATES[i % STATES.length];
      const createdAt = start + i * 25_000 + (i % 997);
      const client = i % 50 === 0 ? null : i % 7 === 0 ? `ООО «${LAST[i % 10]} и партнёры»; филиал №${i % 13}` : `${LAST[(i * 7) % 10]} ${FIRST[i % 10]}`;
      const expiry = new Date(createdAt + 3 * 86_400_000).toISOString().slice(0, 10);
      ins.run(
        `ЗК-${String(i).padStart(7, '0')}`,
        client,
        i % 11 === 0 ? null : `client${i}@example.ru`,
        `${(i * 7919) % 250_000}.${String(i % 100).padStart(2, '0')}`,
        createdAt,
        i % 20 === 0 ? null : expiry,
        state,
        state === 'paid' ? createdAt + 600_000 + (i % 3600) * 1000 : null,
        state === 'paid' ? String(9_000_000 + i) : null,
        state === 'queued' ? null : String(20261101000000000n + BigInt(i)),
      );
    }
  })();
  db.close();
}

function runChild(variant: Variant, dbPath: string, outPath: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, '--child', variant, dbPath, outPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`p5 child ${variant} exited with ${code}:\n${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
      } catch {
        reject(new Error(`p5 child ${variant}: no result:\n${out}\n${err}`));
      }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchP5(): Promise<BenchResult> {
  return withTempDir(async (dir) => {
    const dbPath = join(dir, 'invoices.db');
    makeDb(dbPath);
    const runs: Record<Variant, ChildResult[]> = { jsonl: [], csv: [], xlsx: [] };
    const size: Record<Variant, number> = { jsonl: 0, csv: 0, xlsx: 0 };
    for (let i = 0; i < RUNS; i++) {
      for (const v of VARIANTS) {
        const file = join(dir, `export.${v}`);
        const r = await runChild(v, dbPath, file);
        if (r.rows !== ROWS) throw new Error(`p5 ${v}: exported ${r.rows} rows, expected ${ROWS}`);
        runs[v].push(r);
        size[v] = statSync(file).size;
      }
    }
    // sanity: the CSV has the header and one CRLF-terminated line per row (no names with newlines here)
    const csvLines = readFileSync(join(dir, 'export.csv'), 'utf8').split('\r\n').length - 1;
    if (csvLines !== ROWS + 1) throw new Error(`p5 csv: ${csvLines} lines, expected ${ROWS + 1}`);

    const stat = (v: Variant) => ({ ms: median(runs[v].map((r) => r.ms)), maxMs: Math.max(...runs[v].map((r) => r.ms)), rss: Math.max(...runs[v].map((r) => r.maxRssMb)) });
    const base = stat('jsonl');
    const label: Record<Variant, string> = {
      jsonl: 'JSON lines to a file (baseline)',
      csv: 'CSV (BOM, ;, CRLF) writeInvoiceExport',
      xlsx: 'XLSX exceljs stream writer',
    };
    const rows = VARIANTS.map((v) => {
      const s = stat(v);
      return {
        export: label[v],
        'median ms': fmt(s.ms),
        'max ms': fmt(s.maxMs),
        'rows/s': fmt((ROWS / s.ms) * 1000),
        'peak RSS MB': fmt(s.rss),
        'file MB': fmt(size[v] / 1048576, 1),
        'time ratio': fmt(s.ms / base.ms, 1),
        runs: runs[v].map((r) => fmt(r.ms)).join(' '),
      };
    });
    const x = stat('xlsx');
    const c = stat('csv');
    const verdict = x.maxMs <= TARGET_MS && x.rss <= TARGET_RSS_MB ? 'MET' : 'MISSED';
    return {
      id: 'p5',
      title: `P5 export: ${fmt(ROWS)} invoices from SQLite .iterate() to a file, each export in its own process, ${RUNS} runs`,
      rows,
      notes: ['peak RSS = the child process\'s maxRSS (max over runs); node + better-sqlite3 alone is the baseline row'],
      summary: `P5 XLSX ${fmt(ROWS)} rows median ${fmt(x.ms)} ms, max ${fmt(x.maxMs)} ms (target ≤ ${fmt(TARGET_MS)}), peak RSS ${fmt(x.rss)} MB (target ≤ ${TARGET_RSS_MB}) ${verdict}; ${fmt(x.ms / base.ms, 1)}× JSON lines; CSV ${fmt(c.ms)} ms, ${fmt(c.rss)} MB`,
    };
  });
}
