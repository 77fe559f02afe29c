import type { DB } from './db.ts';
import { errors, SputnikError } from '../errors.ts';

interface Pending {
  fn: (db: DB) => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

/** SQLite errors that mean the store itself cannot take writes (as opposed to one bad item). */
const STORE_DOWN = /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|PERM|NOMEM)/;

export function isStoreDown(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && STORE_DOWN.test(code);
}

/**
 * Group commit: every write submitted during one event-loop turn shares one transaction (one
 * fsync), and each caller's promise settles only after that transaction committed. Each item
 * runs in its own savepoint, so one item's error rolls back only that item.
 */
export class GroupCommit {
  readonly #db: DB;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  #batches = 0;
  #failing = false;
  readonly #runBatch: (batch: Pending[], out: Array<{ ok: boolean; value: unknown }>) => void;

  constructor(db: DB, opts: { maxBatch?: number } = {}) {
    this.#db = db;
    this.#maxBatch = opts.maxBatch ?? 5000;
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

  /** Runs `fn` inside the next shared transaction; resolves with its result after the commit. */
  run<T>(fn: (db: DB) => T): Promise<T> {
    if (this.#closed) return Promise.reject(errors.storeUnavailable());
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything submitted so far. Called on setImmediate; public for shutdown. */
  flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      const out: Array<{ ok: boolean; value: unknown }> = [];
      try {
        this.#runBatch(batch, out);
        this.#batches++;
        this.#failing = false;
      } catch (error) {
        this.#failing = true;
        const e = error instanceof SputnikError ? error : errors.storeUnavailable(error);
        for (const p of batch) p.reject(e);
        continue;
      }
      batch.forEach((p, i) => (out[i].ok ? p.resolve(out[i].value) : p.reject(out[i].value)));
    }
  }

  /** False from a store-level write failure (disk full, I/O error) until the next successful commit. */
  get healthy(): boolean {
    return !this.#closed && !this.#failing;
  }

  get batches(): number {
    return this.#batches;
  }

  /** Commits what is pending and refuses everything after. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
