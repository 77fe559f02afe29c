import { once } from 'node:events';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { docpartModule } from '../../main/connectors/docpart/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import type { Logger } from '../../main/log/logger.ts';
import { regateModule } from '../../main/regate/index.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { startFake1C } from '../../main/sandbox/onec/fake.ts';
import type { Settled } from '../../main/store/worker-pool.ts';
import { startTestCore } from '../helpers/core.ts';
import { selfSigned } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The core's one housekeeping run ages out every table that ages, each module's included, as of
 * the store's clock (injected here: the tests move it, never wait for it).
 */
const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const tls = new Agent({ connect: { rejectUnauthorized: false } });

const stops: Array<() => Promise<unknown>> = [];

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 25))) if (Date.now() > end) throw new Error('condition not reached in time');
}
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** ReGate's module, with its logger wrapped to catch where it listens (the core runs quiet). */
function regateListening(): { module: ModuleFactory; url: Promise<string> } {
  let found!: { resolve: (url: string) => void; reject: (e: Error) => void };
  const url = new Promise<string>((resolve, reject) => (found = { resolve, reject }));
  const module: ModuleFactory = (ctx) =>
    regateModule({
      ...ctx,
      log: Object.assign(Object.create(ctx.log) as Logger, {
        info: (obj: { url?: string }, msg?: string) => void (msg === 'regate listening' && obj.url && found.resolve(obj.url)),
        error: (obj: { err?: string }, msg?: string) => void found.reject(new Error(`${msg}: ${obj.err}`)),
      }),
    });
  return { module, url };
}

/** A module whose housekeeping always fails: it must not keep the others from running. */
const broken: ModuleFactory = () => ({
  name: 'broken',
  housekeeping: () => {
    throw new Error('disk on fire');
  },
});

describe('housekeeping', () => {
  it('ReGate: a key older than 72 h is forgotten (its operation is gone, the key is new again); a younger one is still replayed; a failing hook stops no other', async () => {
    const fake = await startFake1C({ latencyScale: 0, items: 50 });
    stops.push(() => fake.stop());
    let clock = T0;
    const regate = regateListening();
    const t = await startTestCore({
      config: {
        regate: {
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          tls: selfSigned(tempDir()),
          tenants: [{ id: 'shop', user: 'richest', password: 'sandbox', baseUrl: fake.baseUrl, onecUser: fake.user, onecPassword: fake.password, poolSize: 4 }],
        },
      },
      modules: [broken, regate.module],
      outbox: { now: () => clock },
    });
    const url = await regate.url;
    const call = async (method: string, path: string, opts: { body?: unknown; key?: string } = {}) => {
      const res = await request(`${url}${path}`, {
        method: method as 'GET',
        dispatcher: tls,
        headers: {
          authorization: `Basic ${Buffer.from('richest:sandbox').toString('base64')}`,
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.key ? { 'idempotency-key': opts.key } : {}),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null };
    };

    // At T0: a write that 1C missed (connection reset) is queued, then done by the worker.
    fake.failNext(1, 'reset');
    const settled = once(t.core.workers, 'settled') as Promise<[Settled]>;
    const old = await call('PUT', '/regate/v1/clients/hk-old', { body: { name: 'Старый Клиент' }, key: 'key-old' });
    expect(old.status).toBe(202);
    expect((await settled)[0].outcome).toBe('done');
    const operation = `/regate/v1/operations/${old.body.operationId}`;
    expect((await call('GET', operation)).body).toMatchObject({ state: 'done' });

    // 48 h later a second write; 25 h after that the first is 73 h old, the second 25 h.
    clock = T0 + 48 * HOUR;
    const young = await call('PUT', '/regate/v1/clients/hk-young', { body: { name: 'Новый Клиент' }, key: 'key-young' });
    expect(young.status).toBe(201);
    clock = T0 + 73 * HOUR;
    const run = await t.core.housekeeping();
    expect(run.removed.regate_requests).toBe(1);
    expect(run.failed).toEqual(['broken']);
    expect(t.core.store.sql.column(`SELECT key FROM regate_requests ORDER BY id`)).toEqual(['key-young']);

    // The old key is forgotten: its operation is gone and the same key is a new write (1C is asked).
    expect((await call('GET', operation)).body).toMatchObject({ status: 404, code: 'operation_not_found' });
    const asked = fake.stats().requests;
    const again = await call('PUT', '/regate/v1/clients/hk-old', { body: { name: 'Старый Клиент' }, key: 'key-old' });
    expect(again.status).toBeLessThan(300);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(fake.stats().requests).toBe(asked + 1);
    // The younger key is replayed: the same answer, and no second call to 1C.
    const replay = await call('PUT', '/regate/v1/clients/hk-young', { body: { name: 'Новый Клиент' }, key: 'key-young' });
    expect(replay).toMatchObject({ status: 201, body: young.body });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(fake.stats().requests).toBe(asked + 1);
  });

  it('runs on the outbox as the recurring job core:housekeeping: a minute after the start, then a minute after each run, by the store clock; a restart keeps the plan', async () => {
    let clock = T0;
    const dataDir = tempDir();
    let runs = 0;
    const counting: ModuleFactory = () => ({ name: 'counting', housekeeping: () => ({ counted: ++runs }) });
    const start = () => startTestCore({ dataDir, modules: [counting], outbox: { now: () => clock, leaseMs: 600 } });
    let t = await start();
    const job = () => t.core.store.outbox.latestForKey('core:housekeeping', 0);
    expect(job()).toMatchObject({ state: 'queued', kind: 'recurring', nextRunAt: T0 + 60_000 });
    clock = T0 + 60_000;
    await until(() => job()!.nextRunAt === T0 + 120_000);
    expect(runs).toBe(1);
    expect(job()).toMatchObject({ state: 'queued', connector: 'core' });
    // Scheduled work is not a queue waiting to be sent.
    expect(t.core.health().queue).toMatchObject({ depth: 0 });
    await t.core.stop(1000);
    clock = T0 + 90_000;
    t = await start();
    expect(job()).toMatchObject({ state: 'queued', nextRunAt: T0 + 120_000 });
    expect(t.core.store.sql.value(`SELECT COUNT(*) FROM jobs WHERE key = 'core:housekeeping' AND state = 'queued'`)).toBe(1);
  });

  it('Docpart: a cached article outlives its day for a failing cross server, and is dropped after its 30 days', async () => {
    const fake = await startFakeDocpart({ techKey: 'dp-key', data: generateDocpartData({ orders: 5, seed: 3 }) });
    stops.push(() => fake.stop());
    let clock = T0;
    const t = await startTestCore({
      config: { docpart: { enabled: true, baseUrl: fake.url, techKey: 'dp-key', everySeconds: 3600 } },
      modules: [docpartModule],
      outbox: { now: () => clock },
    });
    const [article] = Object.keys(fake.data().articles);
    const get = async () => {
      const r = await t.api(`/v1/docpart/articles/${encodeURIComponent(article)}`);
      return { status: r.status, body: (await r.json()) as any };
    };
    const fresh = await get();
    expect(fresh.body).toMatchObject({ stale: false, items: [expect.anything()] });

    clock = T0 + 2 * 24 * HOUR;
    expect((await t.core.housekeeping()).removed.docpart_articles).toBe(0);
    fake.setDown(true);
    expect((await get()).body).toMatchObject({ stale: true, items: fresh.body.items });

    clock = T0 + 31 * 24 * HOUR;
    expect((await t.core.housekeeping()).removed.docpart_articles).toBe(1);
    expect(await get()).toMatchObject({ status: 502, body: { error: { code: 'docpart_unavailable' } } });
  });
});
