import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../main/errors.ts';
import { openStore, type Store } from '../../main/store/index.ts';
import type { Job } from '../../main/store/outbox.ts';
import { stoppedBy, WorkerPool, type JobContext, type Settled } from '../../main/store/worker-pool.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A stop aborts the runs still going after its grace. A run that ends on that abort is Sputnik's
 * own doing, not the remote's: its job goes back as it was before its lease (no failure, no
 * backoff, the connector untouched), with what the domain keeps of it (ctx.onInterrupt).
 */
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** What the HTTP client throws when its call is aborted. */
const aborted = () => new DeliveryError('retry', 'network_error', 'Обмен с Passteam прерван: Спутник останавливается или обмен отменён');

/** A pool whose one job runs `handle`; `started` resolves once it runs. */
async function runOne(handle: (job: Job, ctx: JobContext) => Promise<void>) {
  const store = openStore(tempDir(), { leaseMs: 30_000 });
  stores.push(store);
  const pool = new WorkerPool(store.outbox);
  const started = Promise.withResolvers<void>();
  pool.register({
    connector: 'passteam',
    concurrency: 1,
    handle: (job, ctx) => {
      started.resolve();
      return handle(job, ctx);
    },
  });
  const settled: Settled[] = [];
  pool.on('settled', (s) => settled.push(s));
  pool.start();
  const id = await store.write(() => store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:1', payload: {} })!.id, { durability: 'durable' });
  await started.promise;
  return { store, pool, id, settled };
}

const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('WorkerPool.stop and the runs it cuts short', () => {
  it('a run that ends on the abort: back in the queue as before its lease, the domain’s interrupt record kept, no failure, the connector ok', async () => {
    const records: string[] = [];
    const { store, pool, id, settled } = await runOne(async (_job, ctx) => {
      ctx.onFailure((error, outcome) => records.push(`failure:${outcome}:${error.code}`));
      ctx.onInterrupt(() => store.meta.set('create_unsure', '1'));
      await untilAborted(ctx.signal);
      throw aborted();
    });
    await pool.stop(0);
    expect(store.outbox.get(id)).toMatchObject({ state: 'queued', attempts: 0, lastError: null, leaseOwner: null });
    expect(store.sql.value(`SELECT retry_wait FROM jobs WHERE id = ?`, id)).toBe(0);
    expect(store.outbox.connectorStatus('passteam')).toMatchObject({ state: 'ok', failures: 0, lastError: null });
    expect(store.meta.get('create_unsure')).toBe('1');
    expect(records).toEqual([]);
    expect(settled.map((s) => s.outcome)).toEqual(['interrupted']);
  });

  it('an answer the remote gave as the stop came (a refusal) counts as it is', async () => {
    const { store, pool, id, settled } = await runOne(async (_job, ctx) => {
      await untilAborted(ctx.signal);
      throw new DeliveryError('refused', 'phone_taken', 'занят');
    });
    await pool.stop(0);
    expect(store.outbox.get(id)).toMatchObject({ state: 'failed', lastError: { code: 'phone_taken' } });
    expect(settled.map((s) => s.outcome)).toEqual(['failed']);
  });

  it('a run that ignores the abort is handed back when the stop ends, counted as an attempt (it may still reach the remote)', async () => {
    const { store, pool, id } = await runOne(() => new Promise<void>(() => {}));
    await pool.stop(0);
    expect(store.outbox.get(id)).toMatchObject({ state: 'queued', attempts: 1, lastError: null });
    expect(store.outbox.connectorStatus('passteam').state).toBe('ok');
  });

  it('stoppedBy: only the stop’s own abort is an interruption, never a timeout or another abort', () => {
    const other = new AbortController();
    other.abort();
    expect(stoppedBy(other.signal, aborted())).toBe(false);
    const timeout = new AbortController();
    timeout.abort(new DOMException('The operation timed out', 'TimeoutError'));
    expect(stoppedBy(timeout.signal, aborted())).toBe(false);
    expect(stoppedBy(new AbortController().signal, aborted())).toBe(false);
  });
});
