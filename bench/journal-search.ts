import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, type ExchangeInput } from '../main/journal/index.ts';
import { prng, int, pick, digits } from '../main/sandbox/random.ts';
import { DB_FILE } from '../main/store/db.ts';
import { openStore } from '../main/store/index.ts';
import { SEARCH_TEXT } from '../main/store/search-text.ts';
import { fmt, quantile, withTempDir, type BenchResult } from './common.ts';

/**
 * Journal search over 100,000 rows (target: under 100 ms). The rows are a day of a busy shop:
 * 1C's card saves and invoices, Passteam and PayKeeper calls (form bodies, names percent-encoded),
 * Docpart pages (PHP's \u escapes, up to 16 KB). Each search is `Journal.events({ q })`, the window's
 * page of 50 events (here each exchange is an event of its own: the most events per row), timed RUNS times: a person's name in lower case, an order number, a miss, and a
 * 2-letter query (no trigram: a scan). Baselines in the same run, same rows: a lookup by id (the
 * primary key) and the search as it was (LIKE over the raw columns: ASCII-only case folding, so
 * the lower-case name finds nothing and every such search scans everything).
 */
const ROWS = 100_000;
const UNINDEXED = 5_000;
const RUNS = 25;
const TARGET_MS = 100;

const SURNAMES = ['Иванова', 'Петров', 'Сидорова', 'Кузнецов', 'Смирнова', 'Попов', 'Васильева', 'Соколов', 'Фёдорова', 'Новиков', 'Семёнов', 'Морозова', 'Волков', 'Лебедева', 'Ёлкина', 'Козлов'];
const NAMES = ['Мария', 'Пётр', 'Анна', 'Игорь', 'Ольга', 'Сергей', 'Алёна', 'Дмитрий', 'Наталья', 'Алексей'];
const PARTS = ['Фильтр масляный', 'Колодки тормозные передние', 'Свеча зажигания', 'Ремень ГРМ', 'Амортизатор задний'];

const phpJson = (v: unknown) => JSON.stringify(v).replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));

function exchanges(n: number, seed: number): ExchangeInput[] {
  const r = prng(seed);
  const person = () => `${pick(r, SURNAMES)} ${pick(r, NAMES)}`;
  const out: ExchangeInput[] = [];
  for (let i = 1; i <= n; i++) {
    const k = r();
    const base = { status: 200, durationMs: int(r, 1, 300) };
    if (k < 0.35) {
      const code = String(100000 + int(r, 0, 49_999));
      out.push({ ...base, direction: 'in', system: '1c', method: 'PUT', url: `/v1/cards/${code}?wait=5`, entity: `card:${code}`, requestBody: JSON.stringify({ holder: { name: person(), phone: `+7916${digits(r, 7)}`, email: `u${int(r, 1, 99999)}@example.ru` }, bonus: int(r, 0, 5000) }), responseBody: JSON.stringify({ code, state: 'queued', cardId: null }) });
    } else if (k < 0.6) {
      const failed = r() < 0.05;
      out.push({ ...base, direction: 'out', system: 'passteam', method: 'POST', url: 'https://getpass.passteam.ru/oapi/v1/updatecard', status: failed ? 409 : 200, error: failed ? 'Passteam: дубль карты по телефону' : null, requestBody: `templateId=tpl&cardId=${digits(r, 9)}&values%5B%25CLIENT_NAME%25%5D=${encodeURIComponent(person())}&values%5B%25BONUS%25%5D=${int(r, 0, 5000)}`, responseBody: `{"code":200,"result":{"cardId":"${digits(r, 9)}"}}` });
    } else if (k < 0.85) {
      const order = `ЗК-${String(i).padStart(6, '0')}`;
      const client = r() < 0.6 ? `ООО Ромашка ${int(r, 1, 100)}` : person();
      out.push({ ...base, direction: 'in', system: '1c', method: 'POST', url: `/v1/invoices/${encodeURIComponent(order)}?wait=10`, entity: `invoice:${order}`, requestBody: JSON.stringify({ orderId: order, amount: '1234.50', email: 'buh@romashka.ru', clientId: client, serviceName: `Оплата заказа ${order}` }), responseBody: JSON.stringify({ orderId: order, state: 'sent' }) });
    } else {
      const lines = r() < 0.7 ? 8 : 60;
      const items = Array.from({ length: lines }, () => ({ product_name: `${pick(r, PARTS)} ${int(r, 1, 999)}`, brand: 'MANN', article: `W${digits(r, 5)}`, price: '450.00', buyer: person() }));
      out.push({ ...base, direction: 'out', system: 'docpart', method: 'POST', url: 'https://shop.example.ru/api/agent_1c/execute.php', requestBody: 'task=get_orders&time_from=23.11.2026', responseBody: phpJson({ status: true, data: items }), responseLimitBytes: 16_384 });
    }
  }
  return out;
}

const time = (fn: () => unknown) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

