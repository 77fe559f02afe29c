import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../main/store/index.ts';
import { backoffMs, PROBE_CAP_MS } from '../../main/store/backoff.ts';
import { WorkerPool } from '../../main/store/worker-pool.ts';
import { DeliveryError } from '../../main/errors.ts';
import type { Job } from '../../main/store/outbox.ts';
import { writeNow } from '../../main/store/write-now.ts';
import { tempDir } from '../helpers/tmp.ts';

function clockStore() {
  const clock = { t: 1_000_000 };
  const dir = tempDir();
  const store = openStore(dir, { now: () => clock.t, random: () => 0.5, leaseMs: 30_000 });
  const enqueue = (key: string, payload: unknown, extra: Partial<{ coalesce: boolean; dedupe: string; connector: string }> = {}) =>
    writeNow(store, () => store.outbox.enqueue({ connector: extra.connector ?? 'passteam', kind: 'card.sync', key, payload, ...extra }));
  return { clock, store, dir, enqueue, outbox: store.outbox };
}

describe('backoff schedule', () => {
  it('doubles from 1 s with jitter and caps at 1 h', () => {
    const lo = (n: number) => backoffMs(n, { random: () => 0 });
    const hi = (n: number) => backoffMs(n, { random: () => 1 });
    expect([1, 2, 3, 4].map(hi)).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map(lo)).toEqual([500, 1000, 2000, 4000]);
    expect(hi(13)).toBe(3_600_000);
    expect(hi(500)).toBe(3_600_000);
    expect(lo(500)).toBe(1_800_000);
    const samples = Array.from({ length: 200 }, () => backoffMs(5));
    expect(new Set(samples).size).toBeGreaterThan(50); // jittered, not lockstep
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(8000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(16000);
  });
});

