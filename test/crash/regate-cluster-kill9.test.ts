import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../main/regate/postgres/connection.ts';
import { booking, call, fakeStats, kill9, startCluster, startInstance, type Cluster, type Instance } from '../helpers/regate-cluster.ts';
import { until } from '../helpers/regate-pg.ts';

/**
 * kill -9 of a ReGate instance in the middle of bookings, five times (issue 20): three `sputnik
 * serve` processes share one PostgreSQL and one fake 1C; callers keep booking round robin, each
 * booking re-sent with its key to the next instance until it has a final answer. Each time one
 * instance dies while it is sending writes to 1C (seen in PostgreSQL: running writes it owns), and
 * a new one takes its place. The writes it was sending are finished by the others after its lease
 * (3 s here), with their request ids: 1C's register keeps each booking one order.
 */

const LEASE_SECONDS = 3;

interface Booking {
  key: string;
  body: ReturnType<typeof booking>;
  orderId?: string;
  operation?: string;
}

describe('ReGate cluster: kill -9 of an instance in the middle of bookings', () => {
  let cluster: Cluster;
  let db: PgStore;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 3, leaseSeconds: LEASE_SECONDS });
    db = new PgStore({ url: cluster.pg.url, password: cluster.pg.password });
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    cluster?.stop();
  });

  /** Sends a booking to the instances in turn until it has a final answer; a connection cut by a kill is tried again elsewhere. */
  async function book(b: Booking): Promise<void> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      let status: number;
      let body: unknown;
      try {
        ({ status, body } = await call(cluster.next().url, 'POST', '/regate/v1/orders', { body: b.body, key: b.key, timeoutMs: 30_000 }));
      } catch {
        continue; // the instance died under the call: the same key, to the next one
      }
      if (status === 201) {
        b.orderId = (body as { orderId: string }).orderId;
        return;
      }
      if (status === 202) {
        // Queued (its client's line was busy, or its first try's instance died): a customer waits for it before booking again.
        b.operation = (body as { operationId: string }).operationId;
        await until(async () => {
          try {
            const op = (await call(cluster.next().url, 'GET', `/regate/v1/operations/${b.operation}`, { timeoutMs: 30_000 })).body as { state?: string };
            if (op.state === 'failed') throw new Error(`booking ${b.key} failed: ${JSON.stringify(op)}`);
            return op.state === 'done';
          } catch (e) {
            if (e instanceof Error && e.message.startsWith('booking')) throw e;
            return false; // the instance died under the call
          }
        }, `the operation of ${b.key}`, 120_000);
        return;
      }
      if (status !== 409 && status !== 503) throw new Error(`booking ${b.key}: ${status} ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`booking ${b.key}: no final answer`);
  }

  /** Running writes `instance` owns now (its id holds its pid: host/pid/random). */
  async function sending(instance: Instance): Promise<number[]> {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM regate_requests WHERE state = 'running' AND owner LIKE $1`, [`%/${instance.pid}/%`]);
    return rows.map((r) => Number(r.id));
  }

  it('five kills: every booking is one order, the dead instances\' writes are finished by the others, no key is left unfinished', async () => {
    const before = await fakeStats(cluster.fake);
    const bookings: Booking[] = [];
    let stop = false;
    // 45 customers booking one after another, each booking to the next live instance.
    const callers = Array.from({ length: 45 }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const client = cluster.clients[c % cluster.clients.length];
        const b: Booking = { key: randomUUID(), body: booking(cluster.cat, client, `RS-K-${c}-${n}`, n) };
        bookings.push(b);
        await book(b);
      }
    });
    const interrupted: number[] = [];
    for (let round = 0; round < 5; round++) {
      const victim = cluster.nodes[round % cluster.nodes.length];
      // In the middle of bookings: the victim is sending writes to 1C right now.
      let held: number[] = [];
      await until(async () => (held = await sending(victim)).length > 0, `instance ${victim.pid} to be sending writes`, 60_000);
      await kill9(victim);
      interrupted.push(...held);
      cluster.nodes.splice(cluster.nodes.indexOf(victim), 1);
      cluster.nodes.push(await startInstance(cluster.setup));
    }
    stop = true;
    await Promise.all(callers);
    // Every write the dead instances were sending ends done, finished by another instance after the lease.
    await until(async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM regate_requests WHERE id = ANY($1::bigint[]) AND state = 'done'`, [interrupted]);
      return Number(rows[0].n) === new Set(interrupted).size;
    }, 'the dead instances\' writes to be done', 60_000);
    // No key left unfinished: nothing queued or running anywhere.
    await until(async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM regate_requests WHERE state IN ('queued', 'running')`);
      return Number(rows[0].n) === 0;
    }, 'every key to be finished', 60_000);

    // Each booking answers its one order (a queued one through its operation, then its replay).
    for (let i = 0; i < bookings.length; i += 50) {
      const batch = bookings.slice(i, i + 50);
      const answers = await Promise.all(batch.map((b) => call(cluster.next().url, 'POST', '/regate/v1/orders', { body: b.body, key: b.key })));
      answers.forEach((a, j) => {
        const b = batch[j];
        expect([a.status, a.headers['idempotent-replayed']]).toEqual([201, 'true']);
        const orderId = (a.body as { orderId: string }).orderId;
        if (b.orderId) expect(orderId).toBe(b.orderId);
        b.orderId = orderId;
      });
    }
    const after = await fakeStats(cluster.fake);
    expect(after.duplicateOrders).toBe(0);
    expect(after.orders - before.orders).toBe(bookings.length);
    expect(new Set(bookings.map((b) => b.orderId)).size).toBe(bookings.length);
    expect(after.maxConcurrent).toBeLessThanOrEqual(9);
  }, 300_000);
});
