import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgUnavailable, type PgStore, type PgTimers } from '../../main/regate/postgres/connection.ts';
import { PgIdempotency } from '../../main/regate/postgres/idempotency.ts';
import { RenewalHealth } from '../../main/regate/postgres/leases.ts';
import { PgWriteQueue } from '../../main/regate/postgres/queue.ts';
import { startStandalone1C } from '../../main/sandbox/onec/standalone.ts';
import { startPgProxy } from '../helpers/pg-proxy.ts';
import { booking, call, catalogue, seededClients } from '../helpers/regate-cluster.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

/**
 * Ownership of a write across ReGate instances when one of them lives on but loses PostgreSQL
 * (issue 20): a former owner whose lease was taken over writes nothing (fencing tokens), and an
 * instance stops acting on a lease it could not renew before another could take it (self-fencing).
 */

const write = (key: string, orderKey = 'client-1') => ({ tenant: 'shop', key, method: 'POST', path: '/bookings', body: '{"n":1}', orderKey, methodName: 'bookings.create' });

/** Timers that never fire: renewals run only when the test calls renew(). */
const still: PgTimers = { setTimeout: () => 0, clearTimeout: () => undefined };

const leaseUntil = async (store: PgStore, id: number) => (await store.query<{ t: Date }>('SELECT lease_until AS t FROM regate_requests WHERE id = $1', [id])).rows[0].t.getTime();

