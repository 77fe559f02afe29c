import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../../main/errors.ts';
import { Journal } from '../../main/journal/index.ts';
import { openStore } from '../../main/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Journal.within on a real SQLite file: what a run leaves in the journal. */
const opts = { retentionDays: 30, maxMegabytes: 100, bodyLimitBytes: 4096 };
const call = (journal: Journal, path: string, patch: object = {}) =>
  journal.record({ direction: 'out', system: 'passteam', method: 'POST', url: `https://pt.example/oapi/v1/${path}`, status: 200, durationMs: 5, entity: 'card:1', ...patch });
const start = { system: 'passteam', entity: 'card:1', title: 'Карта 1 → Passteam' };

describe('journal events', () => {
  it('a run folds its exchanges under one event that ends with its summary; a run that failed says why, even with no exchange', async () => {
    const store = openStore(tempDir());
    const journal = new Journal(store, opts);
    await journal.within(start, async () => {
      call(journal, 'getcardswithpagination');
      await new Promise((r) => setImmediate(r));
      call(journal, 'createcard');
    }, () => ({ summary: 'отправлена' }));
    // Nothing happened on the wire: no event.
    await journal.within({ ...start, entity: 'card:2', title: 'Карта 2 → Passteam' }, async () => {});
    const refused = new DeliveryError('refused', 'phone_required', 'Для карты в Passteam нужен мобильный телефон владельца');
    await expect(journal.within({ ...start, entity: 'card:3', title: 'Карта 3 → Passteam' }, async () => Promise.reject(refused))).rejects.toBe(refused);

    const [noPhone, delivered] = journal.events().entries;
    expect(delivered).toMatchObject({ title: 'Карта 1 → Passteam', outcome: 'ok', summary: 'отправлена', exchanges: 2, url: 'https://pt.example/oapi/v1/createcard' });
    expect(journal.event(delivered.id)!.items.map((x) => x.url.split('/').pop())).toEqual(['getcardswithpagination', 'createcard']);
    expect(noPhone).toMatchObject({ entity: 'card:3', outcome: 'failed', summary: 'отказ', error: refused.message, exchanges: 0, retry: false });
    expect(journal.events().entries).toHaveLength(2);
    store.close();
  });

  it('an event still running when Sputnik was killed reads «прервано» at the next start', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    const journal = new Journal(store, opts);
    let finish!: () => void;
    const run = journal.within({ system: 'docpart', entity: 'docpart:pull', title: 'Загрузка заказов Docpart' }, async () => {
      call(journal, 'x', { system: 'docpart' });
      await new Promise<void>((r) => (finish = r));
    });
    expect(journal.events().entries[0]).toMatchObject({ outcome: 'running', exchanges: 1 });
    store.close(); // as if killed: the run never ends here

    const again = openStore(dir);
    expect(new Journal(again, opts).events().entries[0]).toMatchObject({ outcome: 'failed', summary: 'прервано', error: expect.stringMatching(/^Прервано: Спутник был остановлен/) });
    again.close();
    finish();
    await run.catch(() => {});
  });

  it('events go with their exchanges when the journal is pruned', () => {
    const store = openStore(tempDir());
    const journal = new Journal(store, { ...opts, retentionDays: 1 });
    const day = 86_400_000;
    const now = Date.now();
    journal.record({ direction: 'in', system: '1c', method: 'GET', url: '/v1/health', status: 200, durationMs: 1, at: now - 3 * day });
    journal.record({ direction: 'in', system: '1c', method: 'GET', url: '/v1/health', status: 200, durationMs: 1, at: now });
    expect(journal.events().entries).toHaveLength(2);
    journal.prune(now);
    expect(journal.events().entries.map((e) => e.title)).toEqual(['Проверка связи ← 1С']);
    expect(journal.events().entries[0].at).toBe(new Date(now - 1).toISOString());
    store.close();
  });
});
