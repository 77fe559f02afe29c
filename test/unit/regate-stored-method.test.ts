import Database from 'better-sqlite3';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { ReadCache } from '../../main/regate/cache.ts';
import { deliverQueued } from '../../main/regate/deliver.ts';
import type { TenantRuntime } from '../../main/regate/onec.ts';
import { localRepos, type Deliver, type WriteRecord } from '../../main/regate/repos/index.ts';
import type { Upstream, UpstreamRequest } from '../../main/regate/upstream.ts';
import { DB_FILE } from '../../main/store/db.ts';
import { openStore, type Store } from '../../main/store/index.ts';
import { MIGRATIONS } from '../../main/store/migrations.ts';
import { WorkerPool } from '../../main/store/worker-pool.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A queued ReGate write keeps the name of its method (methods.ts): its delivery needs no 1C path read back. */
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function opened(dir = tempDir()): Store {
  const store = openStore(dir, { leaseMs: 3000 });
  stops.push(() => store.close());
  return store;
}

const TENANT = { id: 'shop', user: 'richest', password: 'p', baseUrl: 'https://1c.local/base/hs/regate/v1', onecUser: 'regate', timeouts: { routes: { paycard: 120 } } };

describe('a queued ReGate write keeps its method', () => {
  it('the queue hands the write back with the method it was recorded with, and stores 1C\'s answer with its completion', async () => {
    const store = opened();
    const repos = localRepos(store);
    const begun = await repos.idempotency.begin({ tenant: 'shop', key: 'k-1', method: 'paycard', verb: 'POST', path: 'orders/o1/payments', body: '{"amount":1}', line: 'order:o1' });
    expect(begun.kind).toBe('new');
    await repos.queue.enqueue(begun.record);
    expect(await repos.queue.counts()).toEqual(new Map([['shop', 1]]));
    expect(await repos.queue.busy({ id: begun.record.id, tenant: 'shop', line: 'order:o1' })).toBe(true);

    let delivered: (w: WriteRecord) => void = () => {};
    const got = new Promise<WriteRecord>((resolve) => (delivered = resolve));
    const deliver: Deliver = async (w) => {
      delivered(w);
      return { state: 'done', status: 200, answer: { orderStatus: 1 } };
    };
    const consumer = repos.queue.consumer(deliver, 1);
    if (consumer.kind !== 'workers') throw new Error('the SQLite queue runs in the core worker pool');
    const pool = new WorkerPool(store.outbox);
    pool.register(consumer.workers);
    const settled = once(pool, 'settled');
    pool.start();
    stops.push(() => pool.stop(1000));
    expect(await got).toMatchObject({ id: begun.record.id, method: 'paycard', verb: 'POST', path: 'orders/o1/payments', line: 'order:o1', key: 'k-1' });
    await settled;
    expect(await repos.idempotency.get(begun.record.id)).toMatchObject({ state: 'done', status: 200, answer: '{"orderStatus":1}' });
    expect(await repos.queue.counts()).toEqual(new Map());
  });

  it("the delivery of a queued write has its method's own timeout, or the tenant's write timeout", async () => {
    const tenant = parseConfig({ regate: { tenants: [TENANT] } }, {}).config.regate.tenants[0];
    const seen: UpstreamRequest[] = [];
    const upstream = { call: async (_kind: string, call: UpstreamRequest) => (seen.push(call), { status: 201, body: { ok: true } }) };
    const runtime: TenantRuntime = { tenant, upstream: upstream as unknown as Upstream, cache: new ReadCache(), onec: 'ok' };
    const deliver = deliverQueued(new Map([['shop', runtime]]));
    const record: WriteRecord = { id: 1, tenant: 'shop', key: 'k', method: 'paycard', verb: 'POST', path: 'orders/o1/payments', body: '{"amount":1}', line: 'order:o1', state: 'queued', status: null, answer: null, createdAt: 0 };
    expect(await deliver(record)).toEqual({ state: 'done', status: 201, answer: { ok: true } });
    expect(await deliver({ ...record, method: 'refund', path: 'orders/o1/refunds' })).toMatchObject({ state: 'done' });
    expect(seen.map((c) => [c.method, c.path, c.timeoutMs, c.requestId])).toEqual([
      ['POST', 'orders/o1/payments', 120_000, 'k'],
      ['POST', 'orders/o1/refunds', 60_000, 'k'],
    ]);
  });

  it('writes recorded before the method was kept get theirs from their 1C verb and path when the store is upgraded', () => {
    const dir = tempDir();
    // A store as the previous version left it: without regate_requests.method_name.
    const db = new Database(join(dir, DB_FILE));
    db.pragma('journal_mode = WAL');
    const before = 11; // migration 12 adds regate_requests.method_name; later ones must not matter here
    for (const m of MIGRATIONS.slice(0, before)) m(db);
    db.pragma(`user_version = ${before}`);
    const insert = db.prepare(`INSERT INTO regate_requests (tenant, key, fingerprint, method, path, body, state, created_at, updated_at, order_key) VALUES ('shop', ?, 'f', ?, ?, NULL, 'queued', 0, 0, '')`);
    const rows: Array<[string, string, string]> = [
      ['PUT', 'clients/rs-1', 'client'],
      ['PATCH', 'clients/rs-1', 'clientupd'],
      ['POST', 'orders', 'booking'],
      ['POST', 'orders/o%2F1/payments', 'paycard'],
      ['POST', 'orders/o1/refunds', 'refund'],
    ];
    rows.forEach(([verb, path], i) => insert.run(`k${i}`, verb, path));
    db.close();
    const store = opened(dir);
    expect(store.sql.all(`SELECT method, path, method_name FROM regate_requests ORDER BY id`)).toEqual(rows.map(([method, path, name]) => ({ method, path, method_name: name })));
  });
});
