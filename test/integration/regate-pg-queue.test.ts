import { describe, expect, it } from 'vitest';
import { PgIdempotency } from '../../main/regate/postgres/idempotency.ts';
import { PgWriteQueue, QUEUE_CHANNEL } from '../../main/regate/postgres/queue.ts';
import { PgNotifications } from '../../main/regate/postgres/notifications.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

/** A deterministic random stream (the test's mix of keys and outcomes is the same every run). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('ReGate on PostgreSQL: the queue of writes shared by the instances', () => {
  const pg = usePostgres();

  it('three claimers, 200 writes in random lines: each line runs in order and never two at once', async () => {
    const db = await pg.freshDatabase('queue_fifo');
    const random = seeded(20);
    const idem = new PgIdempotency(db.open(), { instanceId: 'front' });
    const claimers = ['a', 'b', 'c'].map((id) => new PgWriteQueue(db.open(), { instanceId: id, leaseMs: 30_000 }));
    const lines = ['c1', 'c2', 'c3', 'o-17', 'o-18', 'o-19', 'o-20', 'c4'];
    const tenants = ['shop', 'other'];
    const lineOf = new Map<number, string>();
    const expected = new Map<string, number[]>();
    // Writes arrive on all three instances; half are queued before the claimers start, half while they run.
    async function arrive(n: number) {
      const tenant = tenants[Math.floor(random() * tenants.length)];
      const orderKey = lines[Math.floor(random() * lines.length)];
      const begun = await idem.begin({ tenant, key: `k${n}`, method: 'POST', path: '/bookings', body: `{"n":${n}}`, orderKey });
      expect(begun.kind).toBe('new');
      const line = `${tenant}/${orderKey}`;
      lineOf.set(begun.record.id, line);
      expected.set(line, [...(expected.get(line) ?? []), begun.record.id]);
      expect(await claimers[n % 3].enqueue(begun.record.id, idem.handOff(begun.record.id)!)).toBe(true);
    }
    for (let n = 0; n < 100; n++) await arrive(n);
    expect((await idem.get([...lineOf.keys()][0]))!.state).toBe('queued');

    const running = new Set<string>();
    const claimed = new Map<string, number[]>();
    const completed = new Map<string, number[]>();
    const violations: string[] = [];
    let done = 0;
    let failures = 0;
    let aborted = false;
    async function worker(q: PgWriteQueue) {
      try {
        await work(q);
      } catch (e) {
        aborted = true; // the other workers stop too, and the test fails with this error
        throw e;
      }
    }
    async function work(q: PgWriteQueue) {
      while (done < 200 && !aborted) {
        const items = await q.claim(1 + Math.floor(random() * 4));
        if (items.length === 0) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        await Promise.all(
          items.map(async (item) => {
            const line = `${item.tenant}/${item.orderKey}`;
            expect(line).toBe(lineOf.get(item.requestId));
            if (running.has(line)) violations.push(`two of ${line} at once`);
            running.add(line);
            claimed.set(line, [...(claimed.get(line) ?? []), item.requestId]);
            await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
            running.delete(line);
            // Some attempts fail (1C said «busy»): the write goes back to the head of its line.
            if (random() < 0.1) {
              failures++;
              expect(await q.fail(item.requestId, 'busy', { delayMs: 0 })).toBe(true);
              return;
            }
            expect(await q.complete(item.requestId, { state: 'done', status: 201, answer: { id: item.requestId } })).toBe(true);
            completed.set(line, [...(completed.get(line) ?? []), item.requestId]);
            done++;
          }),
        );
      }
    }
    const arriving = (async () => {
      for (let n = 100; n < 200; n++) await arrive(n);
    })();
    await Promise.all([...claimers.map(worker), arriving]);

    expect(violations).toEqual([]);
    expect(failures).toBeGreaterThan(0);
    for (const [line, ids] of expected) {
      // Completed exactly in arrival order; claimed in order too (a retried write is claimed again before the next).
      expect(completed.get(line)).toEqual(ids);
      const c = claimed.get(line)!;
      for (let i = 1; i < c.length; i++) expect(c[i]).toBeGreaterThanOrEqual(c[i - 1]);
    }
    expect(await claimers[0].counts()).toEqual(new Map());
  }, 120_000);

  it('a claim whose lease ran out is claimable again, and its first claimer can no longer complete it', async () => {
    const db = await pg.freshDatabase('queue_lease');
    const idem = new PgIdempotency(db.open(), { instanceId: 'front' });
    const a = new PgWriteQueue(db.open(), { instanceId: 'a', leaseMs: 1000 });
    const b = new PgWriteQueue(db.open(), { instanceId: 'b', leaseMs: 30_000 });
    const first = await idem.begin({ tenant: 't', key: 'x1', method: 'POST', path: '/p', body: null, orderKey: 'line' });
    const second = await idem.begin({ tenant: 't', key: 'x2', method: 'POST', path: '/p', body: null, orderKey: 'line' });
    await a.enqueue(first.record.id, idem.handOff(first.record.id)!);
    await a.enqueue(second.record.id, idem.handOff(second.record.id)!);
    expect(await a.busy('t', 'line')).toBe(true);
    expect(await a.busy('t', 'other')).toBe(false);
    expect((await a.claim(5)).map((i) => i.requestId)).toEqual([first.record.id]);
    // While a lives it renews its claim by itself: b gets neither it nor the next of its line, a lease and more.
    const leased = (await db.stores[0].query<{ t: Date }>('SELECT lease_until AS t FROM regate_write_queue WHERE request_id = $1', [first.record.id])).rows[0].t;
    let stolen = 0;
    await until(async () => {
      stolen += (await b.claim(5)).length;
      return (await db.stores[0].query<{ ok: boolean }>('SELECT clock_timestamp() > $1 AS ok', [new Date(leased.getTime() + 1000)])).rows[0].ok;
    }, 'a lease past the first');
    expect(stolen).toBe(0);
    // a "dies" holding it (no more renewals): after its lease b gets it.
    a.close();
    let got: number[] = [];
    await until(async () => (got = (await b.claim(5)).map((i) => i.requestId)).length > 0, 'the lease to run out');
    expect(got).toEqual([first.record.id]);
    expect(await a.complete(first.record.id)).toBe(false);
    expect(await a.fail(first.record.id, 'late')).toBe(false);
    expect(await b.complete(first.record.id)).toBe(true);
    expect((await b.claim(5)).map((i) => i.requestId)).toEqual([second.record.id]);
  });

  it('a failed write waits for its backoff and holds its line, as does a write of it sent directly; a write taken over late still goes first', async () => {
    const db = await pg.freshDatabase('queue_backoff');
    const idem = new PgIdempotency(db.open(), { instanceId: 'front' });
    const q = new PgWriteQueue(db.open(), { instanceId: 'q', retryDelayMs: () => 3_600_000 });
    const w = await Promise.all(['a', 'b', 'c'].map(async (k) => (await idem.begin({ tenant: 't', key: k, method: 'POST', path: '/p', body: null, orderKey: 'line' })).record.id));
    w.sort((x, y) => x - y);
    const leases = w.map((id) => idem.handOff(id)!);
    // The oldest write is still running (an instance is sending it straight to 1C) while the two after
    // it are queued: nothing of the line is claimed while it is in 1C (never two of a line at once).
    await q.enqueue(w[1], leases[1]);
    await q.enqueue(w[2], leases[2]);
    expect(await q.claim(5)).toEqual([]);
    // The oldest write's instance died; it is queued now, older than the line's head: it goes first, at once.
    await q.enqueue(w[0], leases[0]);
    expect((await q.claim(5)).map((i) => i.requestId)).toEqual([w[0]]);
    expect(await q.complete(w[0])).toBe(true);
    const [head] = await q.claim(1);
    expect(head.requestId).toBe(w[1]);
    expect(await q.fail(head.requestId, '1C недоступна')).toBe(true);
    expect(await q.claim(5)).toEqual([]); // an hour's backoff holds the whole line
    // A clean stop gives claims back at once, the attempt not counted.
    await db.stores[2].query(`UPDATE regate_write_queue SET run_at = clock_timestamp() WHERE request_id = $1`, [w[1]]);
    const again = await q.claim(5);
    expect(again.map((i) => [i.requestId, i.attempts, i.lastError])).toEqual([[w[1], 2, '1C недоступна']]);
    expect(await q.releaseAll()).toBe(1);
    expect((await q.claim(5)).map((i) => [i.requestId, i.attempts])).toEqual([[w[1], 2]]);
    // A finished write is not queued again.
    await db.stores[2].query(`UPDATE regate_requests SET state = 'done', status = 200, answer = '{}' WHERE id = $1`, [w[2]]);
    await db.stores[2].query('DELETE FROM regate_write_queue WHERE request_id = $1', [w[2]]);
    expect(await q.enqueue(w[2], leases[2])).toBe(false);
  });

  it('writes of a dead sender go back in their line, ahead of later ones; a live sender\'s stay', async () => {
    const db = await pg.freshDatabase('queue_requeue');
    const dead = new PgIdempotency(db.open(), { instanceId: 'dead', leaseMs: 300 });
    const alive = new PgIdempotency(db.open(), { instanceId: 'alive', leaseMs: 1000 });
    const q = new PgWriteQueue(db.open(), { instanceId: 'q' });
    const lost = (await dead.begin({ tenant: 't', key: 'lost', method: 'POST', path: '/p', body: null, orderKey: 'line' })).record.id;
    const kept = (await alive.begin({ tenant: 't', key: 'kept', method: 'POST', path: '/p', body: null, orderKey: 'other' })).record.id;
    const later = (await alive.begin({ tenant: 't', key: 'later', method: 'POST', path: '/p', body: null, orderKey: 'line' })).record.id;
    await q.enqueue(later, alive.handOff(later)!); // 1C was down for it: queued behind nothing (the dead sender's write was running, not queued)
    dead.close(); // it dies mid-send
    await until(async () => (await q.requeueExpired({ exclude: alive.sending })) === 1, 'the dead sender\'s write to go back in line');
    expect(await dead.get(lost)).toMatchObject({ state: 'queued', owner: null });
    expect(await alive.get(kept)).toMatchObject({ state: 'running', owner: 'alive' });
    expect((await q.claim(5)).map((i) => i.requestId)).toEqual([lost]);
    expect(await q.requeueExpired()).toBe(0);
    alive.close();
  });

  it('enqueue and complete wake the waiting workers through NOTIFY', async () => {
    const db = await pg.freshDatabase('queue_notify');
    const idem = new PgIdempotency(db.open(), { instanceId: 'front' });
    const q = new PgWriteQueue(db.open(), { instanceId: 'q' });
    const listener = new PgNotifications(db.open());
    const heard: string[] = [];
    listener.on(QUEUE_CHANNEL, (tenant) => heard.push(tenant));
    await listener.ready();
    const r = await idem.begin({ tenant: 'shop', key: 'n1', method: 'POST', path: '/p', body: null, orderKey: 'l' });
    await q.enqueue(r.record.id, idem.handOff(r.record.id)!);
    await until(() => heard.length === 1, 'the enqueue notification');
    await q.claim(1);
    await q.complete(r.record.id);
    await until(() => heard.length === 2, 'the completion notification');
    expect(heard).toEqual(['shop', 'shop']);
    await listener.close();
  });
});
