import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booking, call, fakeStats, gatewayHealth, startCluster, startFake1C, stopFake1C, type Answer, type Cluster, type Instance } from '../helpers/regate-cluster.ts';
import { until } from '../helpers/regate-pg.ts';

/**
 * ReGate on several machines (issue 20), on one: three `sputnik serve` processes sharing one
 * PostgreSQL, in front of one fake 1C (`sputnik sandbox 1c`, pool 10, 30 ms a call), called round
 * robin as a balancer would. Everything is judged by what 1C saw (its stats) and what the gateways
 * answer, waiting on conditions, never on time.
 */

interface Booking {
  key: string;
  body: ReturnType<typeof booking>;
  client: string;
  /** The order 1C made for it, once known. */
  orderId?: string;
  number?: string;
  /** Its operation while queued (202). */
  operation?: string;
}

const orderOf = (body: unknown) => body as { orderId: string; number: string };

describe('ReGate cluster: three instances, one PostgreSQL, one 1C', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 3 });
  }, 180_000);
  afterAll(() => cluster?.stop());

  /**
   * Sends a booking until it has a final answer, each try to the next instance, always with its key
   * and body: 201 (or its replay) is final; 202 leaves its operation; 409 (the first try still
   * running) and 503 are tried again.
   */
  async function book(b: Booking): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const a = await call(cluster.next().url, 'POST', '/regate/v1/orders', { body: b.body, key: b.key });
      if (a.status === 201) {
        b.orderId = orderOf(a.body).orderId;
        b.number = orderOf(a.body).number;
        return;
      }
      if (a.status === 202) {
        b.operation = (a.body as { operationId: string }).operationId;
        return;
      }
      if (a.status !== 409 && a.status !== 503) throw new Error(`booking ${b.key}: ${a.status} ${JSON.stringify(a.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`booking ${b.key}: no final answer`);
  }

  /** Waits until a queued booking's operation is done (asked of the instances in turn), and takes its order. */
  async function settle(b: Booking): Promise<void> {
    if (b.orderId) return;
    await until(
      async () => {
        const a = await call(cluster.next().url, 'GET', `/regate/v1/operations/${b.operation}`);
        const op = a.body as { state: string; result?: { orderId: string; number: string } };
        if (op.state === 'failed') throw new Error(`booking ${b.key} failed: ${JSON.stringify(a.body)}`);
        if (op.state !== 'done') return false;
        b.orderId = op.result!.orderId;
        b.number = op.result!.number;
        return true;
      },
      `the operation of ${b.key} to be done`,
      60_000,
    );
  }

  it('300 callers, mixed reads and bookings round robin: 1C never above 9 at once, every key the same order on every instance, no duplicate order', async () => {
    const bookings: Booking[] = [];
    const reads: Answer[] = [];
    const before = await fakeStats(cluster.fake);
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const client = cluster.clients[i % cluster.clients.length];
        // A page of the assortment (a few dozen distinct pages: misses first, then hits), a booking,
        // its order's state (a miss each), another booking.
        reads.push(await call(cluster.next().url, 'GET', `/regate/v1/stores/${cluster.cat.stores[0]}/assortment?limit=${1 + (i % 40)}`));
        const first: Booking = { key: randomUUID(), client, body: booking(cluster.cat, client, `RS-A-${i}-1`, i) };
        bookings.push(first);
        await book(first);
        if (first.orderId) reads.push(await call(cluster.next().url, 'GET', `/regate/v1/orders/${first.orderId}`));
        const second: Booking = { key: randomUUID(), client, body: booking(cluster.cat, client, `RS-A-${i}-2`, i + 1) };
        bookings.push(second);
        await book(second);
      }),
    );
    for (const b of bookings) await settle(b);
    // A read finds 1C's sessions busy with the crowd's bookings for longer than it waits (5 s): 503
    // with Retry-After, as one gateway answers too. Nothing else.
    const refused = reads.filter((r) => r.status !== 200);
    expect(refused.map((r) => [r.status, (r.body as { code?: string }).code, r.headers['retry-after'] !== undefined])).toEqual(refused.map(() => [503, 'onec_busy', true]));

    // Every key answers its one order, replayed, from every instance.
    for (const node of cluster.nodes) {
      const answers = await Promise.all(bookings.map((b) => call(node.url, 'POST', '/regate/v1/orders', { body: b.body, key: b.key })));
      expect(answers.map((a, i) => [a.status, a.headers['idempotent-replayed'], orderOf(a.body).orderId === bookings[i].orderId])).toEqual(bookings.map(() => [201, 'true', true]));
    }
    const after = await fakeStats(cluster.fake);
    expect(after.maxConcurrent).toBeLessThanOrEqual(9);
    expect(after.duplicateOrders).toBe(0);
    expect(after.orders - before.orders).toBe(bookings.length);
    expect(new Set(bookings.map((b) => b.orderId)).size).toBe(bookings.length);
    // Nothing left in the queue, on any instance's count.
    for (const node of cluster.nodes) await until(async () => (await gatewayHealth(node.url)).tenants.shop.queuedWrites === 0, 'the queue to be empty');
  }, 240_000);

  it('a booking on one instance makes the store\'s cached assortment stale on every instance (NOTIFY); a cached list it does not change stays', async () => {
    const item = cluster.cat.limited[0];
    const page = `/regate/v1/stores/${cluster.cat.stores[0]}/assortment?limit=500`;
    const stockOn = async (node: Instance) => {
      const a = await call(node.url, 'GET', page);
      const found = (a.body as { items: Array<{ id: string; stock: { qty: number } }> }).items.find((i) => i.id === item.id)!;
      return { cache: a.headers['x-cache'], qty: found.stock.qty };
    };
    const lists = '/regate/v1/cities';
    for (const node of cluster.nodes) await call(node.url, 'GET', lists);
    // Every instance has the page cached (fresh for a minute).
    const before = await Promise.all(cluster.nodes.map(async (n) => (await stockOn(n), await stockOn(n))));
    expect(before.map((b) => b.cache)).toEqual(['HIT', 'HIT', 'HIT']);
    const qty = before[0].qty;
    const body = { ...booking(cluster.cat, cluster.clients[0], `RS-I-${randomUUID()}`, 0), lines: [{ itemId: item.id, qty: 1, price: item.price }] };
    const done = await call(cluster.nodes[0].url, 'POST', '/regate/v1/orders', { body, key: randomUUID() });
    expect(done.status).toBe(201);
    // Each instance reads it from 1C again, and sees the stock the booking took.
    for (const node of cluster.nodes) await until(async () => (await stockOn(node)).qty === qty - 1, `instance ${node.pid} to see the booking's stock`);
    for (const node of cluster.nodes) expect((await call(node.url, 'GET', lists)).headers['x-cache']).toBe('HIT');
  }, 120_000);

  it('1C down for a while: writes are queued (202 + operation) on any instance, and done once each, in order per client, when 1C is back', async () => {
    const port = cluster.fake.port;
    await stopFake1C(cluster.fake);
    // Ten clients, three bookings each, one after another per client, each to the next instance.
    const lines = cluster.clients.slice(0, 10).map((client, c) => Array.from({ length: 3 }, (_, n): Booking => ({ key: randomUUID(), client, body: booking(cluster.cat, client, `RS-C-${c}-${n}`, n) })));
    await Promise.all(
      lines.map(async (line) => {
        for (const b of line) {
          const a = await call(cluster.next().url, 'POST', '/regate/v1/orders', { body: b.body, key: b.key });
          expect(a.status).toBe(202);
          expect(a.headers.location).toBe(`/regate/v1/operations/${(a.body as { operationId: string }).operationId}`);
          b.operation = (a.body as { operationId: string }).operationId;
        }
      }),
    );
    // Queued, not done: the operation says so on every instance.
    const first = lines[0][0];
    for (const node of cluster.nodes) expect((await call(node.url, 'GET', `/regate/v1/operations/${first.operation}`)).body).toMatchObject({ state: 'queued' });

    // 1C is back on the same address (a fresh company of the same seed: its clients are there again).
    cluster.fake = await startFake1C({ port, pool: 10, latencyMs: 30 });
    for (const line of lines) for (const b of line) await settle(b);
    const stats = await fakeStats(cluster.fake);
    expect(stats.orders).toBe(30);
    expect(stats.duplicateOrders).toBe(0);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(9);
    // In order per client: 1C numbers its orders as it makes them.
    for (const line of lines) {
      const numbers = line.map((b) => b.number!);
      expect(numbers).toEqual([...numbers].sort());
    }
  }, 240_000);
});
