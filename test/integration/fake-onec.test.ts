import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import {
  APACHE_401_HTML,
  APACHE_404_HTML,
  APACHE_502_HTML,
  APACHE_503_HTML,
  EMPTY_DATE_1C,
  EMPTY_REF,
  MAX_LIMIT,
  NBSP,
  TEXT_FORBIDDEN,
  TEXT_NO_LICENCE,
  TEXT_POOL_TIMEOUT,
  TEXT_SESSION_PROHIBITED,
  XML_406_SESSION_TIMEOUT,
  sloppyMoney,
  sloppyQty,
  startFake1C,
  writeJson1C,
  type Fake1C,
  type Fake1COptions,
} from '../../main/sandbox/onec/fake.ts';
import { generateCompany, isValidEan13, isValidInn, priceFor, type Company } from '../../main/sandbox/onec/seed.ts';
import { until } from '../helpers/until.ts';

/**
 * Tests of the fake 1C ReGate HTTP service itself, over real sockets. Test names say "assumed"
 * where the real 1C/Apache behaviour is not confirmed (see shared/reference/regate.md §7).
 */

// One small company shared by the tests (the fake mutates it, so each fake gets a fresh copy).
const BASE_COMPANY = generateCompany({ seed: 7, items: 400 });
const freshCompany = (): Company => structuredClone(BASE_COMPANY);

let fakes: Fake1C[] = [];
let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.destroy()));
  agents = [];
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function start(opts: Fake1COptions = {}): Promise<Fake1C> {
  const f = await startFake1C({ company: freshCompany(), latencyScale: 0, ...opts });
  fakes.push(f);
  return f;
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  text: string;
  json: () => any;
}

