import { describe, expect, it } from 'vitest';
import { openStore } from '../../main/store/index.ts';
import { Journal, type ExchangeInput } from '../../main/journal/index.ts';
import { tempDir } from '../helpers/tmp.ts';

function journal(opts: Partial<{ retentionDays: number; maxMegabytes: number }> = {}) {
  const store = openStore(tempDir());
  const j = new Journal(store, { retentionDays: 30, maxMegabytes: 10, bodyLimitBytes: 4000, ...opts });
  return { store, j };
}

const exchange = (url: string, more: Partial<ExchangeInput> = {}): ExchangeInput => ({ direction: 'in', system: '1c', method: 'PUT', url, status: 202, durationMs: 1, ...more });
const urls = (j: Journal, q: Parameters<Journal['list']>[0]) => j.list(q).entries.map((e) => e.url);
const indexAll = (j: Journal) => {
  while (j.index.step(1000) > 0);
};

/** Rows of every kind a person looks for: a name in a JSON body, in PHP's \u escapes, an order number in an encoded URL, an error. */
function seed(j: Journal) {
  j.record(exchange('/v1/cards/C-1', { requestBody: '{"holder":{"name":"Иванова Мария"}}' }));
  j.record(exchange('/v1/cards/C-2', { requestBody: '{"holder":{"name":"Ёлкина Анна"}}' }));
  j.record(exchange('https://shop.example/api/get_orders', { direction: 'out', system: 'docpart', method: 'POST', responseBody: '{"surname":"\\u0418\\u0432\\u0430\\u043d\\u043e\\u0432\\u0430"}' }));
  j.record(exchange('/v1/invoices/%D0%97%D0%9A-0005', { entity: 'invoice:ЗК-0005' }));
  j.record(exchange('https://api.passteam.ru/oapi/v1/createcard', { direction: 'out', system: 'passteam', method: 'POST', status: 409, error: 'Passteam: Дубль карты по телефону' }));
  j.record(exchange('/v1/cards/C-3', { requestBody: '{"holder":{"name":"Петров"}}' }));
}

const FINDS: Array<[string, string[]]> = [
  ['иванова', ['https://shop.example/api/get_orders', '/v1/cards/C-1']],
  ['ИВАНОВА', ['https://shop.example/api/get_orders', '/v1/cards/C-1']],
  ['елкина', ['/v1/cards/C-2']],
  ['ЁЛКИНА', ['/v1/cards/C-2']],
  ['зк-0005', ['/v1/invoices/%D0%97%D0%9A-0005']],
  ['дубль', ['https://api.passteam.ru/oapi/v1/createcard']],
  ['ив', ['https://shop.example/api/get_orders', '/v1/cards/C-1']], // under 3 characters: no trigram, a scan
  ['несуществующий', []],
];

describe('journal search: any case, ё = е, indexed', () => {
  it('finds the same rows before the background indexing, after it, and half-way', () => {
    const { j, store } = journal();
    seed(j);
    j.flush();
    for (const [q, want] of FINDS) expect(urls(j, { q }), `not yet indexed: ${q}`).toEqual(want);
    expect(j.index.step(0)).toBe(1); // one row per slice at least: a slice never stalls at nothing
    expect(j.index.indexed()).toBe(1);
    j.index.step(1000);
    expect(j.index.indexed()).toBe(6);
    for (const [q, want] of FINDS) expect(urls(j, { q }), `indexed: ${q}`).toEqual(want);
    for (let i = 0; i < 3; i++) j.record(exchange(`/v1/cards/N-${i}`, { requestBody: '{"holder":{"name":"ИВАНОВА Ольга"}}' }));
    expect(urls(j, { q: 'Иванова' })).toEqual(['/v1/cards/N-2', '/v1/cards/N-1', '/v1/cards/N-0', 'https://shop.example/api/get_orders', '/v1/cards/C-1']);
    store.close();
  });

  it('pages across the indexed and the newer rows with the other filters, nothing twice', () => {
    const { j, store } = journal();
    for (let i = 1; i <= 12; i++) j.record(exchange(`/v1/cards/${i}`, { system: i % 2 ? '1c' : 'regate', status: i % 3 ? 202 : 422, requestBody: `{"name":"Сидорова ${i}"}` }));
    j.flush();
    for (let i = 0; i < 7; i++) j.index.step(0); // rows 1–7 indexed, 8–12 not
    expect(j.index.indexed()).toBe(7);
    const pages: string[] = [];
    for (let before: number | undefined, n = 0; n < 10; n++) {
      const page = j.list({ q: 'СИДОРОВА', limit: 2, before });
      pages.push(...page.entries.map((e) => e.url));
      if (!page.next) break;
      before = Number(page.next);
    }
    expect(pages).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((i) => `/v1/cards/${i}`));
    expect(urls(j, { q: 'сидорова', system: 'regate', failedOnly: true })).toEqual(['/v1/cards/12', '/v1/cards/6']);
    store.close();
  });

  it('pruning takes rows out of the index too; after the journal was pruned empty its ids start again and are still found', () => {
    const { j, store } = journal({ retentionDays: 1 });
    const old = Date.now() - 3 * 86_400_000;
    for (let i = 0; i < 5; i++) j.record(exchange(`/old/${i}`, { at: old, requestBody: '{"name":"Кузнецова"}' }));
    j.flush();
    indexAll(j);
    expect(urls(j, { q: 'кузнецова' })).toHaveLength(5);
    expect(j.prune(Date.now(), 3)).toBe(3);
    const inIndex = () => store.db.prepare(`SELECT rowid FROM journal_fts WHERE journal_fts MATCH '"кузнецова"' ORDER BY rowid`).pluck().all();
    expect(inIndex()).toEqual([4, 5]);
    expect(j.prune(Date.now())).toBe(2);
    expect(inIndex()).toEqual([]);

    // Ids restart at 1, below the old "indexed up to 5": the new rows must not count as indexed.
    j.record(exchange('/new/1', { requestBody: '{"name":"КУЗНЕЦОВА"}' }));
    expect(urls(j, { q: 'Кузнецова' })).toEqual(['/new/1']);
    indexAll(j);
    expect(urls(j, { q: 'Кузнецова' })).toEqual(['/new/1']);
    store.close();
  });

  it('indexes by itself in the background once started, and stops when told', async () => {
    const { j, store } = journal();
    seed(j);
    j.flush();
    j.index.start();
    await expect.poll(() => j.index.indexed(), { timeout: 15_000 }).toBe(6);
    j.index.stop();
    for (const [q, want] of FINDS) expect(urls(j, { q }), q).toEqual(want);
    store.close();
  });

  it('a query\'s LIKE wildcards and FTS quotes are literal', () => {
    const { j, store } = journal();
    j.record(exchange('/a', { requestBody: 'скидка 100% "Ромашка"' }));
    j.record(exchange('/b', { requestBody: 'скидка 1000 Ромашка' }));
    for (const pass of ['scan', 'index']) {
      expect(urls(j, { q: '100%' }), pass).toEqual(['/a']);
      expect(urls(j, { q: '"ромашка"' }), pass).toEqual(['/a']);
      expect(urls(j, { q: '_' }), pass).toEqual([]);
      indexAll(j);
    }
    store.close();
  });
});
