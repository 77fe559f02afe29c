import { openDatabase, type DB } from '../main/store/db.ts';
import { GroupCommit } from '../main/store/group-commit.ts';
import { Outbox } from '../main/store/outbox.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * Store-level intake: ITEMS outbox enqueues from IN_FLIGHT concurrent writers, through the group
 * commit vs. one transaction per item. Both variants hand each write to the next event-loop turn
 * (setImmediate) and await it, as a request handler would; only the batching differs.
 */
const ITEMS = 10_000;
const IN_FLIGHT = 64;
const PAYLOAD = { value: 'x'.repeat(300) };

type Runner = (fn: (db: DB) => unknown) => Promise<unknown>;

async function drive(run: Runner, outbox: Outbox): Promise<number> {
  let next = 0;
  const writer = async () => {
    while (next < ITEMS) {
      const i = next++;
      await run(() => outbox.enqueue({ connector: 'bench', kind: 'bench.item', key: `item:${i}`, payload: PAYLOAD, dedupe: `item:${i}` }));
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  return performance.now() - t0;
}

async function variant(name: string, make: (db: DB) => { run: Runner; batches: () => number }) {
  return withTempDir(async (dir) => {
    const db = openDatabase(dir);
    try {
      const { run, batches } = make(db);
      const ms = await drive(run, new Outbox(db));
      const stored = db.prepare(`SELECT COUNT(*) FROM jobs`).pluck().get() as number;
      if (stored !== ITEMS) throw new Error(`${name}: ${stored} rows stored, expected ${ITEMS}`);
      return { name, ms, perSec: (ITEMS / ms) * 1000, batches: batches() };
    } finally {
      db.close();
    }
  });
}

export async function benchGroupCommit(): Promise<BenchResult> {
  const single = await variant('one transaction per item (baseline)', (db) => {
    let n = 0;
    const tx = db.transaction((fn: (db: DB) => unknown) => fn(db));
    return {
      run: (fn) => new Promise((resolve, reject) => setImmediate(() => { try { n++; resolve(tx(fn)); } catch (e) { reject(e); } })),
      batches: () => n,
    };
  });
  const group = await variant('GroupCommit.run', (db) => {
    const gc = new GroupCommit(db);
    return { run: (fn) => gc.run(fn), batches: () => gc.batches };
  });
  const ratio = group.perSec / single.perSec;
  return {
    id: 'group-commit',
    title: `Store intake: ${fmt(ITEMS)} outbox enqueues, ${IN_FLIGHT} in flight (WAL, synchronous=FULL)`,
    rows: [single, group].map((v) => ({
      variant: v.name,
      'items/s': fmt(v.perSec),
      'total ms': fmt(v.ms),
      commits: fmt(v.batches),
      'items/commit': fmt(ITEMS / v.batches, 1),
      ratio: fmt(v.perSec / single.perSec, 2),
    })),
    notes: [],
    summary: `group commit ${fmt(group.perSec)} items/s = ${fmt(ratio, 1)}× one-transaction-per-item`,
  };
}
