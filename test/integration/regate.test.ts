import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { Journal } from '../../main/journal/index.ts';
import { createRegate, type RegateRuntime } from '../../main/regate/index.ts';
import { startFake1C, type Fake1C, type Fake1COptions } from '../../main/sandbox/onec/fake.ts';
import { openStore, type Store } from '../../main/store/index.ts';
import { WorkerPool } from '../../main/store/worker-pool.ts';
import { tempDir } from '../helpers/tmp.ts';

/** ReGate over real TLS against the fake 1C (specs/regate.md). */
const AUTH = `Basic ${Buffer.from('richest:sandbox').toString('base64')}`;
const tls = new Agent({ connect: { rejectUnauthorized: false }, connections: 400 });

function selfSigned(dir: string) {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { keyFile: key, certFile: cert };
}

function pfxOf(pem: { keyFile: string; certFile: string }, dir: string) {
  const pfxFile = join(dir, 'cert.pfx');
  execFileSync('openssl', ['pkcs12', '-export', '-out', pfxFile, '-inkey', pem.keyFile, '-in', pem.certFile, '-passout', 'pass:pfx-secret'], { stdio: 'ignore' });
  return { pfxFile, pfxPassword: 'pfx-secret' };
}

const running: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
});

async function setup(fakeOpts: Fake1COptions = {}, poolSize = 10, extra: { tenant?: Record<string, unknown>; pfx?: boolean; regate?: Record<string, unknown> } = {}) {
  const fake = await startFake1C({ latencyScale: 0, items: 300, ...fakeOpts });
  const dir = tempDir();
  const { config } = parseConfig(
    {
      regate: {
        enabled: true,
        host: '127.0.0.1',
        port: 0,
        tls: extra.pfx ? pfxOf(selfSigned(dir), dir) : selfSigned(dir),
        tenants: [{ id: 'shop', user: 'richest', password: 'sandbox', baseUrl: fake.baseUrl, onecUser: fake.user, onecPassword: fake.password, poolSize, ...extra.tenant }],
        ...extra.regate,
      },
    },
    {},
  );
  const store = openStore(dir, { leaseMs: 3000 });
  const journal = new Journal(store, { ...config.journal, secrets: () => ['sandbox', fake.password] });
  const regate = createRegate({ config: () => config.regate, store, journal });
  const pool = new WorkerPool(store.outbox);
  pool.register(regate.workers);
  pool.start();
  const { url, app, fresh } = await regate.listen();
  running.push(() => fake.stop(), async () => store.close(), () => pool.stop(1000), () => regate.stop());
  const call = async (method: string, path: string, opts: { body?: unknown; key?: string; headers?: Record<string, string> } = {}) => {
    const res = await request(`${url}${path}`, {
      method: method as 'GET',
      dispatcher: tls,
      headers: { authorization: AUTH, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.key ? { 'idempotency-key': opts.key } : {}), ...opts.headers },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return { fake, url, call, regate, store: store as Store, journal, app, fresh };
}

const bookingFor = (fake: Fake1C, richestOrderId: string, client = 'rs-client-1') => {
  const c = fake.company();
  const store = c.stores[0];
  // An item this store has plenty of (or sells to order), in a quantity its minimum and step allow.
  const fits = (id: string) => {
    const it = c.items.find((x) => x.id === id)!;
    const qty = Math.max(1, Number(it.minQty ?? 1), Number(it.qtyStep ?? 1));
    return { it, qty };
  };
  const [itemId] = Object.entries(c.stock[store.id]).find(([id, s]) => s.qty === null || s.qty >= fits(id).qty * 3)!;
  const item = { id: itemId, qty: fits(itemId).qty };
  return { richestOrderId, client: { externalId: client }, storeId: store.id, delivery: { address: 'Москва, ул. Ленина, 1', from: '2026-11-24T10:00:00+03:00', to: '2026-11-24T14:00:00+03:00' }, lines: [{ itemId: item.id, qty: item.qty }] };
};

describe('ReGate gateway', () => {
  it('TLS 1.2+ only; wrong password → 401 with the ReGate realm; every answer has X-Request-Id; errors are problem+json', async () => {
    const { url, call } = await setup();
    const port = Number(new URL(url).port);
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: version, maxVersion: version }, () => (s.end(), resolve(false)));
        s.on('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    }
    const wrong = await call('GET', '/regate/v1/cities', { headers: { authorization: `Basic ${Buffer.from('richest:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/realm="ReGate"/);
    expect(wrong.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(wrong.body).toMatchObject({ status: 401, code: 'unauthorized', retryable: false, requestId: expect.any(String) });
    expect(wrong.headers['x-request-id']).toBe(wrong.body.requestId);
  });

  it('reads: every catalogue method and its alias; the cache answers the second time; ETag and 304', async () => {
    const { fake, call } = await setup();
    const state = await call('GET', '/regate/v1/state');
    expect(state.status).toBe(200);
    const cities = await call('GET', '/regate/v1/cities');
    expect(cities.body.items.length).toBeGreaterThan(3);
    const cityId = cities.body.items[0].id;
    const stores = await call('GET', `/regate/v1/cities/${encodeURIComponent(cityId)}/stores`);
    const storeId = stores.body.items[0].id;
    expect((await call('GET', `/regate/v1/stores/${storeId}/groups`)).body.items.length).toBeGreaterThan(0);
    const page = await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=50`);
    expect(page.body.items).toHaveLength(50);
    expect(page.body.items[0]).toMatchObject({ id: expect.any(String), barcodes: expect.any(Array), prices: expect.any(Array) });
    const before = fake.stats().requests;
    const again = await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=50`);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(fake.stats().requests).toBe(before);
    expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=50`, { headers: { 'if-none-match': String(again.headers.etag) } })).status).toBe(304);
    const alias = await call('GET', `/regate/citystore?cityId=${encodeURIComponent(cityId)}`);
    expect(alias.body).toEqual(stores.body);
  });

  it('300 concurrent callers: 1C never sees more than poolSize − 1 calls at once', async () => {
    const { fake, call } = await setup({ latencyScale: 0, fixedLatencyMs: 20 }, 10);
    const storeId = fake.company().stores[0].id;
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => call('GET', `/regate/v1/stores/${storeId}/assortment?limit=5&cursor=${i % 60 ? '' : ''}&groupId=${i}`)));
    expect(results.filter((r) => r.status !== 200 && r.status !== 404)).toEqual([]);
    expect(fake.stats().maxConcurrent).toBeLessThanOrEqual(9);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(9);
  });

  it('writes need an Idempotency-Key; a replay returns the stored answer; another body → 422; no second order after a lost answer', async () => {
    const { fake, call } = await setup();
    const body = bookingFor(fake, 'RS-1');
    expect((await call('POST', '/regate/v1/orders', { body })).body).toMatchObject({ status: 400, code: 'idempotency_key_required', detail: expect.stringContaining('Idempotency-Key') });
    const ensured = await call('PUT', '/regate/v1/clients/rs-client-1', { body: { name: 'Иванов Иван', phone: '+79990001122' }, key: 'k-client-1' });
    expect([200, 201]).toContain(ensured.status);
    const first = await call('POST', '/regate/v1/orders', { body, key: 'k-order-1' });
    expect(first.status).toBe(201);
    const replay = await call('POST', '/regate/v1/orders', { body, key: 'k-order-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect((await call('POST', '/regate/v1/orders', { body: { ...body, comment: 'другое' }, key: 'k-order-1' })).status).toBe(422);
    // The answer is lost on the way back: the client retries with the same key and 1C's register answers.
    fake.failNext(1, 'processed-then-reset');
    const lost = await call('POST', '/regate/v1/orders', { body: bookingFor(fake, 'RS-2'), key: 'k-order-2' });
    expect([202, 503, 504]).toContain(lost.status); // outcome unknown to the gateway
    // The gateway cannot tell a lost answer from a dead 1C: it keeps the write and runs it again with
    // the same request id; 1C's register answers it with the first result, so no second order.
    let retried = await call('POST', '/regate/v1/orders', { body: bookingFor(fake, 'RS-2'), key: 'k-order-2' });
    for (const end = Date.now() + 20_000; retried.status === 202 && Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      retried = await call('POST', '/regate/v1/orders', { body: bookingFor(fake, 'RS-2'), key: 'k-order-2' });
    }
    expect(retried.status).toBe(201);
    expect(fake.orders().filter((o) => (o as { richestOrderId?: string }).richestOrderId === 'RS-2')).toHaveLength(1);
  });

  it('a bad parameter is a 400 naming it and what is wrong, before 1C is asked', async () => {
    const { fake, call } = await setup();
    const storeId = fake.company().stores[0].id;
    const before = fake.stats().requests;
    expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=abc`)).body).toMatchObject({ status: 400, code: 'invalid_request', detail: 'Поле «limit»: «abc» — не целое число' });
    expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=1000`)).body).toMatchObject({ status: 400, detail: 'Поле «limit»: должно быть от 1 до 500 (получено 1000)' });
    expect((await call('GET', '/regate/v1/operations/x')).body).toMatchObject({ status: 400, detail: 'Поле «id»: «x» — не целое число' });
    expect((await call('POST', '/regate/v1/orders', { body: {}, key: 'k'.repeat(300) })).body).toMatchObject({ status: 400, code: 'idempotency_key_too_long' });
    expect(fake.stats().requests).toBe(before);
    expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=2`)).body.items).toHaveLength(2);
  });

  it('a URL asked again answers as it did the first time (its 1C path is kept per URL): a bad one is the same 400 without 1C, a good one a HIT', async () => {
    const { fake, call } = await setup();
    const storeId = fake.company().stores[0].id;
    const before = fake.stats().requests;
    for (let k = 0; k < 2; k++) expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=abc`)).body).toMatchObject({ status: 400, detail: 'Поле «limit»: «abc» — не целое число' });
    expect(fake.stats().requests).toBe(before);
    const first = await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=3`);
    const second = await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=3`);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(second.body).toEqual(first.body);
    // " 3" is the same limit: another URL, the same 1C path, so the cached page.
    expect((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=%203`)).headers['x-cache']).toBe('HIT');
    expect(fake.stats().requests).toBe(before + 1);
  });

  it('Basic credentials however a client spells them: the scheme in any case, spaces, base64 without padding; a wrong password of the same length is 401; a login with a colon never matches', async () => {
    const { fake, call } = await setup({}, 10, { tenant: { password: 'sandbox1' } }); // richest:sandbox1 = 16 bytes: base64 with "=="
    const storeId = fake.company().stores[0].id;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const page = `/regate/v1/stores/${storeId}/groups`;
    for (const authorization of [`Basic ${b64('richest:sandbox1')}`, `basic ${b64('richest:sandbox1')}`, `BASIC   ${b64('richest:sandbox1')}  `, `Basic ${b64('richest:sandbox1').replace(/=+$/, '')}`])
      expect((await call('GET', page, { headers: { authorization } })).status, authorization).toBe(200);
    for (const authorization of [`Basic ${b64('richest:sandbox2')}`, `Basic ${b64('richest:sandbox')}`, `Bearer ${b64('richest:sandbox1')}`, ''])
      expect((await call('GET', page, { headers: { authorization } })).status, authorization).toBe(401);
    const colon = await setup({}, 10, { tenant: { user: 'ric:hest', password: 'sandbox' } });
    expect((await colon.call('GET', page, { headers: { authorization: `Basic ${b64('ric:hest:sandbox')}` } })).status).toBe(401);
  });

  it("1C's refusals are problem+json with its code, words and particulars; replayed by key as refused; a queued write that 1C refuses is a failed operation", async () => {
    const { fake, call } = await setup();
    await call('PUT', '/regate/v1/clients/rs-client-1', { body: { name: 'Иванов Иван' }, key: 'c1' });
    const booking = bookingFor(fake, 'RS-R1');
    const wrongPrice = { ...booking, lines: booking.lines.map((l) => ({ ...l, price: 0.01 })) };
    const refused = await call('POST', '/regate/v1/orders', { body: wrongPrice, key: 'k-price' });
    expect(refused.status).toBe(422);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({
      type: 'https://sputnik.local/regate/problems/PRICE_MISMATCH',
      title: 'Отказ 1С',
      status: 422,
      code: 'PRICE_MISMATCH',
      retryable: false,
      requestId: refused.headers['x-request-id'],
      details: [{ itemId: booking.lines[0].itemId, clientPrice: 0.01, price: expect.any(Number) }],
    });
    expect(refused.body.detail).toMatch(/^Цены изменились:/);
    // The same key again: the same refusal, marked as a replay; 1C is not asked twice.
    const ordersBefore = fake.stats().requests;
    const again = await call('POST', '/regate/v1/orders', { body: wrongPrice, key: 'k-price' });
    expect(again).toMatchObject({ status: 422, body: { code: 'PRICE_MISMATCH', details: refused.body.details } });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(fake.stats().requests).toBe(ordersBefore);

    const order = await call('POST', '/regate/v1/orders', { body: booking, key: 'k-ok' });
    expect(order.status).toBe(201);
    const pay = (amount: number, key: string) => call('POST', `/regate/v1/orders/${order.body.orderId}/payments`, { body: { method: 'card', amount }, key });
    expect((await pay(order.body.sum + 1, 'p-wrong')).body).toMatchObject({ status: 422, code: 'AMOUNT_MISMATCH' });
    expect((await pay(order.body.sum, 'p-ok')).status).toBe(200);
    expect((await pay(order.body.sum, 'p-twice')).body).toMatchObject({ status: 409, code: 'ALREADY_PAID', retryable: false });
    expect((await call('PATCH', '/regate/v1/clients/nobody', { body: { name: 'Кто-то' }, key: 'u-1' })).body).toMatchObject({ status: 404, code: 'CLIENT_NOT_FOUND' });

    // Queued while 1C was down, refused once it is back: the operation ends failed, with the problem.
    fake.setDown(true);
    const queued = await call('POST', `/regate/v1/orders/${order.body.orderId}/payments`, { body: { method: 'card', amount: order.body.sum }, key: 'p-queued' });
    expect(queued.status).toBe(202);
    fake.setDown(false);
    let op: any;
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      op = (await call('GET', `/regate/v1/operations/${queued.body.operationId}`)).body;
      if (op.state !== 'queued' && op.state !== 'running') break;
    }
    expect(op).toMatchObject({ state: 'failed', status: 409, problem: { code: 'ALREADY_PAID', status: 409, detail: expect.stringContaining('уже оплачен') } });
    expect((await call('POST', `/regate/v1/orders/${order.body.orderId}/payments`, { body: { method: 'card', amount: order.body.sum }, key: 'p-queued' })).body).toMatchObject({ status: 409, code: 'ALREADY_PAID' });
  });

  it('1C down: a write is accepted (202 + operation) and done in order once 1C is back; a read with nothing cached is 503 + Retry-After', async () => {
    const { fake, call } = await setup();
    await call('PUT', '/regate/v1/clients/rs-client-9', { body: { name: 'Петров' }, key: 'c9' });
    fake.setDown(true);
    const accepted = await call('POST', '/regate/v1/orders', { body: bookingFor(fake, 'RS-9', 'rs-client-9'), key: 'k9' });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/regate/v1/operations/${accepted.body.operationId}`);
    const read = await call('GET', '/regate/v1/cities');
    expect(read.status).toBe(503);
    expect(read.headers['retry-after']).toBeDefined();
    // Richest.store's monitoring sees the base down and the write waiting.
    expect((await call('GET', '/regate/v1/health')).body).toMatchObject({ gateway: 'ok', tenants: { shop: { onec: 'down', queuedWrites: 1, limit: expect.any(Number) } } });
    fake.setDown(false);
    let op: any;
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      op = (await call('GET', `/regate/v1/operations/${accepted.body.operationId}`)).body;
      if (op.state === 'done') break;
    }
    expect(op).toMatchObject({ state: 'done', status: 201, result: { orderId: expect.any(String) } });
    const replay = await call('POST', '/regate/v1/orders', { body: bookingFor(fake, 'RS-9', 'rs-client-9'), key: 'k9' });
    expect(replay.status).toBe(201);
  });

  it('an unreadable 1C answer (an Apache 502 page, truncated JSON) → 502 with its first characters', async () => {
    const { fake, call } = await setup();
    fake.failNext(1, 'html502');
    const bad = await call('GET', '/regate/v1/state');
    expect(bad.status).toBe(502);
    expect(bad.body.detail).toMatch(/HTTP 502/);
    fake.failNext(1, 'truncated');
    expect((await call('GET', '/regate/v1/cities')).status).toBe(502);
  });
});

