import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Recurring, type RecurringSpec } from '../../main/core/recurring.ts';
import { DeliveryError } from '../../main/errors.ts';
import { openStore, type Store } from '../../main/store/index.ts';
import { RECURRING_KIND } from '../../main/store/outbox.ts';
import { WorkerPool, type Settled } from '../../main/store/worker-pool.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Recurring work on the outbox (main/core/recurring.ts): one queued job per key, planned `every`
 * after the last run ended on the store's clock (injected here: tests move it, never wait for it),
 * failures on the outbox's backoff and connector health, nothing lost or doubled by a restart.
 */
const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const KEY = 'test:pull';

const open: Array<{ pool: WorkerPool; store: Store }> = [];
afterEach(async () => {
  for (const { pool, store } of open.splice(0)) {
    await pool.stop(100);
    store.close();
  }
});

/** A store on a moved clock, with the recurring jobs' lanes in a WorkerPool (leases short, so its safety pump looks every 200 ms). */
function rig(dataDir = tempDir()) {
  const clock = { t: T0 };
  const store = openStore(dataDir, { now: () => clock.t, random: () => 0.5, leaseMs: 600 });
  const recurring = new Recurring(store);
  const pool = new WorkerPool(store.outbox);
  open.push({ pool, store });
  const settled = () => once(pool, 'settled').then(([s]) => s as Settled);
  const start = async () => {
    for (const lane of recurring.lanes([])) pool.register(lane);
    await recurring.start();
    pool.start();
  };
  const rows = () => store.sql.all<{ id: number; state: string; next_run_at: number; attempts: number; kind: string }>(`SELECT id, state, next_run_at, attempts, kind FROM jobs WHERE key = ? ORDER BY id`, KEY);
  const live = () => rows().filter((r) => r.state === 'queued' || r.state === 'running');
  return { clock, store, recurring, pool, settled, start, rows, live, dataDir };
}

const spec = (over: Partial<RecurringSpec<string>> = {}): RecurringSpec<string> => ({ connector: 'docpart', key: KEY, every: 60_000, run: async () => 'ok', ...over });

