import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type { DB } from './db.ts';
import { errors, SputnikError } from '../errors.ts';

interface Pending {
  fn: (db: DB) => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

type Settled = Array<{ p: Pending; ok: boolean; value: unknown }>;

/** SQLite errors that mean the store itself cannot take writes (as opposed to one bad item). */
const STORE_DOWN = /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|PERM|NOMEM)/;

export function isStoreDown(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && STORE_DOWN.test(code);
}

/**
 * Group commit: writes submitted together share one transaction, and each caller's promise
 * settles only after that transaction is on disk. Each item runs in its own savepoint, so one
 * item's error rolls back only that item.
 *
 * The disk flush runs off the event loop: a batch commits without SQLite's own fsync
 * (synchronous=NORMAL for that transaction) and the WAL file is then fdatasync'd on libuv's
 * thread pool, so the loop goes on parsing requests and reading remote answers meanwhile. One
 * flush is in flight at a time; whatever is submitted during it commits as the next batch when it
 * ends (bigger batches, fewer commits). The WAL only grows between checkpoints, so a flush covers
 * every frame written before it started. A store without a WAL file commits with SQLite's fsync.
 */
export class GroupCommit {
  readonly #db: DB;
  readonly #maxBatch: number;
  readonly #runBatch: (batch: Pending[], out: Array<{ ok: boolean; value: unknown }>) => void;
  readonly #syncMode: { normal: () => void; full: () => void };
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  #batches = 0;
  #failing = false;
  #walFd: number | null | undefined;
  /** Committed, waiting for the flush in flight (or the next one). */
  #unsynced: Settled = [];
  #syncing = false;

  constructor(db: DB, opts: { maxBatch?: number } = {}) {
    this.#db = db;
    this.#maxBatch = opts.maxBatch ?? 5000;
    const normal = db.prepare('PRAGMA synchronous = NORMAL');
    const full = db.prepare('PRAGMA synchronous = FULL');
    this.#syncMode = { normal: () => void normal.run(), full: () => void full.run() };
    const item = db.transaction((fn: (db: DB) => unknown) => fn(db));
    this.#runBatch = db.transaction((batch: Pending[], out: Array<{ ok: boolean; value: unknown }>) => {
      for (const p of batch) {
        try {
          out.push({ ok: true, value: item(p.fn) });
        } catch (error) {
          if (isStoreDown(error)) throw error;
          out.push({ ok: false, value: error });
        }
      }
    });
  }

  /** Runs `fn` inside the next shared transaction; resolves with its result once it is on disk. */
  run<T>(fn: (db: DB) => T): Promise<T> {
    if (this.#closed) return Promise.reject(errors.storeUnavailable());
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve, reject });
      this.#schedule();
    });
  }

  /** The next commit: at the end of this turn, or when the flush in flight ends. */
  #schedule(): void {
    if (this.#scheduled || this.#syncing) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits everything submitted so far and starts its disk flush. Public for shutdown. */
  flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      const out: Array<{ ok: boolean; value: unknown }> = [];
      try {
        this.#commit(batch, out);
        this.#batches++;
        this.#failing = false;
      } catch (error) {
        this.#failing = true;
        const e = error instanceof SputnikError ? error : errors.storeUnavailable(error);
        for (const p of batch) p.reject(e);
        continue;
      }
      const settled = batch.map((p, i) => ({ p, ok: out[i].ok, value: out[i].value }));
      if (this.#walFd === null) settle(settled);
      else this.#unsynced.push(...settled);
    }
    if (this.#unsynced.length > 0 && !this.#syncing) this.#sync();
  }

  /** One transaction; without SQLite's fsync when the WAL is flushed by `#sync`. */
  #commit(batch: Pending[], out: Array<{ ok: boolean; value: unknown }>): void {
    if (this.#wal() === null) return this.#runBatch(batch, out);
    this.#syncMode.normal();
    try {
      this.#runBatch(batch, out);
    } finally {
      this.#syncMode.full();
    }
  }

  /** The WAL file's descriptor, opened at the first commit; null for a store without one. */
  #wal(): number | null {
    if (this.#walFd === undefined) {
      const file = this.#db.memory ? '' : `${this.#db.name}-wal`;
      this.#walFd = file && existsSync(file) ? openSync(file, 'r+') : null;
    }
    return this.#walFd;
  }

  #sync(): void {
    const waiting = this.#unsynced;
    this.#unsynced = [];
    this.#syncing = true;
    fdatasync(this.#walFd!, (error) => {
      this.#syncing = false;
      if (error) {
        this.#failing = true;
        const e = errors.storeUnavailable(error);
        for (const s of waiting) s.p.reject(e);
      } else settle(waiting);
      if (this.#closed) return this.#closeWal();
      if (this.#pending.length > 0) this.flush();
      else if (this.#unsynced.length > 0) this.#sync();
    });
  }

  /** After close: flushes what is left synchronously and closes the descriptor (not under a flush in flight). */
  #closeWal(): void {
    if (this.#syncing || this.#walFd === null || this.#walFd === undefined) return;
    const waiting = this.#unsynced;
    this.#unsynced = [];
    try {
      fdatasyncSync(this.#walFd);
      settle(waiting);
    } catch (error) {
      for (const s of waiting) s.p.reject(errors.storeUnavailable(error));
    }
    closeSync(this.#walFd);
    this.#walFd = null;
  }

  /** False from a store-level write failure (disk full, I/O error) until the next successful commit. */
  get healthy(): boolean {
    return !this.#closed && !this.#failing;
  }

  get batches(): number {
    return this.#batches;
  }

  /** Commits what is pending (on disk before this returns, unless a flush is in flight) and refuses everything after. */
  close(): void {
    this.flush();
    this.#closed = true;
    this.#closeWal();
  }
}

function settle(settled: Settled): void {
  for (const s of settled) (s.ok ? s.p.resolve(s.value) : s.p.reject(s.value));
}
