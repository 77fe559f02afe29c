import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore, type Store } from '../../main/store/index.ts';
import { WorkerPool, type JobContext } from '../../main/store/worker-pool.ts';
import { DeliveryError } from '../../main/errors.ts';
import type { Job } from '../../main/store/outbox.ts';
import { writeNow } from '../../main/store/write-now.ts';
import { countSql, type SqlCount } from '../helpers/count-sql.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The pool takes new work in the write that stored it (issue #19): a free worker leases a due job
 * inside the intake's transaction and starts it once that transaction is on disk; a job's outcome
 * is one transaction with the domain's record; a run cut off by a crash counts as an attempt.
 */
const open: Array<{ store: Store; pool: WorkerPool; count?: SqlCount }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.count?.stop();
    await o.pool.stop(1000);
    o.store.close();
  }
});

function setup(handle: (job: Job, ctx: JobContext) => Promise<void>, opts: { now?: () => number } = {}) {
  const dir = tempDir();
  const store = openStore(dir, { leaseMs: 30_000, now: opts.now });
  const pool = new WorkerPool(store.outbox);
  pool.register({ connector: 'passteam', concurrency: 1, handle });
  const o: (typeof open)[number] = { store, pool };
  open.push(o);
  const enqueue = (key: string, extra: { runAt?: number } = {}) =>
    store.write(() => store.outbox.enqueue({ connector: 'passteam', kind: 'k', key, payload: {}, ...extra })!.id, { durability: 'durable' });
  return { dir, store, pool, o, enqueue };
}

describe('a free worker takes a job in the write that stored it', () => {
  it('leases it in that transaction and starts it once it is on disk (ctx.durable); no transaction of its own', async () => {
    const started: Array<{ id: number; durable: boolean; stateOnDisk: unknown }> = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { dir, store, pool, o, enqueue } = setup(async (job, ctx) => {
      const other = new Database(join(dir, 'sputnik.db'), { readonly: true });
      started.push({ id: job.id, durable: ctx.durable, stateOnDisk: other.prepare(`SELECT state FROM jobs WHERE id = ?`).pluck().get(job.id) });
      other.close();
      await gate;
    });
    pool.start();
    o.count = countSql(store);
    const id = await enqueue('card:1');
    await expect.poll(() => started.length).toBe(1);
    expect(started[0]).toEqual({ id, durable: true, stateOnDisk: 'running' });
    // The intake's one transaction holds the job and its lease; nothing else was written to start it.
    const writes = o.count.transactions.filter((t) => t.writes.length > 0);
    expect(writes).toHaveLength(1);
    expect(writes[0].writes.some((w) => w.startsWith('INSERT INTO jobs'))).toBe(true);
    expect(writes[0].writes.some((w) => w.startsWith(`UPDATE jobs SET state = 'running'`))).toBe(true);
    release();
  });

  it('a job that falls due later is claimed by the pump: its lease is not known to be on disk', async () => {
    const clock = { t: 1_000_000 };
    const durable: boolean[] = [];
    const { pool, enqueue } = setup(async (_job, ctx) => void durable.push(ctx.durable), { now: () => clock.t });
    pool.start();
    await enqueue('card:later', { runAt: clock.t + 50 });
    clock.t += 50;
    await expect.poll(() => durable).toEqual([false]);
  });

  it('an intake that rolls back after the enqueue takes its lease with it: nothing starts and the slot is free again', async () => {
    const ran: string[] = [];
    const { store, pool, enqueue } = setup(async (job) => void ran.push(job.key));
    pool.start();
    const rolledBack = store.write(() => {
      store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:gone', payload: {} });
      throw new Error('validation after the enqueue');
    }, { durability: 'durable' });
    await expect(rolledBack).rejects.toThrow('validation after the enqueue');
    await enqueue('card:next'); // the one slot was handed back
    await expect.poll(() => ran).toEqual(['card:next']);
    expect(store.sql.value(`SELECT COUNT(*) FROM jobs WHERE key = 'card:gone'`)).toBe(0);
  });
});

describe("a job's outcome and the domain's record are one transaction", () => {
  it('a refusal stores what the handler set with ctx.onFailure together with the failed job, or neither', async () => {
    const { store, pool, enqueue } = setup(async (job, ctx) => {
      ctx.onFailure((error, outcome) => {
        if (job.key === 'card:bad-record') throw new Error('the record itself fails');
        store.meta.set(`error:${job.key}`, `${outcome}:${error.code}`);
      });
      throw new DeliveryError('refused', 'phone_taken', 'занят');
    });
    const settled: string[] = [];
    pool.on('settled', (s) => settled.push(`${s.job.key}:${s.outcome}`));
    pool.start();
    await enqueue('card:1');
    await expect.poll(() => settled).toEqual(['card:1:failed']);
    expect(store.meta.get('error:card:1')).toBe('failed:phone_taken');
    expect(store.sql.value(`SELECT state FROM jobs WHERE key = 'card:1'`)).toBe('failed');
    // When the domain's record cannot be written, the job's failure is not written either (the lease expires, it runs again).
    await enqueue('card:bad-record');
    await expect.poll(() => settled.length).toBe(2);
    expect(store.sql.value(`SELECT state FROM jobs WHERE key = 'card:bad-record'`)).toBe('running');
  });
});

describe('a run cut off by a crash counts as an attempt', () => {
  it('the recovered job has attempts + 1, and a newer queued state of its key inherits them', () => {
    const clock = { t: 1_000_000 };
    const store = openStore(tempDir(), { now: () => clock.t, leaseMs: 30_000 });
    try {
      const enqueue = (key: string) => writeNow(store, () => store.outbox.enqueue({ connector: 'passteam', kind: 'k', key, payload: {} }));
      enqueue('card:1');
      const [held] = store.outbox.claim('passteam', 1, 'dead');
      clock.t += 31_000;
      expect(store.outbox.recoverExpired()).toBe(1);
      expect(store.outbox.get(held.id)!.attempts).toBe(1);
      const [again] = store.outbox.claim('passteam', 1, 'dead-too');
      enqueue('card:1'); // 1C saves the card again while the second run is in flight
      clock.t += 31_000;
      expect(store.outbox.recoverExpired()).toBe(1);
      expect(store.outbox.get(again.id)!.state).toBe('done'); // superseded by the newer state…
      const [newest] = store.outbox.claim('passteam', 1, 'w');
      expect(newest.id).not.toBe(again.id);
      expect(newest.attempts).toBe(2); // …which knows two runs were cut off
    } finally {
      store.close();
    }
  });
});
