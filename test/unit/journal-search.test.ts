import { describe, expect, it } from 'vitest';
import { openStore } from '../../main/store/index.ts';
import { Journal, type ExchangeInput } from '../../main/journal/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sqlite } from '../helpers/sqlite.ts';
import { MIGRATIONS } from '../../main/store/migrations.ts';

function journal(opts: Partial<{ retentionDays: number; maxMegabytes: number; scanRows: number }> = {}) {
  const dir = tempDir();
  const store = openStore(dir);
  const j = new Journal(store, { retentionDays: 30, maxMegabytes: 10, bodyLimitBytes: 4000, ...opts });
  return { store, j, dir };
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
    const inIndex = () => store.sql.column(`SELECT rowid FROM journal_fts WHERE journal_fts MATCH '"кузнецова"' ORDER BY rowid`);
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

describe('journal search: 1–2 characters through the blocks\' filters, rows not indexed yet within a budget', () => {
  const grams = (store: ReturnType<typeof journal>['store']) => store.sql.column(`SELECT DISTINCT block FROM journal_grams ORDER BY block`);
  /** The state migration 11 leaves an indexed journal in: no filter yet. */
  const forgetFilters = (store: ReturnType<typeof journal>['store']) => {
    store.sql.exec(`DELETE FROM journal_grams; UPDATE meta SET value = '0' WHERE key = 'journal_grams_indexed'`);
  };

  it('short searches find what they should in every field, in any case, ё as е, and nothing else; only blocks whose filter may hold the key are read', () => {
    const { j, store } = journal({ maxMegabytes: 100 });
    // Three blocks of 256 rows; the rows looked for are in different blocks.
    const at: Record<number, ExchangeInput> = {
      30: exchange('/v1/cards/Ж-30'), // upper case in the address
      300: exchange('/v1/cards/300', { requestBody: '{"holder":{"name":"Ёжикова"}}' }), // ё in a body
      400: exchange('/v1/invoices/%D0%AF%D0%AF-400', { entity: 'invoice:ЯЯ-400' }), // percent-encoded, and the entity
      500: exchange('https://api.passteam.ru/oapi/v1/createcard', { direction: 'out', system: 'passteam', status: 409, error: 'Passteam: Дубль карты' }),
      600: exchange('/v1/cards/ю', { entity: 'щ:600', requestBody: 'ю щ' }), // «ющ» only across a field's end or a space
      700: exchange('/v1/cards/700', { requestBody: '{"note":"привет 🙂"}' }), // a character outside the BMP
    };
    for (let id = 1; id <= 760; id++) j.record(at[id] ?? exchange(`/v1/cards/${id}`, { requestBody: '{"holder":{"name":"Петров"}}' }));
    j.flush();
    const finds: Array<[string, string[]]> = [
      ['ж', ['/v1/cards/300', '/v1/cards/Ж-30']],
      ['Ж', ['/v1/cards/300', '/v1/cards/Ж-30']],
      ['ёж', ['/v1/cards/300']],
      ['ЕЖ', ['/v1/cards/300']],
      ['яя', ['/v1/invoices/%D0%AF%D0%AF-400']],
      ['дУ', ['https://api.passteam.ru/oapi/v1/createcard']],
      ['ющ', []],
      ['🙂', ['/v1/cards/700']],
      [' 🙂', ['/v1/cards/700']],
      ['т🙂', []],
      ['ъ', []],
    ];
    const check = (when: string) => {
      for (const [q, want] of finds) {
        expect(urls(j, { q, limit: 500 }), `${when}: ${q}`).toEqual(want);
        expect(j.list({ q, limit: 500 }).unsearched, `${when}: ${q}`).toBeUndefined();
      }
    };
    check('not yet indexed');
    indexAll(j);
    expect(j.index.gramsIndexed()).toBe(760);
    expect(grams(store)).toEqual([0, 1, 2]);
    check('indexed');
    // A key's candidates: the blocks whose filter has its bits (ids 0–255, 256–511, 512–760).
    expect([...j.index.candidates('ж', 760)]).toEqual([[256, 511], [0, 255]]);
    expect([...j.index.candidates('яя', 760)]).toEqual([[256, 511]]);
    expect([...j.index.candidates('ъ', 760)]).toEqual([]);
    expect([...j.index.candidates('пе', 700)]).toEqual([[512, 700], [256, 511], [0, 255]]);
    // A block whose filter says «not here» is not read at all.
    store.sql.run(`UPDATE journal_grams SET bits = zeroblob(512) WHERE block = 1`);
    expect(urls(j, { q: 'ж' })).toEqual(['/v1/cards/Ж-30']);
    forgetFilters(store);
    check('indexed before migration 11');
    // A block's filter is written when the block is complete (or the indexing idle): rows 1–255, then 256.
    for (let i = 0; i < 255; i++) j.index.step(0);
    expect(j.index.gramsIndexed()).toBe(0);
    j.index.step(0);
    expect(j.index.gramsIndexed()).toBe(255);
    check('filters half-way');
    indexAll(j);
    expect(j.index.gramsIndexed()).toBe(760);
    check('filters again');
    store.close();
  });

  it('with a system to match, reads only the blocks where rows of that system may hold the key, long keys too', () => {
    const { j, store } = journal({ maxMegabytes: 100 });
    const passteam = (id: number) => exchange('https://api.passteam.ru/oapi/v1/updatecard', { direction: 'out', system: 'passteam', method: 'POST', requestBody: `values%5B%25CLIENT_NAME%25%5D=%D0%A4%D1%91%D0%B4%D0%BE%D1%80%D0%BE%D0%B2%D0%B0&n=${id}` });
    for (let id = 1; id <= 600; id++) {
      if (id === 100 || id === 450) j.record(passteam(id)); // «Фёдорова», percent-encoded
      else if (id === 500) j.record(exchange('/regate/v1/clients', { system: 'regate:shop', method: 'GET', responseBody: '{"name":"Фёдорова Ольга"}' }));
      else j.record(exchange(`/v1/cards/${id}`, { requestBody: '{"holder":{"name":"Фёдорова Анна"}}' }));
    }
    j.flush();
    const events = (q: string, system: string) => j.events({ q, system, limit: 500 }).entries.map((e) => e.url);
    const check = (when: string) => {
      for (const q of ['фёдорова', 'ФЕДОРОВА', 'фё', 'ф']) {
        expect(events(q, 'passteam'), `${when}: ${q}`).toEqual(['https://api.passteam.ru/oapi/v1/updatecard', 'https://api.passteam.ru/oapi/v1/updatecard']);
        expect(events(q, 'regate'), `${when}: ${q}`).toEqual(['/regate/v1/clients']);
        expect(events(q, 'docpart'), `${when}: ${q}`).toEqual([]);
        expect(events(q, '1c'), `${when}: ${q}`).toHaveLength(500); // a page: 597 of them
      }
      expect(events('ольга', 'regate'), when).toEqual(['/regate/v1/clients']);
      expect(events('ольга', '1c'), when).toEqual([]);
      const out = (q: string) => j.events({ q, direction: 'out', limit: 500 }).entries.map((e) => e.url);
      expect(out('федорова'), when).toEqual(['https://api.passteam.ru/oapi/v1/updatecard', 'https://api.passteam.ru/oapi/v1/updatecard']);
      expect(out('фё'), when).toHaveLength(2);
      expect(out('ольга'), when).toEqual([]);
      expect(j.events({ q: 'ольга', direction: 'in', system: 'regate' }).entries.map((e) => e.url), when).toEqual(['/regate/v1/clients']);
    };
    check('not yet indexed');
    indexAll(j);
    check('indexed');
    // Blocks 0–255, 256–511, 512–600: passteam rows in the first two, the ReGate one in the second (keys as searchKey makes them).
    expect([...j.index.candidates('федорова', 600, ['system:passteam'])]).toEqual([[256, 511], [0, 255]]);
    expect([...j.index.candidates('ф', 600, ['system:regate'])]).toEqual([[256, 511]]);
    expect([...j.index.candidates('федорова', 600, ['system:docpart'])]).toEqual([]);
    expect([...j.index.candidates('федорова', 600)]).toEqual([[512, 600], [256, 511], [0, 255]]);
    // The direction too: the passteam rows are the only outgoing ones.
    expect([...j.index.candidates('федорова', 600, ['direction:out'])]).toEqual([[256, 511], [0, 255]]);
    expect([...j.index.candidates('ольга', 600, ['direction:out'])]).toEqual([]);
    expect([...j.index.candidates('ольга', 600, ['system:regate', 'direction:in'])]).toEqual([[256, 511]]);
    forgetFilters(store);
    check('indexed before migration 11');
    indexAll(j);
    check('filters again');
    store.close();
  });

  it('«only errors» with few failed events reads their exchanges\' text, and finds what the index would', () => {
    const { j, store } = journal({ maxMegabytes: 100 });
    const failedAt = new Set([50, 300, 590]);
    for (let id = 1; id <= 600; id++) {
      if (failedAt.has(id)) j.record(exchange(`/failed/${id}`, { status: 409, error: 'Дубль карты', requestBody: '{"name":"Фёдорова"}' }));
      else if (id === 400) j.record(exchange('/failed/other', { status: 422, error: 'Неверный телефон', requestBody: '{"name":"Петров"}' }));
      else j.record(exchange(`/ok/${id}`, { requestBody: '{"name":"Фёдорова"}' }));
    }
    j.flush();
    const failed = (q: string) => j.events({ q, failedOnly: true, limit: 500 }).entries.map((e) => e.url);
    const check = (when: string) => {
      for (const q of ['фёдорова', 'ФЕДОРОВА', 'фё']) expect(failed(q), `${when}: ${q}`).toEqual(['/failed/590', '/failed/300', '/failed/50']);
      expect(failed('ф'), when).toEqual(['/failed/590', '/failed/other', '/failed/300', '/failed/50']); // «телефон» in the error
      expect(failed('петров'), when).toEqual(['/failed/other']);
      for (const q of ['ъ', 'щщ', 'несуществующий']) expect(failed(q), `${when}: ${q}`).toEqual([]);
    };
    check('not yet indexed');
    indexAll(j);
    check('indexed');
    // Without the blocks' filters a short key finds nothing through them; «only errors» reads the text itself.
    store.sql.exec(`UPDATE journal_grams SET bits = zeroblob(512)`);
    expect(j.events({ q: 'фё' }).entries).toEqual([]);
    expect(failed('фё')).toEqual(['/failed/590', '/failed/300', '/failed/50']);
    store.close();
  });

  it('a period: the events in it, when they are few, are read by their exchanges\' text', () => {
    const { j, store } = journal({ maxMegabytes: 100, retentionDays: 3650 });
    const day = (d: number) => Date.UTC(2026, 10, d, 12);
    for (let id = 1; id <= 600; id++) {
      const at = id % 100 === 0 ? day(20) : day(10); // ids 100, 200, … 600 on the 20th
      j.record(exchange(`/v1/cards/${id}`, { at, requestBody: id === 300 ? '{"name":"Ёлкина"}' : '{"name":"Фёдорова"}' }));
    }
    j.flush();
    const on20th = (q: string) => j.events({ q, from: day(20) - 43_200_000, to: day(21) - 43_200_000, limit: 500 }).entries.map((e) => e.url);
    const check = (when: string) => {
      expect(on20th('федорова'), when).toEqual(['/v1/cards/600', '/v1/cards/500', '/v1/cards/400', '/v1/cards/200', '/v1/cards/100']);
      expect(on20th('ёл'), when).toEqual(['/v1/cards/300']);
      expect(on20th('ъ'), when).toEqual([]);
      expect(on20th('несуществующий'), when).toEqual([]);
      expect(j.events({ q: 'ёлкина', from: day(10) - 43_200_000, to: day(11) - 43_200_000 }).entries, when).toEqual([]);
    };
    check('not yet indexed');
    indexAll(j);
    check('indexed');
    store.close();
  });

  it('matches at most `scanRows` rows not indexed yet, newest first, says about how many it left, and finds them all once indexed', () => {
    const { j, store } = journal({ scanRows: 3 });
    for (let i = 1; i <= 10; i++) j.record(exchange(`/v1/cards/${i}`, { requestBody: `{"name":"Сидорова ${i}"}` }));
    j.flush();
    const all = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((i) => `/v1/cards/${i}`);
    for (const q of ['СИДОРОВА', 'си']) {
      expect(j.list({ q }), q).toMatchObject({ entries: all.slice(0, 3).map((url) => ({ url })), next: null, unsearched: 7 });
      expect(j.events({ q }), q).toMatchObject({ entries: [{ url: all[0] }, { url: all[1] }, { url: all[2] }], next: null, unsearched: 7 });
      // A page filled before the rows left is complete as far as it goes.
      expect(j.list({ q, limit: 2 }), q).toEqual({ entries: [expect.objectContaining({ url: all[0] }), expect.objectContaining({ url: all[1] })], next: expect.any(String) });
      // The CSV export looks at every row.
      expect(urls(j, { q, complete: true }), q).toEqual(all);
      expect(j.events({ q, complete: true }).unsearched, q).toBeUndefined();
    }
    for (let i = 0; i < 5; i++) j.index.step(0); // rows 1–5 indexed, 6–10 not
    for (const q of ['сидорова', 'СИ']) {
      const page = j.list({ q });
      expect(page.entries.map((e) => e.url), q).toEqual([...all.slice(0, 3), ...all.slice(5)]);
      expect(page.unsearched, q).toBe(2);
      expect(j.events({ q }).unsearched, q).toBe(2);
    }
    indexAll(j);
    for (const q of ['сидорова', 'си']) {
      expect(j.list({ q })).toEqual({ entries: all.map((url) => expect.objectContaining({ url })), next: null });
      expect(j.events({ q }).entries.map((e) => e.url), q).toEqual(all);
    }
    store.close();
  });

  it('the budget for rows not indexed yet counts their bodies: 1,024 characters a row of it', () => {
    const { j, store } = journal({ scanRows: 3 });
    const big = 'Фёдорова ' + 'x'.repeat(1991); // 2,000 characters
    for (let i = 1; i <= 6; i++) j.record(exchange(`/v1/cards/${i}`, { requestBody: big }));
    j.flush();
    // 3 × 1,024 characters: rows 6 and 5 (4,000), row 4 and below left.
    expect(j.list({ q: 'фёдорова' })).toMatchObject({ entries: [{ url: '/v1/cards/6' }, { url: '/v1/cards/5' }], unsearched: 4 });
    expect(j.events({ q: 'фё' })).toMatchObject({ entries: [{ url: '/v1/cards/6' }, { url: '/v1/cards/5' }], unsearched: 4 });
    expect(urls(j, { q: 'фёдорова', complete: true })).toHaveLength(6);
    indexAll(j);
    expect(j.events({ q: 'фё' })).toEqual({ entries: [6, 5, 4, 3, 2, 1].map((i) => expect.objectContaining({ url: `/v1/cards/${i}` })), next: null });
    store.close();
  });

  it('rows indexed before migration 11 are read by their text until their filters are filled, within the same budget', () => {
    const { j, store, dir } = journal({ scanRows: 2 });
    j.record(exchange('/v1/cards/1', { requestBody: '{"name":"Иванова"}' }));
    for (let i = 2; i <= 11; i++) j.record(exchange(`/v1/cards/${i}`, { requestBody: '{"name":"Петров"}' }));
    j.record(exchange('/v1/cards/12', { requestBody: '{"name":"Иванова"}' }));
    j.flush();
    indexAll(j);
    // Back to schema 10 with its index, then migration 11 as an upgrade runs it (on a connection of
    // the test's own: a migration takes one; the store's sees the new schema at its next statement).
    const db = sqlite(dir);
    db.exec(`DROP TABLE journal_grams; DELETE FROM meta WHERE key = 'journal_grams_indexed'`);
    db.transaction(() => MIGRATIONS[10](db))();
    expect(j.index.indexed()).toBe(12);
    expect(j.index.gramsIndexed()).toBe(0);
    // 2 × 4 rows read by their text (ids 5–12), the 4 older ones left.
    expect(j.list({ q: 'ив' })).toMatchObject({ entries: [{ url: '/v1/cards/12' }], unsearched: 4 });
    expect(j.list({ q: 'иванова' }).entries.map((e) => e.url)).toEqual(['/v1/cards/12', '/v1/cards/1']); // 3+ characters: the trigrams
    expect(j.index.step(1000)).toBe(12);
    expect(j.index.gramsIndexed()).toBe(12);
    expect(grams(store)).toEqual([0]);
    expect(j.list({ q: 'ИВ' })).toEqual({ entries: [expect.objectContaining({ url: '/v1/cards/12' }), expect.objectContaining({ url: '/v1/cards/1' })], next: null });
    store.close();
  });

  it('pruning drops the filters of blocks with no row left; after the journal was pruned empty, short searches find the new rows', () => {
    const { j, store } = journal({ retentionDays: 1, maxMegabytes: 100 });
    const old = Date.now() - 3 * 86_400_000;
    for (let i = 1; i <= 600; i++) j.record(exchange(`/old/${i}`, { at: old, requestBody: '{"name":"Кузнецова"}' }));
    j.flush();
    indexAll(j);
    expect(grams(store)).toEqual([0, 1, 2]);
    expect(j.prune(Date.now(), 300)).toBe(300);
    expect(grams(store)).toEqual([1, 2]); // ids 301–600 left: block 0 (0–255) is empty
    expect(j.list({ q: 'зн', limit: 500 }).entries).toHaveLength(300);
    expect(j.prune(Date.now())).toBe(300);
    expect(grams(store)).toEqual([]);
    expect(j.index.gramsIndexed()).toBe(0);

    j.record(exchange('/new/1', { requestBody: '{"name":"КУЗНЕЦОВА"}' }));
    expect(urls(j, { q: 'Зн' })).toEqual(['/new/1']);
    indexAll(j);
    expect(grams(store)).toEqual([0]);
    expect(urls(j, { q: 'Зн' })).toEqual(['/new/1']);
    expect(urls(j, { q: 'ы' })).toEqual([]);
    store.close();
  });
});
