import { describe, expect, it } from 'vitest';
import { openStore } from '../../main/store/index.ts';
import { Journal } from '../../main/journal/index.ts';
import { tempDir } from '../helpers/tmp.ts';

function journal(opts: Partial<{ retentionDays: number; maxMegabytes: number; bodyLimitBytes: number }> = {}) {
  const store = openStore(tempDir());
  const j = new Journal(store, { retentionDays: 30, maxMegabytes: 10, bodyLimitBytes: 1000, secrets: () => ['super-secret-token'], ...opts });
  return { store, j };
}

describe('journal', () => {
  it('records exchanges redacted and truncated', async () => {
    const { j, store } = journal({ bodyLimitBytes: 300 });
    await j.record({
      direction: 'out',
      system: 'passteam',
      method: 'POST',
      url: 'https://getpass.passteam.ru/oapi/v1/createcard?token=abc',
      status: 200,
      durationMs: 12.34,
      requestBody: 'values%5B%25PHONE%25%5D=%2B79876543210&password=hunter2&note=' + 'x'.repeat(1000),
      responseBody: '{"code":200,"token":"super-secret-token","cardId":"123"}',
      entity: 'card:42',
    });
    const [e] = j.list().entries;
    expect(e).toMatchObject({ system: 'passteam', status: 200, durationMs: 12.3, entity: 'card:42' });
    expect(e.url).not.toContain('abc');
    const full = j.get(e.id)!;
    expect(full.requestBody).not.toContain('hunter2');
    expect(full.requestBody).toContain('обрезано');
    expect(full.requestBody!.length).toBeLessThan(400);
    expect(full.responseBody).not.toContain('super-secret-token');
    expect(full.responseBody).toContain('"cardId":"123"');
    store.close();
  });

  it('searches bodies, urls and entities; filters failed; pages by id', async () => {
    const { j, store } = journal();
    for (let i = 0; i < 5; i++) await j.record({ direction: 'in', system: '1c', method: 'PUT', url: `/v1/cards/${i}`, status: i === 3 ? 422 : 202, durationMs: 1, requestBody: `{"name":"Клиент ${i}"}` });
    expect(j.list({ q: 'Клиент 3' }).entries.map((e) => e.url)).toEqual(['/v1/cards/3']);
    expect(j.list({ q: '100%' }).entries).toEqual([]); // LIKE wildcards are literal
    expect(j.list({ failedOnly: true }).entries.map((e) => e.status)).toEqual([422]);
    const p1 = j.list({ limit: 2 });
    const p2 = j.list({ limit: 2, before: Number(p1.next) });
    expect([...p1.entries, ...p2.entries].map((e) => e.url)).toEqual(['/v1/cards/4', '/v1/cards/3', '/v1/cards/2', '/v1/cards/1']);
    store.close();
  });

  it('prunes by age and by total size, in bounded steps', async () => {
    const { j, store } = journal({ retentionDays: 1, maxMegabytes: 10 });
    const now = Date.now();
    for (let i = 0; i < 10; i++) await j.record({ direction: 'in', system: '1c', method: 'GET', url: '/old', status: 200, durationMs: 1, at: now - 3 * 86_400_000 });
    await j.record({ direction: 'in', system: '1c', method: 'GET', url: '/new', status: 200, durationMs: 1, at: now });
    expect(j.prune(now, 4)).toBe(4);
    expect(j.prune(now)).toBe(6);
    expect(j.list().entries.map((e) => e.url)).toEqual(['/new']);

    const big = 'я'.repeat(1000);
    const { j: small, store: s2 } = journal({ maxMegabytes: 10, bodyLimitBytes: 1_000_000 });
    const chunk = big.repeat(500); // ~500 k chars per row
    for (let i = 0; i < 30; i++) await small.record({ direction: 'in', system: '1c', method: 'POST', url: `/r${i}`, status: 200, durationMs: 1, requestBody: chunk });
    const before = small.totalBytes();
    expect(before).toBeGreaterThan(10 * 1024 * 1024);
    while (small.prune(Date.now(), 5) > 0 && small.totalBytes() > 10 * 1024 * 1024);
    expect(small.totalBytes()).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(small.list({ limit: 500 }).entries[0].url).toBe('/r29'); // the newest survive
    store.close();
    s2.close();
  });
});
