import { unsynced, type DB } from './db.ts';
import { errors, SputnikError } from '../errors.ts';
import { errorCode } from '../unknown.ts';
import type { WalSync } from './wal-sync.ts';

/**
 * How a write reaches the disk. `durable`: group-committed and fsynced before the promise settles
 * (what a 2xx to 1C promises). `relaxed`: its own transaction at once, without an fsync (leases,
 * the journal, housekeeping): a power cut may lose it, and the next durable commit's fsync makes
 * it durable too, because the WAL is written in order.
 */
export type Durability = 'durable' | 'relaxed';

interface Committed {
  batch: Pending[];
  out: Array<{ ok: boolean; value: unknown }>;
}

interface Pending {
  fn: (db: DB) => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
  /** Writes submitted from inside this item: they ran in its transaction and settle with it. */
  joined?: Joined[];
}

interface Joined {
  ok: boolean;
  value: unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

/** A failed WAL flush with these codes means the disk lost or refused the data: the batch fails. */
const DISK_ERRORS = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EROFS']);

/** SQLite errors that mean the store itself cannot take writes (as opposed to one bad item). */
const STORE_DOWN = /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|PERM|NOMEM)/;

export function isStoreDown(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && STORE_DOWN.test(code);
}

/**
 * Group commit: every write submitted during one event-loop turn shares one transaction (one
 * fsync), and each caller's promise settles only after that transaction is on disk. Each item
 * runs in its own savepoint, so one item's error rolls back only that item.
 *
 * With a WalSync the fsync leaves the event loop: the transaction is written without one
 * (synchronous=NORMAL) and the WAL is then flushed in the thread pool while the loop goes on
 * taking requests. One flush is in flight at a time; what arrives meanwhile waits and becomes the
 * next transaction, so batches grow with the disk's latency instead of stalling the loop on it.
 */
export class GroupCommit {
  readonly #db: DB;
  readonly #maxBatch: number;
  #wal: WalSync | undefined;
  #pending: Pending[] = [];
  /** Committed, waiting for the WAL flush in flight, and the WalSync doing it. */
  #syncing: { wal: WalSync; waiting: Committed[] } | undefined;
  #scheduled = false;
  #closed = false;
  #batches = 0;
  #failing = false;
  /** The item running now (its savepoint is open). */
  #current: Pending | undefined;
  readonly #item: (fn: (db: DB) => unknown) => unknown;
  readonly #runBatch: (batch: Pending[], out: Array<{ ok: boolean; value: unknown }>) => void;

