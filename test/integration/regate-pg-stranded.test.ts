import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgUnavailable, type PgStore } from '../../main/regate/postgres/connection.ts';
import { pgRepos, type PgRepos } from '../../main/regate/repos/pg.ts';
import type { WriteRecord } from '../../main/regate/repos/types.ts';
import { startStandalone1C } from '../../main/sandbox/onec/standalone.ts';
import { booking, call, catalogue, seededClients, TENANT } from '../helpers/regate-cluster.ts';
import { usePostgres } from '../helpers/regate-pg.ts';

/**
 * A write this instance stopped handling because a statement about it failed (PostgreSQL away for a
 * moment) is not kept under its lease: only writes it is actually sending are renewed. Otherwise the
 * key said 409 «ещё выполняется» forever while nobody sent it (regate-cluster-pg-faults stalled so).
 */

/** Makes the next statement of `store` whose SQL contains `marker` fail as with PostgreSQL away; resolves when it did. */
function failOnce(store: PgStore, marker: string): Promise<void> {
  const query = store.query.bind(store);
  return new Promise((failed) => {
    let armed = true;
    store.query = ((sql: string, params?: unknown[]) => {
      if (armed && sql.includes(marker)) {
        armed = false;
        failed();
        return Promise.reject(new PgUnavailable('PostgreSQL недоступен: обрыв в тесте', 1));
      }
      return query(sql, params);
    }) as PgStore['query'];
  });
}

describe('ReGate on PostgreSQL: a write nobody sends is not renewed', () => {
  const pg = usePostgres();

  it('a write whose recording and line check failed (503) is not stored: a retry with its key sends it once', async () => {
    const db = await pg.freshDatabase('stranded_direct');
    const onec = await startStandalone1C({ port: 0, latencyMs: 5 });
    pg.after(() => onec.stop());
    const { base, repos } = await pg.gateway({ url: db.url, onecBaseUrl: onec.baseUrl });
    const cat = await catalogue(base, await seededClients());

    const key = randomUUID();
    const body = booking(cat, cat.clients[0], `RS-STRANDED-${key}`, 0);
    // The one statement that records the write and checks its line fails: the caller gets 503, nothing is kept.
    const failed = failOnce(repos.pg.store, 'regate_line_busy');
    const first = await call(base, 'POST', '/regate/v1/orders', { body, key });
    await failed;
    expect([first.status, (first.body as { code: string }).code]).toEqual([503, 'store_unavailable']);
    const { rows } = await db.open().query('SELECT id FROM regate_requests WHERE key = $1', [key]);
    expect(rows).toEqual([]);
    expect(repos.pg.idempotency.sending).toEqual([]);
    const again = await call(base, 'POST', '/regate/v1/orders', { body, key });
    expect(again.status).toBe(201);
    expect(onec.stats()).toMatchObject({ orders: 1, duplicateOrders: 0 });
  }, 120_000);

  /** The store's repositories on `url`, with a 1.5 s lease, closed after the test. */
  async function openRepos(url: string): Promise<PgRepos> {
    const repos = pgRepos({ url, password: pg.server.password, connections: 5, leaseMs: 1500, ceilings: [[TENANT, 9]], pollMs: 100 });
    await repos.start(30_000);
    pg.after(() => repos.close());
    return repos;
  }

  it('a recorded write whose separate line check failed (503) is no longer renewed: its lease runs out', async () => {
    const db = await pg.freshDatabase('stranded_check');
    const repos = await openRepos(db.url);
    const begun = await repos.idempotency.begin({ tenant: TENANT, key: 'c-1', method: 'bookings.create', verb: 'POST', path: '/bookings', body: '{"n":1}', line: 'client-1' });
    expect([begun.kind, begun.lineBusy]).toEqual(['new', false]);
    expect(repos.pg.idempotency.sending).toEqual([begun.record.id]);
    // Asked again without the recorded answer (as a store that does not give one): that statement fails.
    const failed = failOnce(repos.pg.store, 'owner IS DISTINCT FROM');
    await expect(repos.queue.busy(begun.record)).rejects.toMatchObject({ status: 503 });
    await failed;
    expect(repos.pg.idempotency.sending).toEqual([]);
    // Nobody renews it: its lease runs out and it is put back in its line.
    await expect.poll(() => repos.queue.requeueInterrupted(), { timeout: 30_000, interval: 200 }).toBe(1);
    expect((await repos.idempotency.get(begun.record.id))?.state).toBe('queued');
  }, 60_000);

  it('a claimed queued write whose record could not be read: its claim is given up, runs out, and the write is claimed and delivered again', async () => {
    const db = await pg.freshDatabase('stranded_queue');
    const repos = await openRepos(db.url);
    const begun = await repos.idempotency.begin({ tenant: TENANT, key: 'q-1', method: 'bookings.create', verb: 'POST', path: '/bookings', body: '{"n":1}', line: 'client-1' });
    expect(begun.kind).toBe('new');
    await repos.queue.enqueue(begun.record);

    // The consumer claims it, then reading its record fails (PostgreSQL away for that statement).
    const failed = failOnce(repos.pg.store, 'FROM regate_requests WHERE id = $1');
    const delivered: WriteRecord[] = [];
    const consumer = repos.queue.consumer(async (w) => (delivered.push(w), { state: 'done', status: 201, answer: { ok: true } }), 2);
    if (consumer.kind !== 'self') throw new Error('the PostgreSQL queue runs its own consumer');
    pg.after(consumer.start());
    await failed;
    // Nobody sends it now: its claim is not renewed.
    await expect.poll(() => repos.pg.queue.holding).toEqual([]);
    // Its claim runs out; it is claimed again and delivered.
    await expect.poll(async () => (await repos.idempotency.get(begun.record.id))?.state, { timeout: 30_000 }).toBe('done');
    expect(delivered.map((w) => w.key)).toEqual(['q-1']);
    expect(await repos.queue.counts()).toEqual(new Map());
  }, 60_000);
});
