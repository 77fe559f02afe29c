import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { readdirSync } from 'node:fs';
import { runCli } from '../helpers/cli.ts';
import { fake1CAddresses, type Fake1CProcess } from '../helpers/regate-cluster.ts';
import { spawnCli } from '../helpers/spawn-cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * `sputnik sandbox 1c`: the fake 1C as its own process, over real HTTP on loopback, as a ReGate
 * cluster on one machine uses it. Concurrency is judged by counts (calls held by a long latency,
 * waited for through /_sandbox/stats), never by time.
 */

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `sputnik sandbox 1c …`; resolves once it printed its addresses. */
function start1C(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Fake1CProcess> {
  return spawnCli(['sandbox', '1c', ...args], { env, ready: fake1CAddresses, spawned: (c) => children.push(c) });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const REGATE = basic('regate', 'regate');

/** One call on a connection of its own (so concurrent calls really are concurrent at the fake). */
function call(url: string, opts: { method?: string; auth?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth) headers.Authorization = opts.auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    const req = request(url, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Stats {
  maxConcurrent: number;
  calls: number;
  orders: number;
  duplicateOrders: number;
}
const stats = async (p: Fake1CProcess): Promise<Stats> => JSON.parse((await call(p.statsUrl)).body) as Stats;

/** Waits until the fake has received `n` calls (they are then in its sessions or waiting for one). */
async function callsReached(p: Fake1CProcess, n: number): Promise<Stats> {
  for (;;) {
    const s = await stats(p);
    if (s.calls >= n) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM, then the exit code. */
async function stop(p: Fake1CProcess): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exited;
}

/** A bookable line: an item the store carries, in stock for its minimum quantity. */
async function bookable(base: string): Promise<{ storeId: string; itemId: string; qty: number }> {
  const cities = JSON.parse((await call(`${base}/cities`, { auth: REGATE })).body) as { items: Array<{ id: string }> };
  const stores = JSON.parse((await call(`${base}/cities/${cities.items[0].id}/stores`, { auth: REGATE })).body) as { items: Array<{ id: string }> };
  const storeId = stores.items[0].id;
  const page = await call(`${base}/stores/${storeId}/assortment?limit=50`, { auth: REGATE });
  expect(page.status).toBe(200);
  const items = (JSON.parse(page.body) as { items: Array<{ id: string; minQty: number; stock: { qty: number | null; unlimited: boolean } }> }).items;
  const item = items.find((i) => i.stock.unlimited || (i.stock.qty ?? 0) >= i.minQty * 10)!;
  return { storeId, itemId: item.id, qty: item.minQty };
}

const order = (richestOrderId: string, storeId: string, itemId: string, qty: number) => ({
  richestOrderId,
  client: { externalId: 'rs-test-1' },
  storeId,
  delivery: { address: 'Москва, ул. Тверская, 1' },
  lines: [{ itemId, qty }],
});

describe('sputnik sandbox 1c', () => {
  it('starts on a free port, prints it, opens no data dir, and ends with 0 on SIGTERM', async () => {
    const home = tempDir();
    const p = await start1C(['--port', '0'], { HOME: home, XDG_DATA_HOME: '', XDG_CONFIG_HOME: '', APPDATA: '', LOCALAPPDATA: '' });
    const url = new URL(p.baseUrl);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(url.pathname).toBe('/hs/regate/v1');
    expect(p.statsUrl).toBe(`${url.origin}/_sandbox/stats`);
    expect(p.stdout()).toContain('вход regate / regate');
    expect(await stats(p)).toEqual({ maxConcurrent: 0, calls: 0, orders: 0, duplicateOrders: 0 });
    const state = await call(`${p.baseUrl}/state`, { auth: REGATE });
    expect(state.status).toBe(200);
    expect(JSON.parse(state.body).configuration.name).toBeTruthy();
    expect(await stop(p)).toBe(0);
    expect(p.stdout()).toContain('Поддельная 1С остановлена.');
    expect(readdirSync(home)).toEqual([]);
  });

  it('/_sandbox/stats?sessions=1 adds the calls that had a session and the ms they held it in all (a bench samples them for the sessions busy on average)', async () => {
    const p = await start1C(['--port', '0', '--latency-ms', '20']);
    const sessions = async () => JSON.parse((await call(`${p.statsUrl}?sessions=1`)).body) as Stats & { sessionCalls: number; sessionMs: number };
    expect(await sessions()).toEqual({ maxConcurrent: 0, calls: 0, orders: 0, duplicateOrders: 0, sessionCalls: 0, sessionMs: 0 });
    for (let k = 0; k < 2; k++) expect((await call(`${p.baseUrl}/state`, { auth: REGATE })).status).toBe(200);
    const after = await sessions();
    expect(after).toMatchObject({ calls: 2, sessionCalls: 2 });
    expect(after.sessionMs).toBeGreaterThan(0);
    expect(Object.keys(await stats(p)).sort()).toEqual(['calls', 'duplicateOrders', 'maxConcurrent', 'orders']); // without it: as before
    expect(await stop(p)).toBe(0);
  });

  it('ends with 0 on SIGINT too', async () => {
    const p = await start1C(['--port', '0']);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
  });

  it('enforces Basic auth of the technical user as 1C does (401 before anything else)', async () => {
    const p = await start1C(['--port', '0', '--user', 'tech', '--password', 's3cret']);
    expect(p.stdout()).not.toContain('s3cret');
    const none = await call(`${p.baseUrl}/cities`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await call(`${p.baseUrl}/cities`, { auth: basic('tech', 'wrong') })).status).toBe(401);
    expect((await call(`${p.baseUrl}/cities`, { auth: REGATE })).status).toBe(401);
    expect((await call(`${p.baseUrl}/cities`, { auth: basic('tech', 's3cret') })).status).toBe(200);
    const s = await stats(p);
    expect(s.calls).toBe(4);
    expect(s.orders).toBe(0);
  });

  it('reads the catalogue and books an order at ReGate’s paths; stats count calls, orders and duplicates', async () => {
    const p = await start1C(['--port', '0', '--latency-ms', '0']);
    const base = p.baseUrl;
    const { storeId, itemId, qty } = await bookable(base); // 3 calls
    const client = await call(`${base}/clients/rs-test-1`, { method: 'PUT', auth: REGATE, body: { name: 'Иванов Иван', type: 'person' }, headers: { 'X-ReGate-Request-Id': 'key-client' } });
    expect(client.status).toBe(201);

    const first = await call(`${base}/orders`, { method: 'POST', auth: REGATE, body: order('RS-1', storeId, itemId, qty), headers: { 'X-ReGate-Request-Id': 'key-1' } });
    expect(first.status).toBe(201);
    const booked = JSON.parse(first.body) as { orderId: string; number: string };
    expect(booked.number).toMatch(/^ТД00-\d{6}$/);
    const state = await call(`${base}/orders/by-external/RS-1`, { auth: REGATE });
    expect(JSON.parse(state.body).orderId).toBe(booked.orderId);
    expect(await stats(p)).toEqual({ maxConcurrent: 1, calls: 6, orders: 1, duplicateOrders: 0 });

    // The same request id again: 1C's register answers the first booking, nothing is booked.
    const again = await call(`${base}/orders`, { method: 'POST', auth: REGATE, body: order('RS-1', storeId, itemId, qty), headers: { 'X-ReGate-Request-Id': 'key-1' } });
    expect(again.status).toBe(201);
    expect(again.headers['x-regate-replayed']).toBe('true');
    expect(JSON.parse(again.body).orderId).toBe(booked.orderId);
    expect(await stats(p)).toMatchObject({ calls: 7, orders: 1, duplicateOrders: 0 });

    // The same Richest.store order under another request id: booked twice, and counted.
    const twice = await call(`${base}/orders`, { method: 'POST', auth: REGATE, body: order('RS-1', storeId, itemId, qty), headers: { 'X-ReGate-Request-Id': 'key-2' } });
    expect(twice.status).toBe(201);
    expect(JSON.parse(twice.body).orderId).not.toBe(booked.orderId);
    const other = await call(`${base}/orders`, { method: 'POST', auth: REGATE, body: order('RS-2', storeId, itemId, qty), headers: { 'X-ReGate-Request-Id': 'key-3' } });
    expect(other.status).toBe(201);
    expect(await stats(p)).toEqual({ maxConcurrent: 1, calls: 9, orders: 3, duplicateOrders: 1 });
  });

  it('without the register (--no-register) a repeated request id books again and is counted as a duplicate', async () => {
    const p = await start1C(['--port', '0', '--latency-ms', '0', '--no-register']);
    const { storeId, itemId, qty } = await bookable(p.baseUrl);
    expect((await call(`${p.baseUrl}/clients/rs-test-1`, { method: 'PUT', auth: REGATE, body: { name: 'Иванов Иван' } })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const r = await call(`${p.baseUrl}/orders`, { method: 'POST', auth: REGATE, body: order('RS-7', storeId, itemId, qty), headers: { 'X-ReGate-Request-Id': 'key-7' } });
      expect(r.status).toBe(201);
      expect(r.headers['x-regate-replayed']).toBeUndefined();
    }
    expect(await stats(p)).toMatchObject({ orders: 2, duplicateOrders: 1 });
  });

  it('counts the most calls in progress at once', async () => {
    // Calls that last far longer than the test: all of them are in progress when counted.
    const p = await start1C(['--port', '0', '--pool', '10', '--latency-ms', '600000']);
    const n = 6;
    const held = Array.from({ length: n }, () => call(`${p.baseUrl}/cities`, { auth: REGATE }).catch((e: Error) => e));
    const s = await callsReached(p, n);
    expect(s).toEqual({ maxConcurrent: n, calls: n, orders: 0, duplicateOrders: 0 });
    // A clean stop with calls in progress: they are cut, the process still ends with 0.
    expect(await stop(p)).toBe(0);
    expect((await Promise.all(held)).every((r) => r instanceof Error)).toBe(true);
  });

  it('answers as an exhausted 1C pool when more calls come than --pool (after --pool-timeout-ms)', async () => {
    const p = await start1C(['--port', '0', '--pool', '2', '--latency-ms', '600000', '--pool-timeout-ms', '0']);
    const held = [0, 1].map(() => call(`${p.baseUrl}/cities`, { auth: REGATE }).catch((e: Error) => e));
    await callsReached(p, 2); // both hold a session now
    const third = await call(`${p.baseUrl}/cities`, { auth: REGATE });
    expect(third.status).toBe(406);
    expect(third.headers['content-type']).toMatch(/^application\/xml/);
    expect(third.body).toContain('<descr>Истекло время ожидания сеанса</descr>');
    // The refused call was at the publication too: 3 at once.
    expect(await stats(p)).toEqual({ maxConcurrent: 3, calls: 3, orders: 0, duplicateOrders: 0 });
    expect(await stop(p)).toBe(0);
    await Promise.all(held);
  });

  it('is listed in --help', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('sputnik sandbox 1c --port N');
    expect(h.stdout).toContain('--latency-ms');
  });

  it('refuses a wrong use with exit 2 and one line', { timeout: 120_000 }, async () => {
    for (const args of [['sandbox'], ['sandbox', '2c', '--port', '0'], ['sandbox', '1c'], ['sandbox', '1c', '--port', '0', '--pool', '0'], ['sandbox', '1c', '--port', '0', '--user', 'u'], ['sandbox', '1c', '--port', '0', '--data-dir', '/tmp/x'], ['serve', '--sandbox', '--pool', '3']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('refuses a taken port with exit 3', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as { port: number }).port;
      const r = await runCli(['sandbox', '1c', '--port', String(port)]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`порт ${port} занят`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
