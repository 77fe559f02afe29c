import { openDatabase, withoutFsync } from './db.ts';
import { createSql, type Sql } from './sql.ts';
import { GroupCommit } from './group-commit.ts';
import { openWalSync } from './wal-sync.ts';
import { Outbox, type OutboxOptions } from './outbox.ts';
import type { ModuleMigration } from './migrations.ts';

import type { Durability } from './group-commit.ts';
export type { Durability };

/**
 * The group commit as the rest of Sputnik sees it: an item reaches the store through `sql` (or a
 * repository), never through the connection, which stays inside main/store/.
 */
export interface Commit {
  /** Runs `fn` in the next shared transaction (see GroupCommit.run); resolves once it is on disk. */
  run<T>(fn: () => T): Promise<T>;
  /** Transactions committed so far (benches report it). */
  readonly batches: number;
}

export interface Store {
  commit: Commit;
  /** Statements by text, kept prepared; inside `write`/`read` they join that transaction. */
  sql: Sql;
  /**
   * The one way to write: `fn` runs in a transaction (its own savepoint inside a group commit when
   * durable). Relaxed writes run synchronously before this returns; the promise carries the result
   * so an asynchronous store can stand behind the same call.
   */
  write<T>(fn: () => T, opts: { durability: Durability }): Promise<T>;
  /** A consistent snapshot for several reads. */
  read<T>(fn: () => T): T;
  outbox: Outbox;
  meta: { get(key: string): string | undefined; set(key: string, value: string): void };
  /** Next change-feed sequence number (call inside a transaction, on every row change 1C reads by cursor). */
  nextSeq(): number;
  /** True while the file takes writes; false after a write failed for a store-level reason. */
  writable(): boolean;
  /**
   * Calls `listener` once a write through `write` (or any that moved a feed) is committed: once per
   * event-loop turn however many. The window's live stream waits on it instead of polling.
   */
  onChange(listener: () => void): () => void;
  close(): void;
}

export interface StoreOptions extends OutboxOptions {
  /** Fsync inside each group commit, on the event loop (bench/slow-disk.ts compares it with the default). */
  fsyncInCommit?: boolean;
  /** The registered modules' own migrations (main/core/registry.ts), applied after the numbered ones. */
  migrations?: readonly ModuleMigration[];
}

export function openStore(dataDir: string, opts: StoreOptions = {}): Store {
  const db = openDatabase(dataDir, { migrations: opts.migrations });
  const commit = new GroupCommit(db, { wal: opts.fsyncInCommit ? undefined : openWalSync(db) });
  const outbox = new Outbox(db, { ...opts, commit });
  const getMeta = db.prepare<[string], string>(`SELECT value FROM meta WHERE key = ?`).pluck();
  const setMeta = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const seq = db.prepare<[], number>(`UPDATE feed SET seq = seq + 1 WHERE id = 1 RETURNING seq`).pluck();
  const sql = createSql(db);
  let closed = false;
  // Signalled inside a write's transaction, heard on a later turn: every transaction here is
  // synchronous, so by then it is committed (or rolled back, and the listeners find nothing new).
  const listeners = new Set<() => void>();
  let signalled = false;
  const changed = () => {
    if (signalled || listeners.size === 0) return;
    signalled = true;
    setImmediate(() => {
      signalled = false;
      for (const l of listeners) l();
    });
  };
  const changing =
    <T>(fn: () => T) =>
    (): T => {
      const result = fn();
      changed();
      return result;
    };
  return {
    commit,
    sql,
    write<T>(fn: () => T, opts: { durability: Durability }): Promise<T> {
      // Inside a group-committed write a relaxed one joins it (switching to NORMAL mid-transaction would not hold).
      if (opts.durability === 'durable' || commit.joining) return commit.run(changing(fn));
      try {
        return Promise.resolve(withoutFsync(db, changing(fn)));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    read: <T>(fn: () => T): T => db.transaction(fn)(),
    outbox,
    meta: {
      get: (key) => getMeta.get(key),
      set: (key, value) => void setMeta.run(key, value),
    },
    nextSeq() {
      const n = seq.get();
      // Migration 1 writes the feed's one row and nothing deletes it.
      if (n === undefined) throw new Error('store: the change feed row is missing');
      changed();
      return n;
    },
    writable: () => !closed && db.open && commit.healthy,
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      commit.close();
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    },
  };
}

export type { Sql } from './sql.ts';
