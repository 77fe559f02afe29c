import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { createDispatcher, HttpClient } from '../../main/http/client.ts';
import { DocpartClient } from '../../main/connectors/docpart/client.ts';
import { docpartModuleWith } from '../../main/connectors/docpart/index.ts';
import { startFakeDocpart, type FakeDocpart, type FakeDocpartOptions } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { toOnecDateTime } from '../../main/listener/onec-values.ts';
import { openStore } from '../../main/store/index.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = 'dp-tech-key';
/**
 * The shop's data, the puller and the store (whose clock plans the pulls) share one pinned clock,
 * so the days a pull asks for and the ids in each request are the same at any hour and in any
 * zone. The last second of a Moscow day: a one-day seed then lies within that day (a day's orders
 * come in one get_orders).
 */
const NOW = Date.parse('2026-11-23T23:59:59+03:00');
const docpartModule = docpartModuleWith({ now: () => NOW });
const seed = (orders: number, seedNo: number, days?: number) => generateDocpartData({ orders, seed: seedNo, days, now: NOW });

async function setup(fakeOpts: Partial<FakeDocpartOptions> = {}, extra: { dataDir?: string; orders?: number; days?: number; everySeconds?: number } = {}) {
  const fake = await startFakeDocpart({ techKey: KEY, data: seed(extra.orders ?? 60, 7, extra.days), ...fakeOpts });
  const t = await core(fake, extra);
  return { fake, t };
}

function core(fake: FakeDocpart, extra: { dataDir?: string; everySeconds?: number } = {}): Promise<TestCore> {
  return startTestCore({
    dataDir: extra.dataDir,
    config: { docpart: { enabled: true, baseUrl: fake.url, techKey: KEY, everySeconds: extra.everySeconds ?? 3600 } },
    modules: [docpartModule],
    outbox: { now: () => NOW },
  });
}

const syncNow = async (t: TestCore) => {
  const r = await t.api('/v1/docpart/sync?wait=60', { method: 'POST' });
  return { status: r.status, body: (await r.json()) as any };
};
const feed = async (t: TestCore, since = '', limit = 1000) => (await (await t.api(`/v1/docpart/orders?since=${since}&limit=${limit}`)).json()) as any;
const tasks = (fake: FakeDocpart, task: string) => fake.requests().filter((r) => r.form.task === task);

async function until(ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 25))) if (Date.now() > end) throw new Error('condition not reached in time');
}