describe('ReGate under pressure and faults', () => {
  it('a PFX certificate works; a per-tenant quota answers 429 with Retry-After', async () => {
    const { call } = await setup({}, 10, { pfx: true, tenant: { quotaPerMinute: 3 } });
    for (let i = 0; i < 3; i++) expect((await call('GET', '/regate/v1/state')).status).toBe(200);
    const over = await call('GET', '/regate/v1/state');
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.body).toMatchObject({ code: 'quota_exceeded', retryable: true });
  });

  it('a method with a short timeout of its own → 504 onec_timeout after it; a method on the default still answers', async () => {
    // Exact latencies: assortment takes an hour in the fake, the catalogue none; assortment may take 1 s
    // (without its own timeout the default one would answer, naming another figure, or the test time out).
    const { fake, call } = await setup({ latencyScale: 1, latencySigma: 0, sessionStartMs: 0, latencyMedianMs: { catalogue: 0, assortment: 3_600_000, write: 0 } }, 10, { tenant: { timeouts: { routes: { assortment: 1 } } } });
    const storeId = fake.company().stores[0].id;
    const started = performance.now();
    const slow = await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=5`);
    const took = performance.now() - started;
    expect(slow.status).toBe(504);
    expect(slow.headers['content-type']).toMatch(/problem\+json/);
    expect(slow.body).toMatchObject({ code: 'onec_timeout', retryable: true, detail: expect.stringMatching(/за 1 с/) });
    expect(took).toBeGreaterThanOrEqual(900);
    // The alias is the same method, with the same timeout.
    expect((await call('GET', `/regate/assortment?storeId=${encodeURIComponent(storeId)}&limit=6`)).body).toMatchObject({ code: 'onec_timeout' });
    const cities = await call('GET', '/regate/v1/cities');
    expect(cities.status).toBe(200);
    expect(cities.body.items.length).toBeGreaterThan(0);
    expect((await call('GET', `/regate/v1/stores/${storeId}/groups`)).status).toBe(200);
  });

  it.each([
    ['text500', 502],
    ['session-prohibited', 503],
    ['no-licence', 502],
    ['html502', 502],
    ['truncated', 502],
  ] as const)('1C fault %s → %i, problem+json, nothing cached', async (kind, status) => {
    const { fake, call } = await setup();
    fake.failNext(1, kind);
    const r = await call('GET', '/regate/v1/cities');
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(/problem\+json/);
    expect((await call('GET', '/regate/v1/cities')).status).toBe(200); // the next call goes to 1C again
  });

  it('too many wrong passwords from one address → 429 for a minute', async () => {
    const { call } = await setup();
    const bad = { authorization: `Basic ${Buffer.from('richest:wrong').toString('base64')}` };
    for (let i = 0; i < 10; i++) expect((await call('GET', '/regate/v1/state', { headers: bad })).status).toBe(401);
    expect((await call('GET', '/regate/v1/state', { headers: bad })).status).toBe(429);
  });

  it('behind a balancer (trustedProxies): wrong logins are counted per client address from X-Forwarded-For, not per balancer', async () => {
    const { call } = await setup({}, 10, { regate: { trustedProxies: ['127.0.0.1'] } });
    const bad = { authorization: `Basic ${Buffer.from('richest:wrong').toString('base64')}`, 'x-forwarded-for': '203.0.113.5' };
    for (let i = 0; i < 10; i++) expect((await call('GET', '/regate/v1/state', { headers: bad })).status).toBe(401);
    expect((await call('GET', '/regate/v1/state', { headers: bad })).status).toBe(429);
    // Another client behind the same balancer is not blocked with the guesser.
    expect((await call('GET', '/regate/v1/state', { headers: { 'x-forwarded-for': '203.0.113.6' } })).status).toBe(200);
  });

  it('journal: every 1C call, write and error is journaled with its body (a read page: its first 2 KB); cache hits are only counted', async () => {
    const { call, journal, fake, regate } = await setup();
    const storeId = fake.company().stores[0].id;
    const page = `/regate/v1/stores/${storeId}/assortment?limit=20`;
    const miss = await call('GET', page);
    expect(miss.headers['x-cache']).toBe('MISS');
    for (let i = 0; i < 20; i++) expect((await call('GET', page)).headers['x-cache']).toBe('HIT');
    expect((await call('GET', page, { headers: { 'if-none-match': String(miss.headers.etag) } })).status).toBe(304);
    expect((await call('PUT', '/regate/v1/clients/journal-1', { key: 'journal-key-1', body: { name: 'Клиент журнала' } })).status).toBe(201);
    expect((await call('GET', '/regate/v1/stores/no-such-store/assortment')).status).toBe(404);

    const { entries } = journal.list({ limit: 100 });
    const rows = entries.map((e) => `${e.direction} ${e.method} ${new URL(e.url, 'https://x').pathname} ${e.status}`);
    expect(rows.filter((r) => r.startsWith('in GET') && r.includes('/assortment') && r.endsWith(' 200'))).toHaveLength(1); // the miss only
    expect(rows.filter((r) => r.startsWith('out GET') && r.includes('/assortment'))).toHaveLength(2); // the miss, the unknown store
    expect(rows.some((r) => r.startsWith('in PUT') && r.endsWith(' 201'))).toBe(true);
    expect(rows.some((r) => r.startsWith('out PUT') && r.endsWith(' 201'))).toBe(true);
    expect(rows.some((r) => r.startsWith('in GET') && r.includes('no-such-store') && r.endsWith(' 404'))).toBe(true);
    // A page read from 1C is bulky and can be fetched again: both sides keep its first 2 KB, marked as cut.
    expect(JSON.stringify(miss.body).length).toBeGreaterThan(3 * 2048);
    for (const direction of ['in', 'out'] as const) {
      const read = journal.get(entries.find((e) => e.direction === direction && e.method === 'GET' && e.status === 200 && e.url.includes('/assortment'))!.id)!;
      expect(read.responseBody).toContain('"items"');
      expect(read.responseBody).toMatch(/… \[обрезано, всего \d+ симв\.\]$/);
      expect(read.responseBody!.length).toBeLessThan(2048 + 60);
    }
    // Writes and errors are kept whole.
    const put = journal.get(entries.find((e) => e.direction === 'out' && e.method === 'PUT')!.id)!;
    expect(JSON.parse(put.responseBody!)).toMatchObject({ created: true, client: { fullName: 'Клиент журнала' } });
    const notFound = journal.get(entries.find((e) => e.direction === 'in' && e.status === 404)!.id)!;
    expect(JSON.parse(notFound.responseBody!)).toMatchObject({ status: 404 });
    const bodies = entries.map((e) => journal.get(e.id)!).map((e) => `${e.requestBody ?? ''} ${e.responseBody ?? ''}`);
    expect(bodies.some((b) => b.includes(fake.password))).toBe(false);
    expect(regate.health().tenants.shop.cacheHitRate).toBeGreaterThan(0.9); // 21 of 22 reads from the cache
  });

  it('pre-warming puts every store\'s first assortment page in the cache', async () => {
    const { fake, call, regate } = await setup();
    const t = regate.tenants.get('shop')!;
    const { prewarm } = await import('../../main/regate/onec.ts');
    const warmed = await prewarm(t);
    expect(warmed).toBe(fake.company().stores.length);
    const before = fake.stats().requests;
    const r = await call('GET', `/regate/v1/stores/${fake.company().stores[1].id}/assortment`);
    expect(r.headers['x-cache']).toBe('HIT');
    expect(fake.stats().requests).toBe(before);
  });
});

describe('ReGate fresh hits ahead of fastify (fresh-hits.ts)', () => {
  /** An answer's headers without those that differ by request or by moment. */
  const stable = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => !['x-request-id', 'date', 'connection', 'keep-alive'].includes(k)));

  it('a fresh hit answered ahead of fastify is fastify\'s own answer: status, headers, bytes, 304, X-Request-Id', async () => {
    const { fake, call, app, fresh } = await setup();
    const page = `/regate/v1/stores/${fake.company().stores[0].id}/assortment?limit=5`;
    const miss = await call('GET', page);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(fresh.answered).toBe(0); // the first time: the full path (the route learns the URL)
    const hit = await call('GET', page, { headers: { 'x-request-id': 'r'.repeat(150) } });
    expect(fresh.answered).toBe(1);
    // The same request through fastify alone (inject never reaches the server's fast path).
    const full = await app.inject({ method: 'GET', url: page, headers: { authorization: AUTH, 'x-request-id': 'r'.repeat(150) } });
    expect(fresh.answered).toBe(1);
    expect(hit.status).toBe(200);
    expect(full.statusCode).toBe(200);
    expect(stable(hit.headers)).toEqual(stable(full.headers));
    expect(stable(hit.headers)).toMatchObject({ 'x-cache': 'HIT', etag: miss.headers.etag, 'content-type': 'application/json; charset=utf-8' });
    expect(hit.headers['x-request-id']).toBe('r'.repeat(100));
    expect(full.headers['x-request-id']).toBe('r'.repeat(100));
    expect(hit.body).toEqual(full.json());
    expect(hit.body).toEqual(miss.body);
    // Without its own id a request gets a new one each time.
    const ids = new Set([(await call('GET', page)).headers['x-request-id'], (await call('GET', page)).headers['x-request-id']]);
    expect(ids.size).toBe(2);
    // If-None-Match: 304 with the ETag, no body, as fastify answers it.
    const etag = String(miss.headers.etag);
    const before = fresh.answered;
    const unchanged = await call('GET', page, { headers: { 'if-none-match': etag } });
    const unchangedFull = await app.inject({ method: 'GET', url: page, headers: { authorization: AUTH, 'if-none-match': etag } });
    expect(fresh.answered).toBe(before + 1);
    expect([unchanged.status, unchangedFull.statusCode]).toEqual([304, 304]);
    expect(unchanged.body).toBeNull();
    expect(stable(unchanged.headers)).toEqual(stable(unchangedFull.headers));
    // An alias read of a URL served before is answered the same way.
    const alias = `/regate/assortment?storeId=${encodeURIComponent(fake.company().stores[0].id)}&limit=5`;
    expect((await call('GET', alias)).headers['x-cache']).toBe('HIT'); // the REST route's cached answer, learnt for this URL
    const n = fresh.answered;
    const aliasHit = await call('GET', alias);
    expect(fresh.answered).toBe(n + 1);
    expect(aliasHit.body).toEqual(miss.body);
    // A closing gateway answers through fastify only (which answers 503 to new requests while it closes).
    fresh.close();
    const m = fresh.answered;
    expect((await call('GET', page)).headers['x-cache']).toBe('HIT');
    expect(fresh.answered).toBe(m);
  });

  it('what only the full path may answer goes there: a wrong password, a blocked address, a quota, HEAD, a write that made the page stale', async () => {
    const { fake, call, fresh } = await setup({}, 10, { regate: { trustedProxies: ['127.0.0.1'] } });
    const storeId = fake.company().stores[0].id;
    const page = `/regate/v1/stores/${storeId}/assortment?limit=5`;
    const guesser = { 'x-forwarded-for': '203.0.113.5' };
    await call('GET', page, { headers: guesser });
    expect((await call('GET', page, { headers: guesser })).headers['x-cache']).toBe('HIT');
    const served = fresh.answered;
    expect(served).toBe(1);
    // Wrong passwords on a cached page are refused and counted as anywhere else: the tenth blocks the address, even with the right password.
    const wrong = { ...guesser, authorization: `Basic ${Buffer.from('richest:wrong').toString('base64')}` };
    for (let i = 0; i < 10; i++) expect((await call('GET', page, { headers: wrong })).status).toBe(401);
    const blocked = await call('GET', page, { headers: guesser });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ code: 'too_many_logins' });
    // Another client behind the same balancer still gets the page, ahead of fastify.
    const other = await call('GET', page, { headers: { 'x-forwarded-for': '203.0.113.6' } });
    expect([other.status, other.headers['x-cache']]).toEqual([200, 'HIT']);
    expect(fresh.answered).toBe(served + 1);
    // HEAD goes to fastify: the GET's length, no body.
    const head = await call('HEAD', page, { headers: { 'x-forwarded-for': '203.0.113.6' } });
    expect([head.status, head.headers['x-cache'], head.headers['content-length'], head.body]).toEqual([200, 'HIT', String(Buffer.byteLength(JSON.stringify(other.body))), null]);
    expect(fresh.answered).toBe(served + 1);
    // A booking at this store makes its pages stale: the next read goes to 1C (the full path), then the new page is a fresh hit again.
    expect((await call('PUT', '/regate/v1/clients/rs-client-1', { body: { name: 'Иванов Иван' }, key: 'fresh-client-1' })).status).toBe(201);
    const booked = await call('POST', '/regate/v1/orders', { key: 'fresh-booking-1', body: bookingFor(fake, 'rs-fresh-1'), headers: { 'x-forwarded-for': '203.0.113.6' } });
    expect(booked.status).toBe(201);
    const after = await call('GET', page, { headers: { 'x-forwarded-for': '203.0.113.6' } });
    expect(after.headers['x-cache']).toBe('MISS');
    expect(fresh.answered).toBe(served + 1);
    const again = await call('GET', page, { headers: { 'x-forwarded-for': '203.0.113.6' } });
    expect([again.headers['x-cache'], again.headers.etag]).toEqual(['HIT', after.headers.etag]);
    expect(fresh.answered).toBe(served + 2);
  });

  it('a base with a quota takes the full path, so every cached read is counted against it', async () => {
    const { fake, call, fresh } = await setup({}, 10, { tenant: { quotaPerMinute: 3 } });
    const page = `/regate/v1/stores/${fake.company().stores[0].id}/assortment?limit=5`;
    expect((await call('GET', page)).status).toBe(200);
    expect((await call('GET', page)).headers['x-cache']).toBe('HIT');
    expect((await call('GET', page)).headers['x-cache']).toBe('HIT');
    const over = await call('GET', page);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'quota_exceeded' });
    expect(fresh.answered).toBe(0);
  });
});

describe('ReGate aliases (/regate/{method})', () => {
  /** The gateway's own journal rows (direction in), as method and path. */
  const inRows = (journal: Journal) =>
    journal
      .list({ limit: 500, direction: 'in' })
      .entries.map((e) => `${e.method} ${new URL(e.url, 'https://x').pathname}`)
      .reverse();

  it('an alias call is one call: four of them fit a quota of 4, the fifth is 429', async () => {
    const { call } = await setup({}, 10, { tenant: { quotaPerMinute: 4 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('GET', '/regate/state')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('alias and REST calls share one quota', async () => {
    const { call } = await setup({}, 10, { tenant: { quotaPerMinute: 4 } });
    const statuses = [];
    for (const path of ['/regate/v1/state', '/regate/state', '/regate/v1/cities', '/regate/CITY', '/regate/v1/state']) statuses.push((await call('GET', path)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('each alias call is one journal row, under the address it was called by; the answer is the REST route\'s', async () => {
    const { fake, call, journal } = await setup();
    const storeId = fake.company().stores[0].id;
    const read = await call('POST', '/regate/Assortment', { body: { storeId, limit: 3 } }); // parameters in a JSON body, any case
    expect(read.status).toBe(200);
    expect(read.headers['x-cache']).toBe('MISS');
    expect(read.body).toEqual((await call('GET', `/regate/v1/stores/${storeId}/assortment?limit=3`)).body);
    const write = await call('POST', '/regate/client', { body: { externalId: 'alias-1', name: 'Клиент псевдонима' }, key: 'alias-key-1' });
    expect(write.status).toBe(201);
    expect(write.body).toMatchObject({ created: true, client: { externalId: 'alias-1' } });
    const replay = await call('POST', '/regate/client', { body: { externalId: 'alias-1', name: 'Клиент псевдонима' }, key: 'alias-key-1' });
    expect(replay).toMatchObject({ status: 201, body: write.body });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const bad = await call('GET', `/regate/assortment?storeId=${encodeURIComponent(storeId)}&limit=abc`);
    expect(bad.body).toMatchObject({ status: 400, code: 'invalid_request', detail: 'Поле «limit»: «abc» — не целое число' });
    expect((await call('POST', '/regate/booking', { body: {} })).body).toMatchObject({ status: 400, code: 'idempotency_key_required' });
    expect((await call('GET', '/regate/citystore')).body).toMatchObject({ status: 400, detail: expect.stringMatching(/^Поле «cityId»: .*не заполнено$/) });
    for (const name of ['nosuch', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect((await call('GET', `/regate/${name}`)).body, name).toMatchObject({ status: 404, code: 'unknown_method' });
    }
    expect(inRows(journal)).toEqual([
      'POST /regate/Assortment',
      // (the REST read of the same page is a cache hit: counted, not journaled)
      'POST /regate/client',
      'POST /regate/client',
      'GET /regate/assortment',
      'POST /regate/booking',
      'GET /regate/citystore',
      'GET /regate/nosuch',
      'GET /regate/constructor',
      'GET /regate/__proto__',
      'GET /regate/hasOwnProperty',
    ]);
  });
});

describe('sputnik check for ReGate', () => {
  it('a matching PEM pair valid for long enough → ok; an expired one or a foreign key → the reason', async () => {
    const { checkRegate } = await import('../../main/regate/check.ts');
    const fake = await startFake1C({ latencyScale: 0, items: 50 });
    running.push(() => fake.stop());
    const dir = tempDir();
    const good = selfSigned(dir);
    const tenant = { id: 'shop', user: 'r', password: 'p', baseUrl: fake.baseUrl, onecUser: fake.user, onecPassword: fake.password, poolSize: 10, prewarmSeconds: 0, timeouts: { readSeconds: 15, writeSeconds: 60, routes: {} } };
    const base = { enabled: true, host: '127.0.0.1', port: 0, tenants: [tenant] };
    const ok = await checkRegate({ ...base, tls: good });
    expect(ok.every((r) => r.ok)).toBe(true);
    expect(ok[0].message).toMatch(/действует до .*осталось 1 дн/); // a 2-day certificate gets the early warning
    const later = await checkRegate({ ...base, tls: good }, Date.now() + 5 * 86_400_000);
    expect(later[0]).toMatchObject({ ok: false, message: expect.stringMatching(/истёк/) });
    const other = selfSigned(tempDir());
    const mixed = await checkRegate({ ...base, tls: { certFile: good.certFile, keyFile: other.keyFile } });
    expect(mixed[0]).toMatchObject({ ok: false, message: expect.stringMatching(/не от сертификата/) });
    const wrongUser = await checkRegate({ ...base, tls: good, tenants: [{ ...tenant, onecPassword: 'nope' }] });
    expect(wrongUser[1]).toMatchObject({ ok: false, message: expect.stringMatching(/HTTP 401/) });
  });
});

describe('ReGate documentation', () => {
  it('OpenAPI 3.1 has every method with a request and an answer example; Swagger UI answers', async () => {
    const { call, url } = await setup();
    const doc = (await call('GET', '/regate/v1/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const ops = [
      ['get', '/regate/v1/state'],
      ['get', '/regate/v1/cities'],
      ['get', '/regate/v1/cities/{cityId}/stores'],
      ['get', '/regate/v1/stores/{storeId}/groups'],
      ['get', '/regate/v1/stores/{storeId}/assortment'],
      ['put', '/regate/v1/clients/{externalId}'],
      ['patch', '/regate/v1/clients/{externalId}'],
      ['post', '/regate/v1/orders'],
      ['post', '/regate/v1/orders/{orderId}/payments'],
      ['get', '/regate/v1/orders/{orderId}'],
      ['post', '/regate/v1/orders/{orderId}/refunds'],
      ['get', '/regate/v1/operations/{id}'],
    ];
    for (const [method, path] of ops) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      const answers = JSON.stringify(op.responses);
      expect(answers, `${method} ${path} answer example`).toContain('example');
      if (method !== 'get') expect(JSON.stringify(op.requestBody), `${method} ${path} request example`).toContain('example');
    }
    const ui = await request(`${url}/regate/docs/`, { dispatcher: tls });
    expect(ui.statusCode).toBe(200);
    expect(await ui.body.text()).toContain('swagger');
  });
});
