import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { DB } from '../store/db.ts';
import { withoutFsync } from '../store/db.ts';
import { SEARCH_TEXT } from '../store/search-text.ts';

type JournalText = Parameters<typeof SEARCH_TEXT.journal>[0];

/**
 * The journal's search: a trigram index (journal_fts, migration 8) over each row's search text
 * (SEARCH_TEXT.journal), so a search of 100,000 rows answers in about a millisecond where a scan
 * takes ~150 ms (bench journal-search). The text and its trigrams cost 150–500 µs a row to make,
 * more than a whole card save (~250 µs), so rows are written without them and indexed here, in
 * short slices while the process is idle ('journal_indexed' in meta: every row up to that id is
 * indexed); a search matches the newer rows itself.
 */
export class JournalSearchIndex {
  readonly #db: DB;
  readonly #s;
  #timer: NodeJS.Timeout | undefined;
  #elu: EventLoopUtilization | undefined;
  #busy = false;
  /** Milliseconds spent indexing since the last tick. */
  #spent = 0;

  constructor(db: DB) {
    this.#db = db;
    this.#s = {
      indexed: db.prepare(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_indexed'`).pluck(),
      setIndexed: db.prepare(`UPDATE meta SET value = ? WHERE key = 'journal_indexed'`),
      pending: db.prepare(`SELECT id, url, entity, req_body, res_body, error FROM journal WHERE id > ? ORDER BY id LIMIT 64`),
      add: db.prepare(`INSERT INTO journal_fts (rowid, search) VALUES (?, ?)`),
      remove: db.prepare(`DELETE FROM journal_fts WHERE rowid = ?`),
      // Ids start again at MAX(id) + 1: after the journal was pruned empty, 1 again.
      clamp: db.prepare(`UPDATE meta SET value = MIN(CAST(value AS INTEGER), (SELECT COALESCE(MAX(id), 0) FROM journal)) WHERE key = 'journal_indexed'`),
    };
  }

  /** Every journal row up to this id is in the index; the rest are not yet. */
  indexed(): number {
    return this.#s.indexed.get() as number;
  }

  /** Indexes the oldest unindexed rows for about `sliceMs` (at least one row); how many it indexed. */
  step(sliceMs: number): number {
    const deadline = performance.now() + sliceMs;
    // No fsync of its own, like the journal: a crash loses index and marker together.
    return withoutFsync(this.#db, () => {
      let n = 0;
      let last = 0;
      for (const r of this.#s.pending.all(this.indexed()) as Array<JournalText & { id: number }>) {
        this.#s.add.run(r.id, SEARCH_TEXT.journal(r));
        last = r.id;
        n++;
        if (performance.now() >= deadline) break;
      }
      if (n) this.#s.setIndexed.run(String(last));
      return n;
    });
  }

  /** Inside the prune's transaction: takes the pruned rows out of the index. */
  pruned(ids: readonly number[]): void {
    const indexed = this.indexed();
    for (const id of ids) if (id <= indexed) this.#s.remove.run(id);
    this.#s.clamp.run();
  }

  /**
   * Indexes in the background, in the time the event loop had to spare: each second, slices of
   * ≤ 5 ms (the longest a 1C request waits behind one) for up to half of the last second's idle
   * time, at least 10 ms (so a steady load never leaves the index behind for good), at most 300 ms.
   */
  start(): void {
    if (this.#timer) return;
    this.#elu = performance.eventLoopUtilization();
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#busy) return;
    const elu = performance.eventLoopUtilization();
    const last = performance.eventLoopUtilization(elu, this.#elu);
    this.#elu = elu;
    // The loop's load without this indexing's own share of it.
    const others = Math.max(0, last.utilization - this.#spent / Math.max(1, last.idle + last.active));
    let budget = Math.min(300, Math.max(10, (1 - others) * 500));
    this.#spent = 0;
    this.#busy = true;
    const slice = () => {
      let n = 0;
      const started = performance.now();
      try {
        if (this.#timer && this.#db.open) n = this.step(5);
      } catch {
        n = 0; // store unavailable: the next tick tries again
      }
      const took = performance.now() - started;
      this.#spent += took;
      budget -= took;
      if (n > 0 && budget > 0) setImmediate(slice);
      else this.#busy = false;
    };
    slice();
  }
}