async function call(
  f: Fake1C,
  method: string,
  path: string,
  o: { body?: unknown; headers?: Record<string, string>; auth?: string | null; signal?: AbortSignal; dispatcher?: Agent; base?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth !== null) headers.authorization = o.auth ?? f.authorization;
  if (o.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  const res = await request((o.base ?? f.baseUrl) + path, {
    method: method as 'GET',
    headers,
    body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
    signal: o.signal,
    dispatcher: o.dispatcher,
  });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  return { status: res.statusCode, headers: res.headers, raw, text, json: () => JSON.parse(text.replace(/^\ufeff/, '')) };
}

const firstStore = (f: Fake1C) => f.company().stores[0];
/** An item the store carries with enough stock (or unlimited) for `qty`. */
function stockedItem(f: Fake1C, storeId: string, opts: { unlimited?: boolean; unit?: 'pcs' | 'kg' | 'l' } = {}) {
  const c = f.company();
  const rows = c.stock[storeId];
  const item = c.items.find((it) => {
    const st = rows[it.id];
    if (!st) return false;
    if (opts.unit && it.unit.code !== opts.unit) return false;
    return opts.unlimited ? st.qty === null : st.qty !== null && st.qty >= it.minQty * 3;
  });
  if (!item) throw new Error('no such item in the seed');
  return item;
}
function bookingBody(f: Fake1C, over: Record<string, unknown> = {}) {
  const store = firstStore(f);
  const item = stockedItem(f, store.id, { unit: 'pcs' });
  return {
    richestOrderId: `R-T-${Math.random().toString(36).slice(2)}`,
    client: { externalId: f.company().clients[0].externalId },
    storeId: store.id,
    delivery: { address: 'г. Казань, ул. Баумана, д. 1', comment: 'Домофон 12', from: '10:00', to: '14:00' },
    lines: [{ itemId: item.id, qty: item.minQty, price: priceFor(item, item.minQty) }],
    comment: 'Тест',
    ...over,
  };
}

describe('fake 1C: routes and shapes', () => {
  it('the sandbox fake keeps only about its latest requests (keepRequests); by default every one', async () => {
    const all = await start();
    const few = await start({ keepRequests: 3 });
    for (let i = 0; i < 12; i++) for (const f of [all, few]) await call(f, 'GET', `/cities?n=${i}`);
    expect(all.requests()).toHaveLength(12);
    const kept = few.requests().map((r) => r.path);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(6);
    expect(kept.at(-1)).toBe(`${few.basePath}/cities?n=11`);
  });

  it('GET /state: platform, configuration УТ 11.5, organisation with ИНН/КПП/address', async () => {
    const f = await start();
    const r = await call(f, 'GET', '/state');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const s = r.json();
    expect(s.platformVersion).toMatch(/^8\.3\.\d+\.\d+$/);
    expect(s.configuration).toMatchObject({ name: 'УправлениеТорговлей', version: expect.stringMatching(/^11\.5\./) });
    expect(isValidInn(s.organization.inn)).toBe(true);
    expect(s.organization.kpp).toMatch(/^\d{9}$/);
    expect(s.organization.address).toContain('г. ');
    expect(s.serverTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/);
  });

  it('GET /cities, /cities/{id}/stores (404 unknown city), /stores/{id}/groups with a 2–3 level tree', async () => {
    const f = await start();
    const cities = (await call(f, 'GET', '/cities')).json().items;
    expect(cities.length).toBeGreaterThanOrEqual(4);
    expect(cities[0]).toEqual({ id: expect.any(String), name: expect.any(String), region: expect.any(String), storeCount: expect.any(Number) });
    const stores = (await call(f, 'GET', `/cities/${cities[0].id}/stores`)).json().items;
    expect(stores).toHaveLength(cities[0].storeCount);
    expect(stores[0]).toEqual({ id: expect.any(String), code: expect.stringMatching(/^\d{9}$/), name: expect.any(String), address: expect.any(String), phone: expect.stringMatching(/^\+7 /), type: expect.any(String) });
    const missing = await call(f, 'GET', '/cities/00000000-0000-0000-0000-000000000001/stores');
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'CITY_NOT_FOUND' });
    const groups = (await call(f, 'GET', `/stores/${stores[0].id}/groups`)).json().items;
    expect(groups[0]).toEqual({ id: expect.any(String), parentId: null, name: expect.any(String), level: 1, itemCount: expect.any(Number) });
    expect(Math.max(...groups.map((g: any) => g.level))).toBe(3);
    const roots = groups.filter((g: any) => g.parentId === null);
    const carried = Object.keys(f.company().stock[stores[0].id]).length;
    expect(roots.reduce((s: number, g: any) => s + g.itemCount, 0)).toBe(carried);
  });

  it('GET assortment: Item shape, paging ≤ 500 with nextCursor to the end, groupId, updatedSince, limit > 500 → 400, ETag/304', async () => {
    const f = await start();
    const store = firstStore(f);
    const first = await call(f, 'GET', `/stores/${store.id}/assortment?limit=2`);
    expect(first.status).toBe(200);
    const page = first.json();
    expect(page.stockAsOf).toMatch(/\+03:00$/);
    expect(page.items).toHaveLength(2);
    expect(typeof page.nextCursor).toBe('string');
    const item = page.items[0];
    expect(Object.keys(item)).toEqual(
      expect.arrayContaining(['id', 'sku', 'name', 'fullName', 'countryOfOrigin', 'brand', 'barcodes', 'shortDescription', 'description', 'images', 'unit', 'portion', 'minQty', 'qtyStep', 'stock', 'prices', 'updatedAt']),
    );
    expect(item.images[0]).toEqual({ url: expect.stringMatching(/^https:\/\//), main: true });
    expect(['kg', 'l', 'pcs']).toContain(item.unit.code);
    expect(item.prices.map((p: any) => p.fromQty)[0]).toBe(0);
    expect(item.prices).toHaveLength(3);
    expect(item.prices[1].price).toBeLessThan(item.prices[0].price);
    for (const b of item.barcodes) expect(isValidEan13(b)).toBe(true);

    // Walk every page at the maximum limit.
    const all: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(f, 'GET', `/stores/${store.id}/assortment?limit=${MAX_LIMIT}${cursor ? `&cursor=${cursor}` : ''}`);
      const p = r.json();
      expect(p.items.length).toBeLessThanOrEqual(MAX_LIMIT);
      all.push(...p.items);
      cursor = p.nextCursor;
      pages++;
    } while (cursor);
    expect(all).toHaveLength(Object.keys(f.company().stock[store.id]).length);
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length);
    const unlimited = all.filter((i) => i.stock.unlimited);
    expect(unlimited.length).toBeGreaterThan(0);
    expect(unlimited[0].stock).toEqual({ qty: null, unlimited: true, label: 'без ограничения' });

    expect((await call(f, 'GET', `/stores/${store.id}/assortment?limit=501`)).status).toBe(400);
    expect((await call(f, 'GET', `/stores/nope/assortment`)).status).toBe(404);

    const group = f.company().groups.find((g) => g.level === 1)!;
    const inGroup = (await call(f, 'GET', `/stores/${store.id}/assortment?limit=500&groupId=${group.id}`)).json().items;
    const groups = (await call(f, 'GET', `/stores/${store.id}/groups`)).json().items;
    expect(inGroup.length).toBe(groups.find((g: any) => g.id === group.id).itemCount);

    // updatedSince: only what changed after; a stock change brings the item back.
    const since = new Date(f.now() + 1000).toISOString();
    f.advanceClock(60_000);
    expect((await call(f, 'GET', `/stores/${store.id}/assortment?updatedSince=${since}`)).json().items).toHaveLength(0);
    f.setStock(store.id, item.id, 5);
    const delta = (await call(f, 'GET', `/stores/${store.id}/assortment?updatedSince=${since}`)).json();
    expect(delta.items.map((i: any) => i.id)).toEqual([item.id]);
    expect(delta.nextCursor).toBeNull();

    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await call(f, 'GET', `/stores/${store.id}/assortment?limit=2`, { headers: { 'if-none-match': etag } });
    // The first item's stock changed since, so the page changed.
    expect(again.status).toBe(200);
    const etag2 = again.headers.etag as string;
    const notModified = await call(f, 'GET', `/stores/${store.id}/assortment?limit=2`, { headers: { 'if-none-match': etag2 } });
    expect(notModified.status).toBe(304);
    expect(notModified.raw.length).toBe(0);
  });

  it('clients: GET found/404, PUT ensure (200 found without overwrite, 201 created), PATCH 200/404', async () => {
    const f = await start();
    const known = f.company().clients[0];
    const got = await call(f, 'GET', `/clients/${known.externalId}`);
    expect(got.json()).toMatchObject({ found: true, client: { externalId: known.externalId, name: known.name }, balance: { currency: 'RUB' } });
    expect((await call(f, 'GET', '/clients/rs-none')).status).toBe(404);

    const found = await call(f, 'PUT', `/clients/${known.externalId}`, { body: { name: 'Другое имя' } });
    expect(found.status).toBe(200);
    expect(found.json()).toMatchObject({ found: true, client: { name: known.name } });

    const created = await call(f, 'PUT', '/clients/rs-new-1', { body: { name: 'ООО «Новый»', type: 'company', inn: '1655000000', phone: '+7 900 000-00-00' } });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ created: true, client: { externalId: 'rs-new-1', name: 'ООО «Новый»', inn: '1655000000' }, balance: { debt: 0, advance: 0 } });
    expect((await call(f, 'PUT', '/clients/rs-new-2', { body: {} })).status).toBe(422);

    const patched = await call(f, 'PATCH', '/clients/rs-new-1', { body: { email: 'new@example.ru' } });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ updated: true, client: { email: 'new@example.ru', name: 'ООО «Новый»' } });
    expect((await call(f, 'PATCH', '/clients/rs-none', { body: { email: 'x@y.ru' } })).status).toBe(404);
    expect((await call(f, 'DELETE', '/clients/rs-new-1')).status).toBe(405);
  });

  it('POST /orders: 201 with recomputed prices and reserved stock; GET by id and by external id', async () => {
    const f = await start();
    const body = bookingBody(f);
    const item = f.company().items.find((i) => i.id === body.lines[0].itemId)!;
    const before = f.company().stock[body.storeId][item.id].qty!;
    const r = await call(f, 'POST', '/orders', { body });
    expect(r.status).toBe(201);
    const o = r.json();
    expect(o).toMatchObject({ orderId: expect.any(String), number: expect.stringMatching(/^ТД00-\d{6}$/), currency: 'RUB', orderStatus: 0, paymentCode: 0 });
    expect(o.lines).toEqual([{ itemId: item.id, qty: item.minQty, price: priceFor(item, item.minQty), sum: expect.any(Number) }]);
    expect(o.sum).toBe(o.lines[0].sum);
    expect(f.company().stock[body.storeId][item.id].qty).toBeCloseTo(before - item.minQty, 6);

    const state = (await call(f, 'GET', `/orders/${o.orderId}`)).json();
    expect(state).toMatchObject({ orderId: o.orderId, number: o.number, orderStatus: 0, paymentCode: 0, paidAmount: 0, sum: o.sum, paidAt: null });
    const byExt = (await call(f, 'GET', `/orders/by-external/${body.richestOrderId}`)).json();
    expect(byExt.orderId).toBe(o.orderId);
    expect((await call(f, 'GET', '/orders/by-external/R-none')).status).toBe(404);
    expect((await call(f, 'GET', '/orders/nope')).status).toBe(404);
  });

  it('POST /orders: quantity breaks apply from X1; stale client price → 422 listing the differences; bad qty / stock → 422', async () => {
    const f = await start();
    const store = firstStore(f);
    const item = stockedItem(f, store.id, { unlimited: true });
    const x1 = item.prices[1].fromQty;
    const q = Math.ceil(x1 / item.qtyStep) * item.qtyStep;
    const ok = await call(f, 'POST', '/orders', { body: bookingBody(f, { lines: [{ itemId: item.id, qty: q }] }) });
    expect(ok.status).toBe(201);
    expect(ok.json().lines[0].price).toBe(priceFor(item, q));
    expect(priceFor(item, q)).toBeLessThan(item.prices[0].price);

    const stale = await call(f, 'POST', '/orders', { body: bookingBody(f, { lines: [{ itemId: item.id, qty: q, price: item.prices[0].price }] }) });
    expect(stale.status).toBe(422);
    expect(stale.json()).toMatchObject({ code: 'PRICE_MISMATCH', details: [{ itemId: item.id, clientPrice: item.prices[0].price, price: priceFor(item, q) }] });

    const limited = stockedItem(f, store.id, { unit: 'pcs' });
    const tooMuch = f.company().stock[store.id][limited.id].qty! + limited.qtyStep * 1000;
    const short = await call(f, 'POST', '/orders', { body: bookingBody(f, { lines: [{ itemId: limited.id, qty: tooMuch }] }) });
    expect(short.status).toBe(422);
    expect(short.json().details[0]).toMatchObject({ problem: 'INSUFFICIENT_STOCK' });
    const frac = await call(f, 'POST', '/orders', { body: bookingBody(f, { lines: [{ itemId: limited.id, qty: limited.qtyStep / 2 }] }) });
    expect(frac.json().details[0]).toMatchObject({ problem: 'BAD_QTY' });
    expect((await call(f, 'POST', '/orders', { body: bookingBody(f, { client: { externalId: 'rs-none' } }) })).status).toBe(404);
    expect((await call(f, 'POST', '/orders', { body: '{"lines": [' })).status).toBe(400);
    expect(f.orders().length).toBe(BASE_COMPANY.orders.length + 1);
  });

  it('payments: amount ≠ sum → 422, then 200 status 1, again → 409; refunds: not paid → 409, paid → 202, posted → 7', async () => {
    const f = await start();
    const o = (await call(f, 'POST', '/orders', { body: bookingBody(f) })).json();
    const notPaid = await call(f, 'POST', `/orders/${o.orderId}/refunds`, { body: { reason: 'Отказ' } });
    expect(notPaid.status).toBe(409);
    expect(notPaid.json().code).toBe('NOT_PAID');

    for (const method of ['constructor', 'toString', '__proto__']) {
      const odd = await call(f, 'POST', `/orders/${o.orderId}/payments`, { body: { method, amount: o.sum } });
      expect(odd.status).toBe(422); // a prototype member is no payment method
      expect(odd.json().code).toBe('BAD_METHOD');
    }
    const wrong = await call(f, 'POST', `/orders/${o.orderId}/payments`, { body: { method: 'card', amount: o.sum + 1 } });
    expect(wrong.status).toBe(422);
    expect(wrong.json().code).toBe('AMOUNT_MISMATCH');
    const paid = await call(f, 'POST', `/orders/${o.orderId}/payments`, { body: { method: 'card', amount: o.sum, provider: 'PayKeeper', transactionId: '123', paidAt: '2025-06-02T12:00:00+03:00' } });
    expect(paid.status).toBe(200);
    expect(paid.json()).toMatchObject({ orderStatus: 1, paymentCode: 1, paidAmount: o.sum });
    const twice = await call(f, 'POST', `/orders/${o.orderId}/payments`, { body: { method: 'card', amount: o.sum } });
    expect(twice.status).toBe(409);
    expect(twice.json().code).toBe('ALREADY_PAID');
    expect((await call(f, 'GET', `/orders/${o.orderId}`)).json()).toMatchObject({ orderStatus: 1, paidAmount: o.sum, paidAt: '2025-06-02T12:00:00+03:00' });

    const refund = await call(f, 'POST', `/orders/${o.orderId}/refunds`, { body: { reason: 'Отказ' } });
    expect(refund.status).toBe(202);
    expect(refund.json()).toMatchObject({ refundId: expect.any(String), state: 'prepared', amount: o.sum, orderStatus: 1 });
    expect((await call(f, 'POST', `/orders/${o.orderId}/refunds`, { body: {} })).status).toBe(409);
    f.postRefund(refund.json().refundId);
    expect((await call(f, 'GET', `/orders/${o.orderId}`)).json().orderStatus).toBe(7);

    const o2 = (await call(f, 'POST', '/orders', { body: bookingBody(f) })).json();
    expect(f.payByBank(o2.orderId)).toMatchObject({ orderStatus: 2, paymentCode: 2 });
    f.setOrderStatus((await call(f, 'POST', '/orders', { body: bookingBody(f) })).json().orderId, 6);
    const annulled = f.orders().at(-1)!;
    expect((await call(f, 'POST', `/orders/${annulled.id}/payments`, { body: { amount: annulled.sum } })).json().code).toBe('ORDER_CLOSED');
  });

  it('wrong or missing Basic credentials → 401 Apache HTML with WWW-Authenticate (assumed page and realm)', async () => {
    const f = await start();
    for (const auth of [null, `Basic ${Buffer.from('regate:wrong').toString('base64')}`]) {
      const r = await call(f, 'GET', '/state', { auth });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.text).toBe(APACHE_401_HTML);
    }
  });
});