describe('recurring jobs on the outbox', () => {
  it('the next run is planned `every` after the run ended, on the store clock, and runs when that time comes', async () => {
    const r = rig();
    let runs = 0;
    // A run takes 5 s of the store's clock: the interval counts from its end, not its start.
    const job = r.recurring.add(spec({ run: async () => ((r.clock.t += 5_000), `run ${++runs}`) }));
    const first = r.settled();
    await r.start();
    expect((await first).outcome).toBe('done');
    const end = T0 + 5_000;
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: end + 60_000, kind: RECURRING_KIND })]);
    expect(job.nextAt()).toBe(end + 60_000);

    r.clock.t = end + 60_000;
    expect((await r.settled()).outcome).toBe('done');
    expect(runs).toBe(2);
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: end + 60_000 + 5_000 + 60_000 })]);
    // A key keeps its newest run and its next one, however many runs it had.
    expect(r.rows()).toHaveLength(2);
    // Scheduled work is not a queue waiting for delivery.
    expect(r.store.outbox.depth()).toEqual([]);
  });

  it('a failing run backs off and makes its connector failing; a refusal is retried too; the first success makes it ok', async () => {
    const r = rig();
    const outcomes: Array<() => Promise<string>> = [
      async () => {
        throw new DeliveryError('retry', 'docpart_unavailable', 'Сайт Docpart не отвечает');
      },
      async () => {
        throw new DeliveryError('refused', 'docpart_refused', 'Docpart ответил ошибкой');
      },
      async () => 'ok',
    ];
    const job = r.recurring.add(spec({ run: () => outcomes.shift()!() }));
    const failed = r.settled();
    await r.start();
    expect(await failed).toMatchObject({ outcome: 'retry', error: { code: 'docpart_unavailable' } });
    // The outbox's backoff (random 0.5: 750 ms for the first failure), the connector failing with the reason.
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: T0 + 750, attempts: 1 })]);
    const status = r.store.outbox.connectorStatus('docpart');
    expect(status).toMatchObject({ state: 'failing', failures: 1, nextProbeAt: T0 + 750, lastError: { code: 'docpart_unavailable', message: 'Сайт Docpart не отвечает' } });
    expect(job.nextAt()).toBe(T0 + 750);

    // A refusal is not the end of a recurring job: it backs off like a transport error.
    r.clock.t = T0 + 750;
    expect(await r.settled()).toMatchObject({ outcome: 'retry', error: { code: 'docpart_refused' } });
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', attempts: 2 })]);
    expect(r.store.outbox.connectorStatus('docpart')).toMatchObject({ state: 'failing', failures: 2 });

    r.clock.t += 60_000;
    expect((await r.settled()).outcome).toBe('done');
    expect(r.store.outbox.connectorStatus('docpart')).toMatchObject({ state: 'ok', failures: 0, lastError: null });
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: r.clock.t + 60_000, attempts: 0 })]);
  });

  it('refused credentials pause the connector; runNow releases it and runs at once', async () => {
    const r = rig();
    let key = 'wrong';
    const job = r.recurring.add(
      spec({
        run: async () => {
          if (key === 'wrong') throw new DeliveryError('auth', 'docpart_auth', 'Docpart не принял технический ключ');
          return 'ok';
        },
      }),
    );
    const paused = r.settled();
    await r.start();
    expect((await paused).outcome).toBe('paused');
    expect(r.store.outbox.connectorStatus('docpart').state).toBe('paused');
    expect(job.nextAt()).toBeNull();
    key = 'right';
    await expect(job.runNow()).resolves.toBe('ok');
    expect(r.store.outbox.connectorStatus('docpart').state).toBe('ok');
  });

  it('runNow joins the run under way, or starts one now and settles with its result', async () => {
    const r = rig();
    let release!: () => void;
    let runs = 0;
    const job = r.recurring.add(
      spec({
        every: 3_600_000,
        run: async () => {
          runs++;
          await new Promise<void>((ok) => (release = ok));
          return `run ${runs}`;
        },
      }),
    );
    await r.start();
    while (!job.running()) await new Promise((ok) => setImmediate(ok));
    const joined = [job.runNow(), job.runNow()];
    const done = r.settled();
    release();
    expect(await Promise.all(joined)).toEqual(['run 1', 'run 1']);
    await done;
    expect(job.nextAt()).toBe(T0 + 3_600_000);

    // Idle, an hour before its time: asked for now, it runs now; the plan then counts from that run.
    const asked = job.runNow();
    while (!job.running()) await new Promise((ok) => setImmediate(ok));
    r.clock.t += 1_000;
    release();
    expect(await asked).toBe('run 2');
    await r.settled();
    expect(runs).toBe(2);
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: T0 + 1_000 + 3_600_000 })]);
  });

  it('a restart keeps the plan: exactly one pending run, at the time planned before', async () => {
    const dataDir = tempDir();
    const a = rig(dataDir);
    a.recurring.add(spec());
    const first = a.settled();
    await a.start();
    await first;
    const planned = a.live();
    expect(planned).toEqual([expect.objectContaining({ state: 'queued', next_run_at: T0 + 60_000 })]);
    await a.pool.stop(100);
    a.store.close();
    open.splice(0);

    for (let i = 0; i < 3; i++) {
      const b = rig(dataDir);
      b.clock.t = T0 + 30_000;
      b.recurring.add(spec());
      await b.start();
      expect(b.live()).toEqual(planned);
      await b.pool.stop(100);
      b.store.close();
      open.splice(0);
    }
  });

  it('switched off, no job is planned; switched on again, reschedule plans it an interval after the last run', async () => {
    const r = rig();
    let enabled = false;
    let every = 60_000;
    const job = r.recurring.add(spec({ enabled: () => enabled, every: () => every, firstAt: (now) => now + every }));
    await r.start();
    expect(r.live()).toEqual([]);
    expect(job.nextAt()).toBeNull();
    await expect(job.runNow()).rejects.toThrow(/switched off/);

    enabled = true;
    job.reschedule();
    expect(r.live()).toEqual([expect.objectContaining({ state: 'queued', next_run_at: T0 + 60_000 })]);
    // A longer interval moves the planned run later, a shorter one sooner (never before now).
    every = 600_000;
    job.reschedule();
    expect(job.nextAt()).toBe(T0 + 600_000);

    // Switched off while queued: when its time comes the chain ends without a run.
    enabled = false;
    r.clock.t = T0 + 600_000;
    expect((await r.settled()).outcome).toBe('done');
    expect(r.live()).toEqual([]);
  });
});