describe('outbox', () => {
  it('runs jobs of one key in order, one at a time; other keys in parallel', async () => {
    const { outbox, enqueue } = clockStore();
    enqueue('card:1', { v: 1 }, { coalesce: false });
    enqueue('card:1', { v: 2 }, { coalesce: false });
    enqueue('card:2', { v: 'x' });
    const first = outbox.claim('passteam', 10, 'w1');
    expect(first.map((j) => [j.key, j.payload])).toEqual([
      ['card:1', { v: 1 }],
      ['card:2', { v: 'x' }],
    ]);
    expect(outbox.claim('passteam', 10, 'w1')).toEqual([]); // card:1 v2 waits for v1
    await outbox.complete(first[0], 'w1');
    const next = outbox.claim('passteam', 10, 'w1');
    expect(next.map((j) => j.payload)).toEqual([{ v: 2 }]);
  });

  it('coalesces: a newer queued state replaces the older queued one', () => {
    const { outbox, enqueue, store } = clockStore();
    const a = enqueue('card:7', { balance: 1 });
    const b = enqueue('card:7', { balance: 2 });
    const c = enqueue('card:7', { balance: 3 });
    expect(b).toEqual({ id: a!.id, coalesced: true });
    expect(c!.coalesced).toBe(true);
    expect(store.sql.value(`SELECT COUNT(*) FROM jobs`)).toBe(1);
    expect(outbox.claim('passteam', 10, 'w').map((j) => j.payload)).toEqual([{ balance: 3 }]);
  });

  it('while a job runs, a new state queues behind it; if the running one is retried the newer one supersedes it', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', { balance: 1 });
    const [running] = outbox.claim('passteam', 1, 'w');
    enqueue('card:1', { balance: 2 });
    enqueue('card:1', { balance: 3 });
    await outbox.retry(running, 'w', { code: 'network_error', message: 'down' });
    const old = outbox.get(running.id)!;
    expect(old.state).toBe('done');
    expect(old.lastError?.code).toBe('superseded');
    clock.t += 10 * PROBE_CAP_MS;
    const [probe] = outbox.claim('passteam', 5, 'w');
    expect(probe.payload).toEqual({ balance: 3 });
    expect(probe.attempts).toBe(1); // inherits the backoff history
  });

  it('a coalesced job may run sooner than queued (a card save after a settling bonus), never later', () => {
    const { outbox, enqueue, store, clock } = clockStore();
    writeNow(store, () => outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:9', payload: { bonus: 1 }, runAt: clock.t + 1000 }));
    writeNow(store, () => outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:9', payload: { bonus: 2 }, runAt: clock.t + 1000 + 500 }));
    expect(outbox.get(1)!.nextRunAt).toBe(clock.t + 1000); // a burst does not push the send further away
    expect(outbox.claim('passteam', 1, 'w')).toEqual([]);
    enqueue('card:9', { save: true }); // runAt now
    expect(outbox.claim('passteam', 1, 'w').map((j) => j.payload)).toEqual([{ save: true }]);
  });

  it('wakes for a job that fell due between the claim and the wake-up check, but never spins on a blocked key', () => {
    const { outbox, enqueue, clock, store } = clockStore();
    writeNow(store, () => outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:1', payload: {}, runAt: clock.t + 1 }));
    expect(outbox.claim('passteam', 1, 'w')).toEqual([]); // read at due − 1 ms
    clock.t += 1; // the clock moves on before the wake-up is computed
    expect(outbox.nextWakeAt('passteam')).toBe(clock.t); // a timer is set, the job is not stranded
    const [running] = outbox.claim('passteam', 1, 'w');
    enqueue('card:1', { newer: true });
    expect(running).toBeDefined();
    expect(outbox.nextWakeAt('passteam')).toBeNull(); // blocked behind its running key: the end of that job wakes it
  });

  it('a job recovered from a dead process while a newer state waits is superseded by it (one queued state per key)', () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:5', { v: 1 });
    const [held] = outbox.claim('passteam', 1, 'dead');
    enqueue('card:5', { v: 2 });
    clock.t += 31_000;
    expect(outbox.recoverExpired()).toBe(1);
    expect(outbox.get(held.id)!.state).toBe('done');
    enqueue('card:5', { v: 3 }); // coalesces into the one queued job
    const claimed = outbox.claim('passteam', 5, 'w');
    expect(claimed.map((j) => j.payload)).toEqual([{ v: 3 }]);
  });

  it('dedupe makes intake idempotent by key', () => {
    const { enqueue, store } = clockStore();
    expect(enqueue('item:1', { n: 1 }, { dedupe: 'item:1' })).not.toBeNull();
    expect(enqueue('item:1', { n: 1 }, { dedupe: 'item:1' })).toBeNull();
    expect(store.sql.value(`SELECT COUNT(*) FROM jobs`)).toBe(1);
  });

  it('transport failures back off exponentially and are never given up', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', {});
    const delays: number[] = [];
    for (let i = 0; i < 15; i++) {
      clock.t += 4_000_000;
      const [job] = outbox.claim('passteam', 1, 'w');
      expect(job).toBeDefined();
      const runAt = await outbox.retry(job, 'w', { code: 'http_503', message: 'unavailable' });
      delays.push(runAt - clock.t);
    }
    // random() = 0.5 → 3/4 of the ceiling
    expect(delays.slice(0, 4)).toEqual([750, 1500, 3000, 6000]);
    expect(delays[14]).toBe(2_700_000);
    expect(outbox.get(1)!.state).toBe('queued');
    expect(outbox.get(1)!.attempts).toBe(15);
  });

  it('business refusals fail at once and are not retried', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', {});
    const [job] = outbox.claim('passteam', 1, 'w');
    await outbox.fail(job, 'w', { code: 'phone_taken', message: 'Телефон уже привязан' });
    expect(outbox.get(job.id)).toMatchObject({ state: 'failed', lastError: { code: 'phone_taken' } });
    clock.t += 10_000_000;
    expect(outbox.claim('passteam', 10, 'w')).toEqual([]);
    expect(outbox.connectorStatus('passteam').state).toBe('ok');
  });

  it('a connector whose remote is down lets one probe through; success releases every waiting job at once', async () => {
    const { outbox, enqueue, clock } = clockStore();
    for (let i = 0; i < 5; i++) enqueue(`card:${i}`, {});
    const jobs = outbox.claim('passteam', 5, 'w');
    expect(jobs).toHaveLength(5);
    for (const j of jobs) await outbox.retry(j, 'w', { code: 'network_error', message: 'ECONNREFUSED' });
    expect(outbox.connectorStatus('passteam').state).toBe('failing');
    expect(outbox.claim('passteam', 5, 'w')).toEqual([]); // probe time not reached
    clock.t = outbox.connectorStatus('passteam').nextProbeAt!;
    const probe = outbox.claim('passteam', 5, 'w');
    expect(probe).toHaveLength(1); // one probe while the remote is down, not five
    expect(outbox.claim('passteam', 5, 'w')).toEqual([]); // nothing else while the probe runs
    await outbox.complete(probe[0], 'w');
    expect(outbox.connectorStatus('passteam').state).toBe('ok');
    expect(outbox.claim('passteam', 10, 'w')).toHaveLength(4); // released now, not after their own backoff
  });

  it('releases a long outage within seconds of the remote returning, not after the 1 h backoff', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', {});
    enqueue('card:2', {});
    for (let i = 0; i < 30; i++) {
      const j = outbox.claim('passteam', 2, 'w');
      for (const x of j) await outbox.retry(x, 'w', { code: 'network_error', message: 'down' });
      clock.t = Math.max(clock.t + 1, outbox.nextWakeAt('passteam')!);
    }
    // each job has failed ~15 times and waits for most of an hour; the connector probes every ≤ 30 s
    expect(outbox.get(1)!.nextRunAt - clock.t).toBeGreaterThan(10 * 60_000);
    expect(outbox.nextWakeAt('passteam')! - clock.t).toBeLessThanOrEqual(PROBE_CAP_MS);
    clock.t = outbox.nextWakeAt('passteam')!;
    const [probe] = outbox.claim('passteam', 2, 'w');
    await outbox.complete(probe, 'w');
    expect(outbox.claim('passteam', 2, 'w')).toHaveLength(1);
  });

  it('refused credentials pause the connector (no hammering) until settings change', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', {});
    enqueue('card:2', {});
    const [job] = outbox.claim('passteam', 1, 'w');
    await outbox.pause(job, 'w', { code: 'auth_refused', message: 'Токен отклонён' });
    expect(outbox.connectorStatus('passteam')).toMatchObject({ state: 'paused', lastError: { code: 'auth_refused' } });
    expect(outbox.get(job.id)).toMatchObject({ state: 'queued', attempts: 0 });
    clock.t += 86_400_000;
    expect(outbox.claim('passteam', 10, 'w')).toEqual([]);
    expect(outbox.nextWakeAt('passteam')).toBeNull();
    outbox.resume('passteam');
    expect(outbox.claim('passteam', 10, 'w')).toHaveLength(2);
  });

  it('interrupt (a stop cut the run short): back as it was before its lease, due; attempts, last error and the connector untouched', async () => {
    const { outbox, enqueue, clock, store } = clockStore();
    enqueue('card:1', {});
    const [first] = outbox.claim('passteam', 1, 'w');
    await outbox.retry(first, 'w', { code: 'network_error', message: 'down' });
    const failing = outbox.connectorStatus('passteam');
    expect(failing).toMatchObject({ state: 'failing', failures: 1 });
    clock.t = outbox.nextWakeAt('passteam')!;
    const [probe] = outbox.claim('passteam', 1, 'w');
    expect(probe).toMatchObject({ id: first.id, attempts: 1 });
    await outbox.interrupt(probe, 'w', { record: () => store.meta.set('kept', 'create may have reached') });
    expect(outbox.get(probe.id)).toMatchObject({ state: 'queued', attempts: 1, lastError: { code: 'network_error' }, leaseOwner: null, leaseUntil: null });
    expect(outbox.get(probe.id)!.nextRunAt).toBeLessThanOrEqual(clock.t);
    expect(outbox.connectorStatus('passteam')).toEqual(failing); // no new failure, no new backoff
    expect(store.meta.get('kept')).toBe('create may have reached');
    expect(outbox.claim('passteam', 1, 'w').map((j) => j.id)).toEqual([probe.id]); // the probe goes again at once
  });

  it('interrupt: a newer state queued meanwhile supersedes the cut-off job and inherits its attempts, due now', async () => {
    const { outbox, enqueue, clock } = clockStore();
    enqueue('card:1', { v: 1 });
    const [running] = outbox.claim('passteam', 1, 'w');
    enqueue('card:1', { v: 2 });
    await outbox.interrupt(running, 'w');
    expect(outbox.get(running.id)).toMatchObject({ state: 'done', lastError: { code: 'superseded' } });
    const [next] = outbox.claim('passteam', 5, 'w');
    expect(next).toMatchObject({ payload: { v: 2 }, attempts: 0, lastError: null });
    expect(next.nextRunAt).toBeLessThanOrEqual(clock.t);
    expect(outbox.connectorStatus('passteam').state).toBe('ok');
  });

  it('leases: jobs held by a process that died return to the queue once the lease expires', () => {
    const { outbox, enqueue, clock, store, dir } = clockStore();
    enqueue('card:1', {});
    const [job] = outbox.claim('passteam', 1, 'dead-process');
    store.close();
    const reopened = openStore(dir, { now: () => clock.t, leaseMs: 30_000 });
    expect(reopened.outbox.recoverExpired()).toBe(0); // lease still valid
    expect(reopened.outbox.claim('passteam', 1, 'new')).toEqual([]);
    clock.t += 30_001;
    expect(reopened.outbox.recoverExpired()).toBe(1);
    const [again] = reopened.outbox.claim('passteam', 1, 'new');
    expect(again.id).toBe(job.id);
    expect(reopened.outbox.renew(job.id, 'dead-process')).toBe(false);
    reopened.close();
  });

  it('change-feed seq is monotonic across restarts', () => {
    const { store, dir } = clockStore();
    const a = writeNow(store, () => [store.nextSeq(), store.nextSeq()]);
    store.close();
    const again = openStore(dir);
    expect(again.nextSeq()).toBe(a[1] + 1);
    again.close();
  });
});