describe('fake 1C: session pool', () => {
  // Calls that must be at the fake together are held there (hold()) until the test has seen them
  // arrive, rather than raced against a latency; pool timeouts that must not fire are longer than
  // the test's own timeout.
  it('50 concurrent calls: all answered, maxInFlight never above poolSize, all 50 seen at the door', async () => {
    const f = await start({ poolSize: 4, fixedLatencyMs: 30, poolTimeoutMs: 60_000 });
    const release = f.hold();
    const pending = Promise.all(Array.from({ length: 50 }, () => call(f, 'GET', '/cities')));
    await until(() => f.stats().requests === 50, 'all 50 calls at the door');
    expect(f.stats()).toMatchObject({ maxInFlight: 4, maxConcurrent: 50 });
    release();
    const results = await pending;
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(f.maxInFlight()).toBe(4);
    expect(f.stats()).toMatchObject({ maxInFlight: 4, maxConcurrent: 50, overflows: 0, requests: 50 });
    expect(f.stats().sessionsStarted).toBeLessThanOrEqual(4);
    expect(f.sessions()).toBeLessThanOrEqual(4);
  });

  /** One call holds the only session until `release()`; the next one overflows after poolTimeout. */
  const overflowCase = async (overflow: Fake1COptions['overflow']) => {
    const f = await start({ poolSize: 1, poolTimeoutMs: 40, overflow });
    const release = f.hold();
    const slow = call(f, 'GET', '/state');
    await until(() => f.stats().maxInFlight === 1, 'the first call holding the session');
    return { f, slow, release };
  };

  it('overflow 406-xml (assumed): 406 + XML «Истекло время ожидания сеанса» after poolTimeout', async () => {
    const { f, slow, release } = await overflowCase('406-xml');
    const r = await call(f, 'GET', '/state');
    expect(r.status).toBe(406);
    expect(r.headers['content-type']).toMatch(/xml/);
    expect(r.text).toBe(XML_406_SESSION_TIMEOUT);
    release();
    expect((await slow).status).toBe(200);
    expect(f.stats().overflows).toBe(1);
  });

  it('overflow 500-text and 503 (assumed)', async () => {
    const a = await overflowCase('500-text');
    const r1 = await call(a.f, 'GET', '/state');
    expect(r1.status).toBe(500);
    expect(r1.text).toBe(TEXT_POOL_TIMEOUT);
    a.release();
    await a.slow;
    const b = await overflowCase('503');
    const r2 = await call(b.f, 'GET', '/state');
    expect(r2.status).toBe(503);
    expect(r2.text).toBe(APACHE_503_HTML);
    b.release();
    await b.slow;
  });

  it('overflow hang (assumed): never answered until the client gives up', async () => {
    const { f, slow, release } = await overflowCase('hang');
    await expect(call(f, 'GET', '/state', { signal: AbortSignal.timeout(400) })).rejects.toThrow();
    release();
    expect((await slow).status).toBe(200);
    expect(f.stats().overflows).toBe(1);
  });

  it('a waiting call gets the session when one frees up within poolTimeout', async () => {
    const f = await start({ poolSize: 1, fixedLatencyMs: 50, poolTimeoutMs: 60_000 });
    const release = f.hold();
    const both = Promise.all([call(f, 'GET', '/state'), call(f, 'GET', '/state')]);
    await until(() => f.stats().requests === 2, 'both calls at the door');
    release();
    const [a, b] = await both;
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(f.stats()).toMatchObject({ maxInFlight: 1, maxConcurrent: 2, sessionsStarted: 1, sessionsReused: 1 });
  });

  it('session start cost: reuse starts one session; dontuse starts one per call and is slower; idle sessions die after sessionMaxAge', async () => {
    const reuse = await start({ sessionStartMs: 40, latencyScale: 1, fixedLatencyMs: 0 });
    for (let i = 0; i < 6; i++) expect((await call(reuse, 'GET', '/state')).status).toBe(200);
    expect(reuse.stats()).toMatchObject({ sessionsStarted: 1, sessionsReused: 5 });

    const dontuse = await start({ sessionStartMs: 40, latencyScale: 1, fixedLatencyMs: 0, reuseSessions: false });
    const t = performance.now();
    for (let i = 0; i < 6; i++) expect((await call(dontuse, 'GET', '/state')).status).toBe(200);
    const dontuseMs = performance.now() - t;
    expect(dontuse.stats()).toMatchObject({ sessionsStarted: 6, sessionsReused: 0 });
    // Slower by what it costs, not by a race with the reused run: every call waited for its own
    // start (a timer fires up to 1 ms early against performance.now()).
    expect(dontuseMs).toBeGreaterThanOrEqual(6 * 39);

    reuse.advanceClock(21_000);
    await call(reuse, 'GET', '/state');
    expect(reuse.stats().sessionsStarted).toBe(2);
  });
});