describe('Docpart orders against the fake Docpart', () => {
  it('a pull keeps orders with their lines and users; 1C reads them by cursor; a second pull with no change changes nothing', async () => {
    const { fake, t } = await setup();
    const first = await syncNow(t);
    expect(first.status).toBe(200);
    const data = fake.data();
    expect(first.body).toMatchObject({ orders: data.orders.length, changed: data.orders.length, payments: data.payments.length });
    const page = await feed(t);
    expect(page.orders).toHaveLength(data.orders.length);
    const guest = data.orders.find((o) => o.user_id === 0)!;
    const withUser = data.orders.find((o) => o.user_id !== 0)!;
    const got = (id: number) => page.orders.find((o: any) => o.orderId === id);
    expect(got(guest.order_id).user).toBeNull();
    const user = data.users.find((u) => u.user_id === withUser.user_id)!;
    expect(got(withUser.order_id).user).toMatchObject({ userId: user.user_id, regField: user.reg_field, fields: user.fields });
    // The amount is the shop's: cancelled lines excluded; money stays exact text.
    for (const o of data.orders.slice(0, 20)) {
      const lines = data.items.filter((i) => i.order_id === o.order_id);
      expect(got(o.order_id).items.map((i: any) => i.itemId)).toEqual(lines.map((l) => l.item_id).sort((a, b) => a - b));
      const cents = lines.filter((l) => l.count_flag === 1).reduce((a, l) => a + Math.round(Number(l.price) * 100) * l.count, 0);
      expect(got(o.order_id).amount).toBe((cents / 100).toFixed(2));
    }
    expect(got(withUser.order_id).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

    const second = await syncNow(t);
    expect(second.body).toMatchObject({ orders: data.orders.length, changed: 0, paymentsChanged: 0 });
    expect((await feed(t, page.next)).orders).toEqual([]);
    // changedSince, as the cards' and invoices' feeds call it, means the same; a foreign cursor or a bad limit is refused by name.
    const two = (await (await t.api('/v1/docpart/orders?changedSince=&limit=2')).json()) as any;
    expect(two.orders.map((o: any) => o.orderId)).toEqual(page.orders.slice(0, 2).map((o: any) => o.orderId));
    expect((await (await t.api(`/v1/docpart/orders?changedSince=${two.next}&limit=1 000`.replace(' ', '%20'))).json()) as any).toMatchObject({ orders: page.orders.slice(2) });
    expect((await (await t.api(`/v1/docpart/orders?changedSince=${page.next}`)).json()) as any).toMatchObject({ orders: [] });
    const refused = async (query: string) => {
      const r = await t.api(`/v1/docpart/orders?${query}`);
      return { status: r.status, ...(((await r.json()) as any).error as object) };
    };
    expect(await refused('changedSince=abc')).toMatchObject({ status: 400, code: 'invalid_cursor', field: 'changedSince' });
    expect(await refused('since=abc')).toMatchObject({ status: 400, code: 'invalid_cursor', field: 'since' });
    expect(await refused('limit=abc')).toMatchObject({ status: 422, field: 'limit', message: 'Поле «limit»: «abc» — не целое число' });
    expect(await refused('limit=5000')).toMatchObject({ status: 422, field: 'limit', message: 'Поле «limit»: должно быть от 1 до 1000 (получено 5000)' });
  });

  it('an installation whose time_to is inclusive: orders on a day boundary are counted and fed once', async () => {
    const { fake, t } = await setup({ timeToInclusive: true });
    const n = fake.data().orders.length;
    expect((await syncNow(t)).body).toMatchObject({ orders: n, changed: n });
    expect((await feed(t)).orders).toHaveLength(n);
  });

  it('a change made in the shop between two pulls appears once in the feed', async () => {
    const { fake, t } = await setup();
    await syncNow(t);
    const { next } = await feed(t);
    const [a, b] = fake.data().orders;
    const paid = a.paid === 1 ? 0 : 1;
    fake.updateOrder(a.order_id, { paid });
    const line = fake.data().items.find((i) => i.order_id === b.order_id)!;
    fake.updateItem(line.item_id, { count: line.count + 2 });
    expect((await syncNow(t)).body.changed).toBe(2);
    const changed = await feed(t, next);
    expect(changed.orders.map((o: any) => o.orderId).sort()).toEqual([a.order_id, b.order_id].sort());
    expect(changed.orders.find((o: any) => o.orderId === a.order_id).paid).toBe(paid);
    await syncNow(t);
    expect((await feed(t, changed.next)).orders).toEqual([]);
  });

  it('the cursor survives a restart of Sputnik: paging on after it misses nothing and repeats nothing', async () => {
    const dataDir = tempDir();
    const fake = await startFakeDocpart({ techKey: KEY, data: seed(50, 3) });
    let t = await core(fake, { dataDir });
    await syncNow(t);
    const page1 = await feed(t, '', 20);
    await t.core.stop(1000);
    t = await core(fake, { dataDir });
    const seen = page1.orders.map((o: any) => o.orderId);
    let next = page1.next;
    for (;;) {
      const p = await feed(t, next, 20);
      if (p.orders.length === 0) break;
      seen.push(...p.orders.map((o: any) => o.orderId));
      next = p.next;
    }
    expect(seen.sort((x: number, y: number) => x - y)).toEqual(fake.data().orders.map((o) => o.order_id).sort((x, y) => x - y));
    await fake.stop();
  });

  it('PHP max_input_vars cuts long id lists: the client notices, asks again in smaller pieces, and gets every line', async () => {
    const { fake, t } = await setup({ maxInputVars: 60 }, { orders: 300, days: 1 }); // one day: 300 orders in one get_orders
    const r = await syncNow(t);
    expect(r.status).toBe(200);
    const page = await feed(t);
    expect(page.orders).toHaveLength(300);
    const lines = page.orders.reduce((a: number, o: any) => a + o.items.length, 0);
    expect(lines).toBe(fake.data().items.length);
    // One day's 300 orders go as 200 + 100 ids; the cap keeps 59 of each (PHP counts task and
    // tech_key and keeps the variable that trips it), so the cut rest is asked again in halves:
    // 141 + 41 as 100 + 82, then the 64 still missing as 50 + 14, which pass whole.
    const sizes = tasks(fake, 'get_orders_items').map((q) => (q.rawBody.match(/order_id%5B%5D/g) ?? []).length);
    expect(sizes).toEqual([200, 100, 100, 82, 50, 14]);
  });

  it('one pull at a time: "sync now" during a pull joins it', async () => {
    const { fake, t } = await setup({ latencyMs: 100 });
    const [x, y] = await Promise.all([syncNow(t), syncNow(t)]);
    expect(x.body).toEqual(y.body);
    expect(tasks(fake, 'get_payments')).toHaveLength(1); // one pull (orders are asked a day at a time)
  });

  it('after downtime the overdue pull runs once, not once per missed interval', async () => {
    const dataDir = tempDir();
    const fake = await startFakeDocpart({ techKey: KEY, data: seed(10, 1) });
    const store = openStore(dataDir);
    const longAgo = NOW - 24 * 3600_000;
    store.meta.set('docpart_last_sync', JSON.stringify({ orders: 0, changed: 0, payments: 0, paymentsChanged: 0, users: 0, startedAt: longAgo, finishedAt: longAgo }));
    store.close();
    const t = await core(fake, { dataDir, everySeconds: 60 });
    const progress = async () => (await (await fetch(`${t.uiUrl}api/docpart/sync`, { headers: { authorization: `Bearer ${t.uiToken}` } })).json()) as any;
    // The catch-up pull has ended when its result is the last one and the next pull is planned.
    let p: any;
    await until(async () => ((p = await progress()), !p.running && p.nextAt !== null && p.last.finishedAt === toOnecDateTime(NOW)));
    expect(tasks(fake, 'get_payments')).toHaveLength(1);
    expect(p.nextAt).toBe(toOnecDateTime(NOW + 60_000)); // a whole interval after it, not the missed ones at once
    await fake.stop();
  });

  it('Docpart down: the pull fails with the reason on the connector health; the next pull recovers', async () => {
    const { fake, t } = await setup();
    fake.setDown(true);
    const r = await syncNow(t);
    expect(r.status).toBe(502);
    expect(r.body.error.message).toMatch(/docpart|Docpart|соедин|связи/i);
    expect(t.core.health().connectors!.docpart.state).toBe('failing');
    const progress = (await (await fetch(`${t.uiUrl}api/docpart/sync`, { headers: { authorization: `Bearer ${t.uiToken}` } })).json()) as any;
    expect(progress.lastError.message).toBeTruthy();
    fake.setDown(false);
    expect((await syncNow(t)).status).toBe(200);
    expect(t.core.health().connectors!.docpart.state).toBe('ok');
  });

  it('a scheduled pull that fails backs off on the outbox and the health says failing; the probe that succeeds makes it ok and plans the next pull', async () => {
    let clock = NOW;
    const fake = await startFakeDocpart({ techKey: KEY, data: seed(10, 1) });
    fake.setDown(true);
    const t = await startTestCore({
      config: { docpart: { enabled: true, baseUrl: fake.url, techKey: KEY, everySeconds: 3600 } },
      modules: [docpartModule],
      outbox: { now: () => clock },
    });
    const outbox = t.core.store.outbox;
    // No pull was ever made: the schedule starts one at once, and it fails.
    await until(() => outbox.connectorStatus('docpart').state === 'failing');
    const health = t.core.health().connectors!.docpart;
    expect(health.state).toBe('failing');
    expect(health.lastError!.message).toMatch(/docpart|Docpart|соедин|связи/i);
    const job = outbox.latestForKey('docpart:pull', 0)!;
    expect(job).toMatchObject({ state: 'queued', attempts: 1 });
    // The outbox's first backoff (0.5–1 s), and one probe at a time for the connector.
    expect(job.nextRunAt - NOW).toBeGreaterThanOrEqual(500);
    expect(job.nextRunAt - NOW).toBeLessThanOrEqual(1000);
    const probeAt = outbox.connectorStatus('docpart').nextProbeAt!;
    const progress = async () => (await (await fetch(`${t.uiUrl}api/docpart/sync`, { headers: { authorization: `Bearer ${t.uiToken}` } })).json()) as any;
    expect((await progress()).nextAt).toBe(toOnecDateTime(probeAt));

    fake.setDown(false);
    clock = probeAt;
    await until(() => outbox.connectorStatus('docpart').state === 'ok' && outbox.latestForKey('docpart:pull', 0)!.state === 'queued');
    expect(t.core.health().connectors!.docpart).toMatchObject({ state: 'ok', lastError: null });
    expect(outbox.latestForKey('docpart:pull', 0)).toMatchObject({ attempts: 0, nextRunAt: probeAt + 3600_000 });
    expect(tasks(fake, 'get_payments')).toHaveLength(1);
    expect(t.core.health().queue).toMatchObject({ depth: 0 });
    await fake.stop();
  });

  it('a PHP error page is reported as a failure of the site in staff words (its text stays in the journal); a wrong key says so', async () => {
    const { fake, t } = await setup();
    fake.failNext(1, 'html200');
    const r = await syncNow(t);
    expect(r.status).toBe(502);
    expect(r.body.error.message).toMatch(/^Сайт Docpart ответил на запрос заказов страницей ошибки PHP вместо данных: .*сообщите его администратору/);
    expect(r.body.error.message).not.toMatch(/var\/www|Fatal|<b>/);
    const wrong = await startFakeDocpart({ techKey: 'other', data: seed(1, 1) });
    const t2 = await core(wrong);
    const w = await syncNow(t2);
    expect(w.body.error.message).toMatch(/технический ключ/);
    await wrong.stop();
  });

  it('articles: cached for a day; an empty answer means "unknown article"; a failing cross server serves the stale answer', async () => {
    const { fake, t } = await setup();
    const [article] = Object.keys(fake.data().articles);
    const a = (await (await t.api(`/v1/docpart/articles/${encodeURIComponent(article)}`)).json()) as any;
    expect(a.items.length).toBeGreaterThan(0);
    await t.api(`/v1/docpart/articles/${encodeURIComponent(article)}`);
    expect(tasks(fake, 'get_article_info')).toHaveLength(1);
    const unknown = (await (await t.api('/v1/docpart/articles/NO-SUCH-ART')).json()) as any;
    expect(unknown.items).toEqual([]);
    t.core.store.sql.run(`UPDATE docpart_articles SET fetched_at = 0`);
    fake.setDown(true);
    const stale = (await (await t.api(`/v1/docpart/articles/${encodeURIComponent(article)}`)).json()) as any;
    expect(stale).toMatchObject({ stale: true, items: a.items });
  });
});

describe('the client survives every shape the module may answer in', () => {
  const combos: Array<Partial<FakeDocpartOptions>> = [];
  for (const numbersAsStrings of [true, false])
    for (const timeFormat of ['unix', 'formatted'] as const)
      for (const okMessage of ['cyrillic', 'latin'] as const)
        for (const dataKey of ['data', 'Data'] as const)
          for (const statusShape of ['boolean', 'number', 'string'] as const)
            for (const preamble of ['', 'bom', 'notice'] as const) combos.push({ numbersAsStrings, timeFormat, okMessage, dataKey, statusShape, preamble });

  it(`all ${combos.length} combinations read the same orders, lines, users and payments`, { timeout: 60_000 }, async () => {
    const data = seed(12, 11);
    const read = async (opts: Partial<FakeDocpartOptions>) => {
      const fake = await startFakeDocpart({ techKey: KEY, data, ...opts });
      try {
        const { config } = parseConfig({ docpart: { enabled: true, baseUrl: fake.url, techKey: KEY } }, {});
        const client = new DocpartClient(new HttpClient(createDispatcher(config.http)), () => config.docpart);
        const from = NOW - 30 * 86_400_000;
        const orders = await client.orders(from);
        const items = await client.items(orders.map((o) => o.orderId));
        const users = await client.users([...new Set(orders.map((o) => o.userId).filter(Boolean))]);
        const payments = await client.payments(from);
        return JSON.stringify({ orders, items: [...items], users: [...users].sort((a, b) => a[0] - b[0]), payments });
      } finally {
        await fake.stop();
      }
    };
    const baseline = await read({});
    expect(JSON.parse(baseline).orders).toHaveLength(12);
    const differing: string[] = [];
    for (const c of combos) if ((await read(c)) !== baseline) differing.push(JSON.stringify(c));
    expect(differing).toEqual([]);
  });
});
