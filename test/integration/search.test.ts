import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { docpartModuleWith } from '../../main/connectors/docpart/index.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { DB_FILE } from '../../main/store/db.ts';
import { MIGRATIONS } from '../../main/store/migrations.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Search in the tray window's lists and journal: what the operator types, in any case, finds people. */

// The shop's data and the puller share one pinned clock (see docpart.test.ts).
const NOW = Date.parse('2026-11-23T23:59:59+03:00');
const docpartModule = docpartModuleWith({ now: () => NOW });

const ui = async (t: TestCore, path: string) => {
  const r = await fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, { headers: { Authorization: `Bearer ${t.uiToken}` } });
  expect(r.status, path).toBe(200);
  return (await r.json()) as any;
};
const q = (s: string) => encodeURIComponent(s);
const cards = async (t: TestCore, s: string) => (await ui(t, `/api/cards?q=${q(s)}`)).cards.map((c: { code: string }) => c.code).sort();
const invoices = async (t: TestCore, s: string) => (await ui(t, `/api/invoices?q=${q(s)}`)).invoices.map((i: { orderId: string }) => i.orderId).sort();
const orders = async (t: TestCore, s: string) => (await ui(t, `/api/docpart/orders?q=${q(s)}`)).orders.map((o: { orderId: number }) => o.orderId).sort((a: number, b: number) => a - b);
const journal = async (t: TestCore, s: string) => (await ui(t, `/api/journal?q=${q(s)}&limit=500`)).entries as Array<{ url: string; system: string; direction: string; title: string }>;

async function setup() {
  const passteam = await startFakePassteam({ token: 'pt-token' });
  const paykeeper = await startFakePayKeeper({ user: 'u', password: 'p' });
  const data = generateDocpartData({ orders: 20, seed: 5, days: 1, now: NOW });
  // One buyer spelt with ё, as the shop keeps it.
  const buyer = data.users[0];
  buyer.fields = { ...buyer.fields, surname: 'Ёжикова', name: 'Алёна', patronymic: 'Петровна' };
  const docpart = await startFakeDocpart({ techKey: 'dk', data });
  const t = await startTestCore({
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token: 'pt-token', templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'u', password: 'p' },
      docpart: { enabled: true, baseUrl: docpart.url, techKey: 'dk', everySeconds: 3600 },
    },
    modules: [passteamModule, paykeeperModule, docpartModule],
  });
  const stop = async () => Promise.all([passteam.stop(), paykeeper.stop(), docpart.stop()]);
  return { t, data, buyerOrders: data.orders.filter((o) => o.user_id === buyer.user_id).map((o) => o.order_id).sort((a, b) => a - b), stop };
}