export async function benchJournalSearch(): Promise<BenchResult> {
  return withTempDir(async (dir) => {
    const store = openStore(dir);
    const journal = new Journal(store, { retentionDays: 3650, maxMegabytes: 100_000, bodyLimitBytes: 16_384 });
    const rows = exchanges(ROWS + UNINDEXED, 42);
    const notes: string[] = [];

    const textMs = time(() => {
      for (const e of rows.slice(0, ROWS)) SEARCH_TEXT.journal({ url: e.url, entity: e.entity ?? null, req_body: e.requestBody ?? null, res_body: e.responseBody ?? null, error: e.error ?? null });
    });
    const writeMs = time(() => {
      for (let i = 0; i < ROWS; i++) {
        journal.record(rows[i]);
        if (i % 200 === 199) journal.flush();
      }
      journal.flush();
    });
    const indexMs = time(() => {
      while (journal.index.step(50) > 0);
    });
    const db = store.db;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bodies = db.prepare(`SELECT SUM(LENGTH(CAST(COALESCE(req_body, '') AS BLOB)) + LENGTH(CAST(COALESCE(res_body, '') AS BLOB))) FROM journal`).pluck().get() as number;
    const searchText = db.prepare(`SELECT SUM(LENGTH(CAST(c0 AS BLOB))) FROM journal_fts_content`).pluck().get() as number;
    const indexBytes = db.prepare(`SELECT SUM(LENGTH(block)) FROM journal_fts_data`).pluck().get() as number;
    const MB = 1024 * 1024;
    notes.push(
      `${fmt(ROWS)} rows: bodies ${fmt(bodies / MB)} MB; the index keeps their search text, ${fmt(searchText / MB)} MB, and its trigrams, ${fmt(indexBytes / MB)} MB; file ${fmt(statSync(join(dir, DB_FILE)).size / MB)} MB`,
      `writing a row: ${fmt((writeMs * 1000) / ROWS, 1)} µs, no search work; indexing it in the background: ${fmt((indexMs * 1000) / ROWS, 1)} µs (${fmt(indexMs / 1000, 1)} s for all, of which its search text ${fmt((textMs * 1000) / ROWS, 1)} µs)`,
    );

    const old = db.prepare(`SELECT id FROM journal WHERE (url LIKE @q ESCAPE '\\' OR entity LIKE @q ESCAPE '\\' OR req_body LIKE @q ESCAPE '\\' OR res_body LIKE @q ESCAPE '\\' OR error LIKE @q ESCAPE '\\') ORDER BY id DESC LIMIT 51`);
    const measure = (label: string, fn: () => number) => {
      let found = 0;
      const ms: number[] = [];
      fn(); // warm: statement cache and pages
      for (let i = 0; i < RUNS; i++) ms.push(time(() => (found = fn())));
      ms.sort((a, b) => a - b);
      return { search: label, found, 'median ms': fmt(quantile(ms, 0.5), 2), 'p95 ms': fmt(quantile(ms, 0.95), 2), median: quantile(ms, 0.5), p95: quantile(ms, 0.95) };
    };
    const orderNumber = rows.slice(ROWS / 2).find((e) => e.entity?.startsWith('invoice:'))!.entity!.slice('invoice:'.length);
    const queries: Array<[string, string]> = [
      ['a name in lower case', 'фёдорова'],
      ['an order number', orderNumber.toLowerCase()],
      ['an error word', 'дубль'],
      ['a miss', 'несуществующий'],
      ['2 letters (no trigram: a scan)', 'ёл'],
      ['2 letters, a miss (a scan)', 'щщ'],
    ];
    const ids = Array.from({ length: RUNS + 1 }, (_, i) => 1 + ((i * 7919) % ROWS));
    let next = 0;
    const results = [measure('baseline: one row by id (primary key)', () => (journal.get(ids[next++ % ids.length]) ? 1 : 0))];
    for (const [what, q] of queries.slice(0, 4)) results.push(measure(`before: LIKE over the raw columns, ${what} «${q}»`, () => old.all({ q: `%${q}%` }).length));
    for (const [what, q] of queries) results.push(measure(`now: ${what} «${q}»`, () => journal.events({ q }).entries.length));
    // Rows not yet indexed (a burst the background indexing has not reached): scanned, newest first.
    for (let i = ROWS; i < rows.length; i++) journal.record(rows[i]);
    journal.flush();
    for (const [what, q] of [queries[0], queries[1], queries[3]]) results.push(measure(`now, ${fmt(UNINDEXED)} newest rows unindexed: ${what} «${q}»`, () => journal.events({ q }).entries.length));
    store.close();

    const ours = results.filter((r) => r.search.startsWith('now'));
    const worst = ours.reduce((a, b) => (b.p95 > a.p95 ? b : a));
    const indexed = ours.filter((r) => !r.search.includes('scan') && !r.search.includes('unindexed'));
    const worstIndexed = indexed.reduce((a, b) => (b.p95 > a.p95 ? b : a));
    const before = results.filter((r) => r.search.startsWith('before'));
    notes.push('found: rows on the first page (the window shows 50); «before» found 0 for the lower-case name: that was the bug');
    return {
      id: 'journal-search',
      title: `Journal search, ${fmt(ROWS)} rows (Journal.events, page of 50; ${RUNS} runs each)`,
      rows: results.map(({ median: _m, p95: _p, ...row }) => row),
      notes,
      summary: `indexed searches p95 ≤ ${fmt(worstIndexed.p95, 1)} ms (target < ${TARGET_MS}); worst of all ${fmt(worst.p95, 1)} ms (${worst.search}); the old LIKE ${fmt(Math.min(...before.map((r) => r.median)), 0)}–${fmt(Math.max(...before.map((r) => r.median)), 0)} ms`,
    };
  });
}

if (process.argv[1] === import.meta.filename) {
  const { printTable } = await import('./common.ts');
  const r = await benchJournalSearch();
  console.log(`== ${r.title}`);
  printTable(r.rows);
  for (const n of r.notes) console.log(`  note: ${n}`);
  console.log(`  ${r.summary}`);
}