describe('worker pool', () => {
  it('delivers, retries transport errors, fails refusals, pauses on 401, stops gracefully', async () => {
    const store = openStore(tempDir(), { leaseMs: 30_000 });
    const seen: string[] = [];
    const attempts = new Map<string, number>();
    const pool = new WorkerPool(store.outbox);
    pool.register({
      connector: 'passteam',
      concurrency: 4,
      handle: async (job: Job) => {
        const { mode } = job.payload as { mode: string };
        const n = (attempts.get(job.key) ?? 0) + 1;
        attempts.set(job.key, n);
        seen.push(`${job.key}#${n}`);
        if (mode === 'flaky' && n < 2) throw new DeliveryError('retry', 'http_503', 'down', { retryAfterMs: 10 });
        if (mode === 'refuse') throw new DeliveryError('refused', 'phone_taken', 'занят');
        if (mode === 'auth') throw new DeliveryError('auth', 'auth_refused', 'токен');
      },
    });
    const settled: string[] = [];
    pool.on('settled', (s) => settled.push(`${s.job.key}:${s.outcome}`));
    pool.start();
    await store.commit.run(() => {
      store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'ok', payload: { mode: 'ok' } });
      store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'flaky', payload: { mode: 'flaky' } });
      store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'refuse', payload: { mode: 'refuse' } });
    });
    await expect.poll(() => settled.sort()).toEqual(['flaky:done', 'flaky:retry', 'ok:done', 'refuse:failed']);
    await store.commit.run(() => store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'auth', payload: { mode: 'auth' } }));
    await expect.poll(() => store.outbox.connectorStatus('passteam').state).toBe('paused');
    await pool.stop(1000);
    expect(store.sql.value(`SELECT state FROM jobs WHERE key = 'auth'`)).toBe('queued');
    store.close();
  });

  it('group commit: 1000 concurrent intake calls share few transactions and each resolves only after its row is committed', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    const reader = new Database(join(dir, 'sputnik.db'), { readonly: true });
    const visible = reader.prepare(`SELECT COUNT(*) FROM jobs WHERE dedupe = ?`).pluck();
    const notVisibleAtResolve: string[] = [];
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        store.commit
          .run(() => store.outbox.enqueue({ connector: 'c', kind: 'k', key: `item:${i}`, payload: { i }, dedupe: `item:${i}` }))
          .then(() => {
            if (visible.get(`item:${i}`) !== 1) notVisibleAtResolve.push(`item:${i}`);
          }),
      ),
    );
    expect(notVisibleAtResolve).toEqual([]);
    expect(reader.prepare(`SELECT COUNT(*) FROM jobs`).pluck().get()).toBe(1000);
    expect(store.commit.batches).toBeLessThanOrEqual(5);
    reader.close();
    store.close();
  });

  it('group commit: one failing item rolls back alone; a store-level failure rejects the whole batch with 503', async () => {
    const store = openStore(tempDir());
    const ok = store.commit.run(() => store.sql.run(`INSERT INTO meta (key, value) VALUES ('a', '1')`));
    const bad = store.commit.run(() => {
      store.sql.run(`INSERT INTO meta (key, value) VALUES ('b', '1')`);
      throw new Error('business rule');
    });
    await expect(ok).resolves.toBeDefined();
    await expect(bad).rejects.toThrow('business rule');
    expect(store.meta.get('a')).toBe('1');
    expect(store.meta.get('b')).toBeUndefined();

    const pages = store.sql.value<number>('PRAGMA page_count');
    store.sql.exec(`PRAGMA max_page_count = ${pages}`); // on the store's own connection: its file may not grow
    const big = 'x'.repeat(100_000);
    const results = await Promise.allSettled([
      store.commit.run(() => store.sql.run(`INSERT INTO meta (key, value) VALUES ('c', ?)`, big)),
      store.commit.run(() => store.sql.run(`INSERT INTO meta (key, value) VALUES ('d', '1')`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(store.meta.get('d')).toBeUndefined();
    store.close();
  });
});

describe('store durability switches', () => {
  it('every commit is fsynced (synchronous=FULL) except the ones explicitly marked harmless to lose', async () => {
    const { openDatabase, withoutFsync } = await import('../../main/store/db.ts');
    const db = openDatabase(tempDir());
    const level = () => db.pragma('synchronous', { simple: true });
    expect(level()).toBe(2); // FULL
    expect(withoutFsync(db, level)).toBe(1); // NORMAL for just this commit
    expect(level()).toBe(2);
    expect(() => withoutFsync(db, () => { throw new Error('boom'); })).toThrow('boom');
    expect(level()).toBe(2);
    db.close();
  });
});