  constructor(db: DB, opts: { maxBatch?: number; wal?: WalSync } = {}) {
    this.#db = db;
    this.#maxBatch = opts.maxBatch ?? 5000;
    this.#wal = opts.wal;
    const item = (this.#item = db.transaction((fn: (db: DB) => unknown) => fn(db)));
    this.#runBatch = db.transaction((batch: Pending[], out: Array<{ ok: boolean; value: unknown }>) => {
      for (const p of batch) {
        this.#current = p;
        try {
          out.push({ ok: true, value: item(p.fn) });
        } catch (error) {
          if (isStoreDown(error)) throw error;
          out.push({ ok: false, value: error });
        } finally {
          this.#current = undefined;
        }
      }
    });
  }

  /**
   * Runs `fn` inside the next shared transaction; resolves with its result once it is on disk.
   * Called from inside a running item (a write that starts another, e.g. an intake whose enqueue
   * leases the job for a free worker), `fn` runs at once in that item's transaction, in a savepoint
   * of its own, and settles with it: on disk together, or rolled back together.
   */
  run<T>(fn: (db: DB) => T): Promise<T> {
    if (this.#closed) return Promise.reject(errors.storeUnavailable());
    if (this.#current) return this.#join(this.#current, fn);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve, reject });
      this.#schedule();
    });
  }

  /** True while an item runs: a `run` now joins its transaction instead of waiting for the next one. */
  get joining(): boolean {
    return this.#current !== undefined;
  }

  #join<T>(parent: Pending, fn: (db: DB) => T): Promise<T> {
    let ok = true;
    let value: unknown;
    try {
      value = this.#item(fn);
    } catch (error) {
      if (isStoreDown(error)) throw error; // fails the item it joined, and with it the batch
      ok = false;
      value = error;
    }
    return new Promise<T>((resolve, reject) => (parent.joined ??= []).push({ ok, value, resolve, reject }));
  }

  #schedule(): void {
    if (this.#scheduled || this.#syncing || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits everything submitted so far. Called on setImmediate; public for shutdown. */
  flush(): void {
    this.#scheduled = false;
    if (this.#syncing) return; // the flush in flight schedules the next batch when it is done
    const wal = this.#closed ? undefined : this.#wal;
    if (!wal) {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        const out = this.#commit(batch);
        if (out) this.#settle(out, batch);
      }
      return;
    }
    const waiting: Committed[] = [];
    unsynced(this.#db, () => {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        const out = this.#commit(batch);
        if (out) waiting.push({ batch, out });
      }
    });
    if (waiting.length === 0) return;
    const syncing = (this.#syncing = { wal, waiting });
    wal.sync((error) => {
      if (this.#syncing !== syncing) return; // settled by close()
      this.#syncing = undefined;
      this.#synced(waiting, this.#recover(error));
      this.#schedule();
    });
  }

  /**
   * After a failed thread-pool flush: a disk error stands (the batch fails). Any other refusal (a
   * platform that will not flush through a second descriptor) stops its use for good, and SQLite
   * fsyncs the WAL itself through a FULL commit rewriting the header's unchanged user_version; that
   * fsync covers the frames just written, so their callers are answered as usual.
   */
  #recover(error: unknown): unknown {
    if (!error || DISK_ERRORS.has(errorCode(error) ?? '')) return error;
    this.#wal?.close();
    this.#wal = undefined;
    try {
      this.#db.exec(`PRAGMA user_version = ${Number(this.#db.pragma('user_version', { simple: true }))}`);
      return null;
    } catch (error) {
      return error;
    }
  }

  /** One transaction; undefined when the store refused it (its callers are rejected here). */
  #commit(batch: Pending[]): Array<{ ok: boolean; value: unknown }> | undefined {
    const out: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.#runBatch(batch, out);
    } catch (error) {
      this.#failing = true;
      const e = error instanceof SputnikError ? error : errors.storeUnavailable(error);
      for (const p of batch) reject(p, e);
      return undefined;
    }
    this.#batches++;
    return out;
  }

  #synced(committed: Committed[], error: unknown): void {
    if (error) {
      this.#failing = true;
      const e = errors.storeUnavailable(error);
      for (const { batch } of committed) for (const p of batch) reject(p, e);
    } else {
      for (const { batch, out } of committed) this.#settle(out, batch);
    }
  }

  #settle(out: Array<{ ok: boolean; value: unknown }>, batch: Pending[]): void {
    this.#failing = false;
    batch.forEach((p, i) => {
      if (!out[i].ok) return reject(p, out[i].value);
      // Joined writes first: a worker handed a job by this intake starts before the intake's caller goes on.
      for (const j of p.joined ?? []) (j.ok ? j.resolve(j.value) : j.reject(j.value));
      p.resolve(out[i].value);
    });
  }

  /** False from a store-level write failure (disk full, I/O error) until the next successful commit. */
  get healthy(): boolean {
    return !this.#closed && !this.#failing;
  }

  get batches(): number {
    return this.#batches;
  }

  /** Commits what is pending (fsynced before returning) and refuses everything after. */
  close(): void {
    const syncing = this.#syncing;
    if (syncing) {
      this.#syncing = undefined;
      let error: unknown = null;
      try {
        syncing.wal.syncNow();
      } catch (e) {
        error = e;
      }
      this.#synced(syncing.waiting, this.#recover(error));
    }
    this.#closed = true;
    this.flush();
    this.#wal?.close();
  }
}

/** An item that did not commit: it and the writes that joined it are rejected. */
function reject(p: Pending, error: unknown): void {
  for (const j of p.joined ?? []) j.reject(error);
  p.reject(error);
}