describe('fake 1C: writes — request-id register and locks', () => {
  it('register on (default): a retried POST /orders with the same X-ReGate-Request-Id returns the first result and creates nothing', async () => {
    const f = await start();
    const body = bookingBody(f);
    const headers = { 'x-regate-request-id': 'idem-1' };
    const first = await call(f, 'POST', '/orders', { body, headers });
    const second = await call(f, 'POST', '/orders', { body, headers });
    expect(second.status).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['x-regate-replayed']).toBe('true');
    expect(f.orders().filter((o) => o.richestOrderId === body.richestOrderId)).toHaveLength(1);
    expect(f.stats().replays).toBe(1);

    // The answer was lost (processed, then reset): the retry still creates nothing.
    const body2 = bookingBody(f);
    f.failNext(1, 'processed-then-reset');
    await expect(call(f, 'POST', '/orders', { body: body2, headers: { 'x-regate-request-id': 'idem-2' } })).rejects.toThrow();
    const retry = await call(f, 'POST', '/orders', { body: body2, headers: { 'x-regate-request-id': 'idem-2' } });
    expect(retry.status).toBe(201);
    expect(f.orders().filter((o) => o.richestOrderId === body2.richestOrderId)).toHaveLength(1);

    // Concurrent duplicates: the second waits for the first and replays it.
    const body3 = bookingBody(f);
    const release = f.hold();
    const both = Promise.all([
      call(f, 'POST', '/orders', { body: body3, headers: { 'x-regate-request-id': 'idem-3' } }),
      call(f, 'POST', '/orders', { body: body3, headers: { 'x-regate-request-id': 'idem-3' } }),
    ]);
    // Both have a session: one is held inside its write, the other waits on the register for it.
    await until(() => f.stats().maxInFlight === 2, 'both duplicates in a session');
    release();
    const [x, y] = await both;
    expect(x.json().orderId).toBe(y.json().orderId);
    expect(f.orders().filter((o) => o.richestOrderId === body3.richestOrderId)).toHaveLength(1);
    expect(f.stats().replays).toBe(3);

    // A failed write is rolled back and not registered: the retry runs again.
    const stale = bookingBody(f);
    (stale.lines[0] as { price: number }).price += 1;
    expect((await call(f, 'POST', '/orders', { body: stale, headers: { 'x-regate-request-id': 'idem-4' } })).status).toBe(422);
    delete (stale.lines[0] as { price?: number }).price;
    expect((await call(f, 'POST', '/orders', { body: stale, headers: { 'x-regate-request-id': 'idem-4' } })).status).toBe(201);
  });

  it('register off: the retried POST /orders creates a duplicate (§7 point 12)', async () => {
    const f = await start({ requestIdRegister: false });
    const body = bookingBody(f);
    const headers = { 'x-regate-request-id': 'idem-1' };
    const a = (await call(f, 'POST', '/orders', { body, headers })).json();
    const b = (await call(f, 'POST', '/orders', { body, headers })).json();
    expect(a.orderId).not.toBe(b.orderId);
    expect(f.orders().filter((o) => o.richestOrderId === body.richestOrderId)).toHaveLength(2);
    expect(f.stats().replays).toBe(0);
  });

  it('lockConflicts: parallel writes to the same client → one 500 text with «блокировк»; without it they queue', async () => {
    const f = await start({ lockConflicts: true, fixedLatencyMs: 150 });
    const ext = f.company().clients[0].externalId;
    const release = f.hold(); // the first write keeps its lock until the second has conflicted
    const both = Promise.all([
      call(f, 'PATCH', `/clients/${ext}`, { body: { email: 'a@example.ru' } }),
      call(f, 'PATCH', `/clients/${ext}`, { body: { email: 'b@example.ru' } }),
    ]);
    await until(() => f.stats().lockConflicts === 1, 'the second write refused at the lock');
    release();
    const [a, b] = await both;
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 500]);
    const conflict = a.status === 500 ? a : b;
    expect(conflict.headers['content-type']).toMatch(/^text\/plain/);
    expect(conflict.text).toContain('блокировк');
    expect(conflict.text).toMatch(/^\{ОбщийМодуль\.ReGate\.Модуль\(\d+\)\}: /);
    expect(f.stats().lockConflicts).toBe(1);
    // Other clients do not conflict.
    const other = f.company().clients[1].externalId;
    const [c, d] = await Promise.all([
      call(f, 'PATCH', `/clients/${ext}`, { body: { email: 'c@example.ru' } }),
      call(f, 'PATCH', `/clients/${other}`, { body: { email: 'd@example.ru' } }),
    ]);
    expect([c.status, d.status]).toEqual([200, 200]);

    f.configure({ lockConflicts: false });
    const t = performance.now();
    const [e, g] = await Promise.all([
      call(f, 'PATCH', `/clients/${ext}`, { body: { email: 'e@example.ru' } }),
      call(f, 'PATCH', `/clients/${ext}`, { body: { email: 'g@example.ru' } }),
    ]);
    expect([e.status, g.status]).toEqual([200, 200]);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290); // serialised: two transactions of 150 ms
  });
});

