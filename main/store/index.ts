import { openDatabase, type DB } from './db.ts';
import { GroupCommit } from './group-commit.ts';
import { openWalSync } from './wal-sync.ts';
import { Outbox, type OutboxOptions } from './outbox.ts';

export interface Store {
  db: DB;
  commit: GroupCommit;
  outbox: Outbox;
  meta: { get(key: string): string | undefined; set(key: string, value: string): void };
  /** Next change-feed sequence number (call inside a transaction, on every row change 1C reads by cursor). */
  nextSeq(): number;
  /** True while the file takes writes; false after a write failed for a store-level reason. */
  writable(): boolean;
  close(): void;
}

export interface StoreOptions extends OutboxOptions {
  /** Fsync inside each group commit, on the event loop (bench/slow-disk.ts compares it with the default). */
  fsyncInCommit?: boolean;
}

export function openStore(dataDir: string, opts: StoreOptions = {}): Store {
  const db = openDatabase(dataDir);
  const commit = new GroupCommit(db, { wal: opts.fsyncInCommit ? undefined : openWalSync(db) });
  const outbox = new Outbox(db, opts);
  const getMeta = db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck();
  const setMeta = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const seq = db.prepare(`UPDATE feed SET seq = seq + 1 WHERE id = 1 RETURNING seq`).pluck();
  let closed = false;
  return {
    db,
    commit,
    outbox,
    meta: {
      get: (key) => getMeta.get(key) as string | undefined,
      set: (key, value) => void setMeta.run(key, value),
    },
    nextSeq: () => seq.get() as number,
    writable: () => !closed && db.open && commit.healthy,
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

export type { DB } from './db.ts';