describe('ReGate on PostgreSQL: a former owner of a write changes nothing', () => {
  const pg = usePostgres();

  it('a write taken over after its lease: its former owner\'s outcome, forget and hand-over to the queue are refused', async () => {
    const db = await pg.freshDatabase('fence_direct');
    const a = new PgIdempotency(db.open(), { instanceId: 'a', leaseMs: 300 });
    const qa = new PgWriteQueue(db.open(), { instanceId: 'a' });
    const b = new PgIdempotency(db.open(), { instanceId: 'b', leaseMs: 30_000 });
    pg.after(() => b.close());
    const ids = await Promise.all(['k1', 'k2', 'k3'].map(async (k) => (await a.begin(write(k, k))).record.id));
    // a lives on but PostgreSQL no longer hears from it: after its lease b takes each write over.
    a.close();
    const taken: number[] = [];
    await until(async () => (taken.push(...(await b.takeOver()).map((r) => r.id)), taken.length === 3), 'the takeover');
    const before = await Promise.all(ids.map((id) => b.get(id)));
    expect(before.map((r) => [r?.state, r?.owner])).toEqual(ids.map(() => ['running', 'b']));

    // a's late words: its outcome, freeing the key, queueing it. Each is refused and changes nothing.
    expect(await a.finish(ids[0], 'failed', 500, { from: 'a' })).toBe(false);
    expect(await a.forget(ids[1])).toBe(false);
    expect(await qa.enqueue(ids[2], a.handOff(ids[2])!)).toBe(false);
    expect(await Promise.all(ids.map((id) => b.get(id)))).toEqual(before);
    expect(await qa.counts()).toEqual(new Map());

    // b's word is kept.
    for (const id of ids) expect(await b.finish(id, 'done', 201, { from: 'b' })).toBe(true);
    expect((await Promise.all(ids.map((id) => b.get(id)))).map((r) => [r?.state, r?.status, r?.answer])).toEqual(ids.map(() => ['done', 201, '{"from":"b"}']));
  });

  it('a queued write claimed again after its claim ran out: the first claimer\'s completion is refused, the second one\'s outcome is stored', async () => {
    const db = await pg.freshDatabase('fence_queue');
    const front = new PgIdempotency(db.open(), { instanceId: 'front' });
    const qa = new PgWriteQueue(db.open(), { instanceId: 'a', leaseMs: 300 });
    const qb = new PgWriteQueue(db.open(), { instanceId: 'b', leaseMs: 30_000 });
    pg.after(() => qb.close());
    const id = (await front.begin(write('q1'))).record.id;
    expect(await qb.enqueue(id, front.handOff(id)!)).toBe(true);
    expect((await qa.claim(1)).map((i) => i.requestId)).toEqual([id]);
    qa.close(); // a lives on, unheard: its claim runs out
    await until(async () => (await qb.claim(1)).length === 1, 'the claim to run out');

    expect(await qa.complete(id, { state: 'failed', status: 500, answer: { from: 'a' } })).toBe(false);
    expect(await front.get(id)).toMatchObject({ state: 'queued', answer: null });
    expect(await qb.counts()).toEqual(new Map([['shop', 1]]));

    expect(await qb.complete(id, { state: 'done', status: 201, answer: { from: 'b' } })).toBe(true);
    expect(await front.get(id)).toMatchObject({ state: 'done', status: 201, answer: '{"from":"b"}' });
    expect(await qb.counts()).toEqual(new Map());
  });

  it('an instance whose renewal failed stops acting on a lease at lease − margin by its own clock, leaves it to run out, and claims nothing until a renewal succeeds', async () => {
    const db = await pg.freshDatabase('fence_self');
    const proxy = await startPgProxy(pg.server);
    pg.after(() => proxy.close());
    const storeA = db.open({ url: proxy.via(db.url), probeIntervalMs: 20 });
    let now = 0;
    const clock = { now: () => now, timers: still, renewals: new RenewalHealth() };
    // Lease 10 s: a's clock gives up at 8 s (a fifth of it as margin).
    const a = new PgIdempotency(storeA, { instanceId: 'a', leaseMs: 10_000, ...clock });
    const qa = new PgWriteQueue(storeA, { instanceId: 'a', leaseMs: 10_000, ...clock });
    const front = new PgIdempotency(db.open(), { instanceId: 'front' });
    const w = (await a.begin(write('mine'))).record.id;
    const queued = (await front.begin(write('waiting', 'client-2'))).record.id;
    await qa.enqueue(queued, front.handOff(queued)!);

    now = 5000;
    expect(await a.renew()).toBe(1); // a's clock: until 13 s
    const renewed = await leaseUntil(db.stores[0], w);
    proxy.cut();
    now = 9000;
    await expect(a.renew()).rejects.toBeInstanceOf(PgUnavailable);
    expect([a.holds(w), a.fenced]).toEqual([true, true]);
    now = 13_000;
    expect(a.holds(w)).toBe(false);

    // PostgreSQL answers again; no renewal has succeeded since the failure: nothing new is taken.
    proxy.restore();
    await until(() => storeA.health.state === 'up', 'the store to be up again');
    expect(await qa.claim(5)).toEqual([]);
    expect(await a.takeOver()).toEqual([]);
    expect(await qa.requeueExpired()).toBe(0);
    // The next renewal succeeds but leaves the lost lease alone: it runs out and another takes it.
    expect(await a.renew()).toBe(0);
    expect(a.fenced).toBe(false);
    expect(await leaseUntil(db.stores[0], w)).toBe(renewed);
    expect((await qa.claim(5)).map((i) => i.requestId)).toEqual([queued]);
    // Nobody took the write meanwhile: a's outcome, under its token, is still the write's.
    expect(await a.finish(w, 'done', 201, {})).toBe(true);
  });

  it('an instance cut off from PostgreSQL longer than its lease while 1C holds its write: another finishes it, the first one\'s late word changes nothing', async () => {
    const db = await pg.freshDatabase('fence_gateways');
    const onec = await startStandalone1C({ port: 0, latencyMs: 5 });
    pg.after(() => onec.stop());
    const proxy = await startPgProxy(pg.server);
    const warned: string[] = [];
    /** An in-process gateway on the shared database, through `url`. */
    const gateway = (name: string, url: string) =>
      pg.gateway({ url, onecBaseUrl: onec.baseUrl, log: { warn: (_: object, msg: string) => void warned.push(`${name}: ${msg}`), info: () => undefined } });
    const a = await gateway('a', proxy.via(db.url));
    const b = await gateway('b', db.url);
    pg.after(() => proxy.close()); // first: a stop must not wait on a way to PostgreSQL left stalled
    const cat = await catalogue(b.base, await seededClients());
    // a's pool holds idle connections: what it sends while cut off waits in them instead of failing to connect.
    await Promise.all(Array.from({ length: 10 }, () => a.repos.pg.store.query('SELECT pg_sleep(0.02)')));

    const key = randomUUID();
    const body = booking(cat, cat.clients[0], `RS-FENCE-${key}`, 0);
    const row = async () => (await db.stores[0].query('SELECT id, state, status, answer, owner, fence, updated_at FROM regate_requests WHERE key = $1', [key])).rows[0];
    const sent = () => onec.fake.requests().filter((r) => r.headers['x-regate-request-id'] === key).length;
    // 1C holds a's call; once let go it fails it (rolled back: not in 1C's register of request ids).
    const letGo = onec.fake.hold();
    onec.fake.failNext(1, 'text500');
    const fromA = call(a.base, 'POST', '/regate/v1/orders', { body, key });
    await expect.poll(sent, { timeout: 30_000 }).toBe(1);
    const id = Number((await row()).id);

    // a loses PostgreSQL: nothing flows either way. By its own clock it stops counting the write as
    // its own before its lease ends; after the lease b takes it over and sends it with the same
    // request id (1C makes it wait for a's call).
    proxy.stall();
    await expect.poll(() => a.repos.pg.idempotency.holds(id), { timeout: 30_000 }).toBe(false);
    await expect.poll(sent, { timeout: 30_000 }).toBe(2);
    letGo();
    // a's call fails in 1C, b's books the order; b stores it.
    await expect.poll(async () => (await row()).state, { timeout: 30_000 }).toBe('done');
    const done = await row();
    expect(done.status).toBe(201);

    // a hears PostgreSQL again: its late word about the write (its outcome unknown, so the key freed) comes now, and changes nothing.
    proxy.restore();
    expect((await fromA).status).toBe(502);
    expect(await row()).toEqual(done);
    expect(warned.filter((w) => w.startsWith('a: ') && w.includes('taken over'))).toHaveLength(1);

    // The key answers b's result from every instance; 1C has one order.
    for (const g of [a, b]) {
      const again = await call(g.base, 'POST', '/regate/v1/orders', { body, key });
      expect([again.status, again.headers['idempotent-replayed'], again.body]).toEqual([201, 'true', JSON.parse(done.answer)]);
    }
    expect(onec.stats()).toMatchObject({ orders: 1, duplicateOrders: 0 });
  }, 120_000);
});
