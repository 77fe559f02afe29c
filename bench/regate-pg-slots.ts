/**
 * The cluster-wide session cap on PostgreSQL (main/regate/postgres/slots.ts): how close do 1, 2
 * and 3 gateway instances (each a thread with its own event loop and pool, as separate processes
 * would have) get to the ceiling's throughput, (poolSize − 1) / latency, and is the cap held?
 * Each instance runs 50 callers that take a slot, "call 1C" for `latency` ms, and give it back. The
 * number of calls in 1C at once is counted across the instances in shared memory.
 *
 *   node bench/regate-pg-slots.ts            (exports benchRegatePgSlots for bench/run.ts)
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PgStore } from '../main/regate/postgres/connection.ts';
import { migrate } from '../main/regate/postgres/migrations.ts';
import { PgNotifications } from '../main/regate/postgres/notifications.ts';
import { PgSessionSlots } from '../main/regate/postgres/slots.ts';
import { startPostgres, withPassword } from '../test/helpers/postgres.ts';
import { fmt, printTable, type BenchResult } from './common.ts';

const POOL_SIZE = 10;
const LATENCY_MS = 30;
const CALLERS = 50;
const SECONDS = 6;
const WARMUP_S = 1;

interface Job {
  url: string;
  id: string;
  shared: SharedArrayBuffer;
  ms: number;
  warmupMs: number;
  local: boolean;
}

/** The baseline: the same callers on an in-memory semaphore (what setTimeout and the event loop allow). */
function localSlots(permits: number) {
  let free = permits;
  const waiting: Array<() => void> = [];
  return {
    acquire: (_tenant: string, _opts: { waitMs?: number }) =>
      new Promise<() => Promise<void>>((resolve) => {
        const grant = () => resolve(async () => (waiting.length > 0 ? waiting.shift()!() : void free++));
        if (free > 0) {
          free--;
          grant();
        } else waiting.push(grant);
      }),
  };
}

/** One instance: its own pool, LISTEN client and slots; counts calls finished after the warm-up. */
async function instance(job: Job): Promise<number> {
  const counters = new Int32Array(job.shared); // [0] in 1C now, [1] the most at once
  const store = new PgStore({ url: job.url, max: 10 });
  const notifications = new PgNotifications(store);
  const pgSlots = new PgSessionSlots(store, { instanceId: job.id, ceiling: () => POOL_SIZE - 1, notifications });
  const slots = job.local ? localSlots(POOL_SIZE - 1) : pgSlots;
  await notifications.ready().catch(() => undefined);
  const start = performance.now();
  const end = start + job.ms;
  let calls = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        const release = await slots.acquire('shop', { waitMs: 30_000 });
        const now = Atomics.add(counters, 0, 1) + 1;
        for (let most = Atomics.load(counters, 1); now > most; most = Atomics.load(counters, 1)) Atomics.compareExchange(counters, 1, most, now);
        await new Promise((r) => setTimeout(r, LATENCY_MS));
        Atomics.sub(counters, 0, 1);
        await release();
        if (performance.now() - start > job.warmupMs && performance.now() < end) calls++;
      }
    }),
  );
  pgSlots.close();
  await notifications.close();
  await store.close();
  return calls;
}

if (!isMainThread) {
  parentPort!.postMessage(await instance(workerData as Job));
}

async function run(url: string, n: number, local = false): Promise<{ perSecond: number; most: number; split: number[] }> {
  const shared = new SharedArrayBuffer(8);
  const ms = (SECONDS + WARMUP_S) * 1000;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { url, id: `i${i}`, shared, ms, warmupMs: WARMUP_S * 1000, local } satisfies Job });
      return new Promise<number>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  const total = results.reduce((a, b) => a + b, 0);
  return { perSecond: total / SECONDS, most: new Int32Array(shared)[1], split: results };
}

export async function benchRegatePgSlots(): Promise<BenchResult> {
  const pg = await startPostgres();
  try {
    const url = withPassword(pg.url, pg.password);
    const store = new PgStore({ url });
    await migrate(store);
    await store.close();
    const ceiling = (POOL_SIZE - 1) / (LATENCY_MS / 1000);
    const rows: Array<Record<string, string | number>> = [{ variant: `ceiling (${POOL_SIZE - 1} / ${LATENCY_MS} ms)`, 'calls/s': fmt(ceiling), 'of ceiling': '1.00', 'most in 1C': POOL_SIZE - 1, split: '' }];
    const local = await run(url, 1, true);
    rows.push({ variant: `1 instance, in-memory semaphore`, 'calls/s': fmt(local.perSecond), 'of ceiling': fmt(local.perSecond / ceiling, 2), 'most in 1C': local.most, split: '' });
    let three = 0;
    for (const n of [1, 2, 3]) {
      const r = await run(url, n);
      if (n === 3) three = r.perSecond / ceiling;
      rows.push({ variant: `${n} instance${n > 1 ? 's' : ''} × ${CALLERS} callers`, 'calls/s': fmt(r.perSecond), 'of ceiling': fmt(r.perSecond / ceiling, 2), 'most in 1C': r.most, split: r.split.join(' / ') });
    }
    return {
      id: 'regate-pg-slots',
      title: `ReGate session cap on PostgreSQL: throughput vs (poolSize − 1) / latency, ${SECONDS} s per variant`,
      rows,
      notes: ['setTimeout stands in for 1C; every instance is a worker thread with its own pool and LISTEN client'],
      summary: `3 instances reach ${fmt(three, 2)} of the ceiling (target ≥ 0.90; the in-memory semaphore reaches ${fmt(local.perSecond / ceiling, 2)}), cap held: see "most in 1C"`,
    };
  } finally {
    pg.destroy();
  }
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchRegatePgSlots();
  console.log(`== ${r.title}`);
  printTable(r.rows);
  for (const n of r.notes) console.log(`  note: ${n}`);
  console.log(r.summary);
}