const json = (body: unknown): RequestInit => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('search in the window: any case, ё = е', () => {
  it('cards by holder, invoices by client, Docpart orders by buyer, the journal by an error word and an order number', async () => {
    const { t, buyerOrders, stop } = await setup();
    try {
      for (const [code, name, phone] of [['C-1', 'Иванова Мария', '+79160000001'], ['C-2', 'Ёлкина Анна', '+79160000002'], ['C-3', 'Петров Пётр', '+79160000003']]) {
        expect((await t.api(`/v1/cards/${code}?wait=5`, json({ holder: { name, phone } }))).status).toBe(200);
      }
      const post = await t.api('/v1/invoices?wait=10', {
        ...json({
          invoices: [
            { orderId: 'ЗК-0005', amount: '10', email: 'buh@romashka.ru', clientId: 'ООО Ромашка', serviceName: 'Оплата заказа (дубль счёта)' },
            { orderId: 'ЗК-0006', amount: '20', email: 'info@vasilek.ru', clientId: 'ООО Василёк' },
          ],
        }),
        method: 'POST',
      });
      expect(post.status).toBe(200);
      expect((await t.api('/v1/docpart/sync?wait=60', { method: 'POST' })).status).toBe(200);
      expect(buyerOrders.length).toBeGreaterThan(0);

      const expectAll = async () => {
        for (const s of ['Иванова', 'иванова', 'ИВАНОВА', 'иВАНОВА мария']) expect(await cards(t, s), s).toEqual(['C-1']);
        for (const s of ['Ёлкина', 'елкина', 'ЕЛКИНА', 'ЁЛКИНА']) expect(await cards(t, s), s).toEqual(['C-2']);
        expect(await cards(t, 'петр')).toEqual(['C-3']);
        for (const s of ['Ромашка', 'ромашка', 'РОМАШКА', 'ооо ромашка']) expect(await invoices(t, s), s).toEqual(['ЗК-0005']);
        expect(await invoices(t, 'василек')).toEqual(['ЗК-0006']);
        expect(await invoices(t, 'зк-0005')).toEqual(['ЗК-0005']);
        expect(await invoices(t, 'зк-')).toEqual(['ЗК-0005', 'ЗК-0006']);
        for (const s of ['Ёжикова', 'ежикова', 'ЕЖИКОВА', 'ёжикова алёна', 'Ежикова Алена Петровна']) expect(await orders(t, s), s).toEqual(buyerOrders);

        // The journal: 1C's request with the words in its body, and PayKeeper's calls, whose form
        // bodies carry them percent-encoded.
        await expect.poll(async () => (await journal(t, 'дубль')).length).toBe(2); // 1C's exchange is journaled as its answer ends
        const dubl = await journal(t, 'дубль');
        // Events: 1C's call, and the invoice's delivery to PayKeeper (its preview and send folded under it).
        expect(dubl.map((e) => `${e.system} ${e.direction} ${e.title}`).sort()).toEqual(['1c in Счета ← 1С', 'paykeeper out Счёт по заказу ЗК-0005 → PayKeeper']);
        expect(await journal(t, 'ДУБЛЬ')).toEqual(dubl);
        const zk = await journal(t, 'зк-0005');
        expect(zk.some((e) => e.system === '1c' && e.url.startsWith('/v1/invoices'))).toBe(true);
        expect(zk.some((e) => e.system === 'paykeeper')).toBe(true);
        expect(await journal(t, 'ЗК-0005')).toEqual(zk);
        expect(await journal(t, 'несуществующий')).toEqual([]);
      };
      await expectAll();
      // Whether the background indexing got to these rows or not, the answers are the same.
      while (t.core.journal.index.step(1000) > 0);
      await expectAll();
    } finally {
      await stop();
    }
  });

  it('rows written before the upgrade are found too (migration 8 backfills them)', async () => {
    const dataDir = tempDir();
    // A store as the previous version left it: schema 7, rows written without a search column.
    const db = new Database(join(dataDir, DB_FILE));
    db.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.slice(0, 7)) m(db);
    db.pragma('user_version = 7');
    const now = Date.now();
    db.prepare(`INSERT INTO cards (code, name, phone, extra, state, seq, changed_at, created_at, updated_at) VALUES ('OLD-1', 'Ёлкина Анна', '+79160000009', '{}', 'synced', 1, ?, ?, ?)`).run(now, now, now);
    db.prepare(`INSERT INTO invoices (order_id, amount, email, client_id, send, state, seq, changed_at, created_at, updated_at) VALUES ('ЗК-0005', '10.00', 'buh@romashka.ru', 'ООО Ромашка', 0, 'paid', 2, ?, ?, ?)`).run(now, now, now);
    const user = { userId: 7, regVariant: 1, regField: 'fedorova@example.ru', unlocked: true, activated: true, timeRegistered: null, timeLastVisit: null, fields: { surname: 'Фёдорова', name: 'Алёна' } };
    const order = { orderId: 501, time: 1_700_000_000, userId: 7, status: 1, paid: 0, amount: '100.00', obtainId: 1, obtainCaption: 'Самовывоз', officeId: 1, officeName: 'Склад', items: [] };
    db.prepare(`INSERT INTO docpart_users (user_id, doc, updated_at) VALUES (7, ?, ?)`).run(JSON.stringify(user), now);
    db.prepare(`INSERT INTO docpart_orders (order_id, time, user_id, doc, seq, changed_at, seen_at) VALUES (501, ?, 7, ?, 3, ?, ?)`).run(order.time, JSON.stringify(order), now, now);
    db.prepare(`INSERT INTO journal (at, direction, system, method, url, status, duration_ms, req_body, res_body, error, entity, size) VALUES (?, 'in', '1c', 'POST', '/v1/invoices/%D0%97%D0%9A-0005', 409, 1, ?, NULL, 'Дубль счёта', 'invoice:ЗК-0005', 300)`).run(now, '{"orderId":"ЗК-0005"}');
    db.close();

    const t = await startTestCore({ dataDir, modules: [passteamModule, paykeeperModule, docpartModule] });
    expect(await cards(t, 'елкина')).toEqual(['OLD-1']);
    expect(await invoices(t, 'ромашка')).toEqual(['ЗК-0005']);
    expect(await orders(t, 'федорова')).toEqual([501]);
    for (const s of ['дубль', 'зк-0005']) expect((await journal(t, s)).map((e) => e.url), s).toEqual(['/v1/invoices/%D0%97%D0%9A-0005']);
    while (t.core.journal.index.step(1000) > 0);
    for (const s of ['ДУБЛЬ', 'ЗК-0005']) expect((await journal(t, s)).map((e) => e.url), s).toEqual(['/v1/invoices/%D0%97%D0%9A-0005']);
  });
});