describe('fake 1C: publication, encodings, sloppy values', () => {
  it('publication 404 (extension not published): Apache 404 HTML; paths outside the base too', async () => {
    const f = await start({ publication: '404' });
    const r = await call(f, 'GET', '/state');
    expect(r.status).toBe(404);
    expect(r.text).toBe(APACHE_404_HTML);
    f.configure({ publication: 'ok' });
    expect((await call(f, 'GET', '/state')).status).toBe(200);
    expect((await call(f, 'GET', '/other/hs/regate/v1/state', { base: f.url })).status).toBe(404);
  });

  it('publication 403 (technical user lacks the role, assumed text)', async () => {
    const f = await start({ publication: '403' });
    const r = await call(f, 'GET', '/state');
    expect(r.status).toBe(403);
    expect(r.text).toBe(TEXT_FORBIDDEN);
  });

  it('publication redirect: wrong-case base → 301 to the real name; POST followed as GET → 405', async () => {
    const f = await start({ publication: 'redirect' });
    const r = await call(f, 'POST', '/orders', { body: bookingBody(f) });
    expect(r.status).toBe(301);
    const location = r.headers.location as string;
    expect(location).toBe('/Base/hs/regate/v1/orders');
    const followed = await call(f, 'GET', '', { base: f.url + location });
    expect(followed.status).toBe(405);
    expect((await call(f, 'GET', '', { base: `${f.url}/Base/hs/regate/v1/state` })).status).toBe(200);
    expect(f.orders()).toHaveLength(BASE_COMPANY.orders.length);
  });

  it('BOM on JSON and on error text; odd content types; ЗаписатьJSON line breaks; Cyrillic keys on /state', async () => {
    const f = await start({ bom: true });
    const r = await call(f, 'GET', '/cities');
    expect([...r.raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(r.json().items.length).toBeGreaterThan(0);
    f.failNext(1, 'text500');
    expect([...(await call(f, 'GET', '/cities')).raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    f.configure({ bom: false });

    const types: Array<[Fake1COptions['contentType'], string | undefined]> = [
      ['odd-case', 'Application/JSON;Charset=UTF-8'],
      ['double-space', 'application/json;  charset=utf-8'],
      ['text-plain', 'text/plain; charset=utf-8'],
      ['none', undefined],
    ];
    for (const [mode, header] of types) {
      f.configure({ contentType: mode });
      const x = await call(f, 'GET', '/cities');
      expect(x.headers['content-type']).toBe(header);
      expect(x.json().items.length).toBeGreaterThan(0);
    }

    f.configure({ contentType: 'standard', lineBreaks: true });
    const lb = await call(f, 'GET', '/state');
    expect(lb.text.startsWith('{\n"platformVersion": "')).toBe(true);
    expect(lb.text.split('\n').length).toBeGreaterThan(15);
    expect(lb.json().organization.inn).toMatch(/^\d{10}$/);

    f.configure({ lineBreaks: false, cyrillicKeys: true });
    const cy = (await call(f, 'GET', '/state')).json();
    expect(cy.Организация.ИНН).toMatch(/^\d{10}$/);
    expect(cy.ВерсияПлатформы).toMatch(/^8\.3\./);
  });

  it('writeJson1C: / unescaped, Cyrillic raw, TAB as \\u0009', () => {
    const fmt = { lineBreaks: false, sloppyNumbers: false, onecDates: false, emptyRefs: false };
    expect(writeJson1C({ a: 'http://x/й\t"' }, fmt)).toBe('{"a":"http://x/й\\u0009\\""}');
    expect(writeJson1C({ a: [1, 2] }, { ...fmt, lineBreaks: true })).toBe('{\n"a": [\n1,\n2\n]\n}');
  });

  it('sloppyNumbers: "1 234,50" with NBSP, "" for zero; onecDates: no zone, 0001-01-01T00:00:00; emptyRefs', async () => {
    expect(sloppyMoney(1234.5)).toBe(`1${NBSP}234,50`);
    expect(sloppyMoney(0)).toBe('');
    expect(sloppyQty(1234567.25)).toBe(`1${NBSP}234${NBSP}567,25`);
    expect(sloppyQty(0.5)).toBe('0,5');
    const f = await start({ sloppyNumbers: true, onecDates: true, emptyRefs: true });
    const o = f.company().orders.find((x) => x.orderStatus === 0 && x.sum >= 1000)!;
    const s = (await call(f, 'GET', `/orders/${o.id}`)).json();
    expect(s.paidAmount).toBe('');
    expect(s.sum).toMatch(new RegExp(`^\\d{1,3}(${NBSP}\\d{3})+,\\d{2}$`));
    expect(Number(s.sum.replaceAll(NBSP, '').replace(',', '.'))).toBe(o.sum);
    expect(s.paidAt).toBe(EMPTY_DATE_1C);
    expect(s.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    const groups = (await call(f, 'GET', `/stores/${firstStore(f).id}/groups`)).json().items;
    expect(groups[0].parentId).toBe(EMPTY_REF);
    const page = (await call(f, 'GET', `/stores/${firstStore(f).id}/assortment?limit=50`)).json();
    expect(typeof page.items[0].prices[0].price).toBe('string');
    expect(page.items[0].prices[0].fromQty).toBe('');
  });

  it('business errors as 200 + Russian text (1C loyalty-service style)', async () => {
    const f = await start({ businessErrorsAs200: true });
    const r = await call(f, 'GET', '/orders/nope');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.text).toBe('Заказ не найден: nope');
    const o = f.company().orders.find((x) => x.orderStatus === 1)!;
    const paid = await call(f, 'POST', `/orders/${o.id}/payments`, { body: { amount: o.sum } });
    expect(paid.status).toBe(200);
    expect(paid.text).toContain('уже оплачен');
  });
});

describe('fake 1C: availability faults', () => {
  it('text500 (ПодробноеПредставлениеОшибки), html502, session-prohibited, no-licence', async () => {
    const f = await start();
    f.failNext(1, 'text500');
    f.failNext(1, 'html502');
    f.failNext(1, 'session-prohibited');
    f.failNext(1, 'no-licence');
    const a = await call(f, 'GET', '/state');
    expect(a.status).toBe(500);
    expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(a.text).toMatch(/^\{ОбщийМодуль\.ReGate\.Модуль\(123\)\}: .*\n.*\nпо причине:\n/);
    const b = await call(f, 'GET', '/state');
    expect([b.status, b.text]).toEqual([502, APACHE_502_HTML]);
    const c = await call(f, 'GET', '/state');
    expect([c.status, c.text]).toEqual([503, TEXT_SESSION_PROHIBITED]);
    const d = await call(f, 'GET', '/state');
    expect([d.status, d.text]).toEqual([500, TEXT_NO_LICENCE]);
    expect((await call(f, 'GET', '/state')).status).toBe(200);
  });

  it('truncated: status and headers, then half of the JSON and close (no Content-Length)', async () => {
    const f = await start();
    f.failNext(1, 'truncated');
    const agent = new Agent();
    agents.push(agent);
    const r = await call(f, 'GET', '/cities', { dispatcher: agent });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.text.startsWith('{"items":[')).toBe(true);
    expect(() => r.json()).toThrow();
    const full = await call(f, 'GET', '/cities');
    expect(r.raw.length).toBeLessThan(full.raw.length);
  });

  it('hang, reset, down (reset) and down (refused), then back up', async () => {
    const f = await start();
    f.failNext(1, 'hang');
    await expect(call(f, 'GET', '/state', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    f.failNext(1, 'reset');
    await expect(call(f, 'GET', '/state')).rejects.toThrow();
    await f.setDown(true);
    await expect(call(f, 'GET', '/state')).rejects.toThrow();
    await f.setDown('refused');
    await expect(call(f, 'GET', '/state')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await f.setDown(false);
    expect((await call(f, 'GET', '/state')).status).toBe(200);
    // The hung call freed its session when the client gave up.
    expect(f.sessions()).toBeLessThanOrEqual(f.switches().poolSize);
  });

  it('clock hook: serverTime follows the given clock plus advanceClock', async () => {
    const f = await start({ clock: () => Date.UTC(2025, 0, 10, 7, 0, 0) });
    expect((await call(f, 'GET', '/state')).json().serverTime).toBe('2025-01-10T10:00:00+03:00');
    f.advanceClock(3_600_000);
    expect((await call(f, 'GET', '/state')).json().serverTime).toBe('2025-01-10T11:00:00+03:00');
  });

  it('latency: lognormal per route kind, scaled (assortment slower than catalogue by default medians)', async () => {
    // Lower bounds on the injected latency only; what must not be waited for is so long that
    // waiting for it would run into the test's timeout.
    const f = await start({ latencyScale: 0.0001, sessionStartMs: 0, latencySigma: 0, latencyMedianMs: { catalogue: 100, assortment: 1_800_000 } });
    // Scaled: the assortment's half-hour median takes 180 ms.
    let t = performance.now();
    await call(f, 'GET', `/stores/${firstStore(f).id}/assortment?limit=1`);
    expect(performance.now() - t).toBeGreaterThanOrEqual(179);
    // Per route kind: unscaled, a catalogue call takes its own 100 ms, not the assortment's half hour.
    f.configure({ latencyScale: 1 });
    t = performance.now();
    await call(f, 'GET', '/cities');
    expect(performance.now() - t).toBeGreaterThanOrEqual(99);
  });
});

describe('fake 1C seed', () => {
  it('same seed → deep-equal company; another seed differs', () => {
    const a = generateCompany({ seed: 42, items: 200 });
    const b = generateCompany({ seed: 42, items: 200 });
    expect(b).toEqual(a);
    expect(generateCompany({ seed: 43, items: 200 }).organization.inn).not.toBe(a.organization.inn);
  });

  it('3000 items by default; believable structure; valid EAN-13 and ИНН; ~10 % sold to order', () => {
    // Its speed is a figure of `node bench/run.ts seeds`, not an assertion here.
    const c = generateCompany({ seed: 1 });
    expect(c.items).toHaveLength(3000);
    expect(c.cities.length).toBeGreaterThanOrEqual(4);
    expect(c.cities.length).toBeLessThanOrEqual(6);
    for (const city of c.cities) {
      const n = c.stores.filter((s) => s.cityId === city.id).length;
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(5);
    }
    expect(new Set(c.groups.map((g) => g.level))).toEqual(new Set([1, 2, 3]));
    expect(isValidInn(c.organization.inn)).toBe(true);
    for (const cl of c.clients) if (cl.inn) expect(isValidInn(cl.inn)).toBe(true);
    const barcodes = c.items.flatMap((i) => i.barcodes);
    expect(barcodes.every(isValidEan13)).toBe(true);
    expect(new Set(barcodes).size).toBe(barcodes.length);
    expect(isValidEan13('4600000000001')).toBe(false);
    expect(new Set(c.items.map((i) => i.unit.code))).toEqual(new Set(['kg', 'l', 'pcs']));
    expect(new Set(c.items.map((i) => i.sku)).size).toBe(3000);
    const soldToOrder = c.items.filter((i) => i.soldToOrder).length / c.items.length;
    expect(soldToOrder).toBeGreaterThan(0.06);
    expect(soldToOrder).toBeLessThan(0.14);
    for (const it of c.items) {
      expect(it.prices.map((p) => p.fromQty)[0]).toBe(0);
      expect(it.prices[2].fromQty).toBeGreaterThan(it.prices[1].fromQty);
      expect(it.prices[2].price).toBeLessThanOrEqual(it.prices[1].price);
      expect(it.prices[1].price).toBeLessThan(it.prices[0].price);
      expect(/[а-яё]/i.test(it.name)).toBe(true);
    }
    for (const o of c.orders) expect(o.sum).toBeCloseTo(o.lines.reduce((s, l) => s + l.sum, 0), 2);
    expect(new Set(c.orders.map((o) => o.orderStatus)).size).toBeGreaterThanOrEqual(5);
  });
});
