import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.ts';

export type DB = Database.Database;

export const DB_FILE = 'sputnik.db';

/**
 * Opens (creating when absent) the one store file with the pragmas durability depends on:
 * WAL + synchronous=FULL so a commit survives power loss; the writer checkpoints itself
 * (a second checkpointing connection lets the WAL grow without bound) and the WAL file is capped.
 */
export function openDatabase(dataDir: string, opts: { readonly?: boolean } = {}): DB {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DB_FILE), { readonly: opts.readonly ?? false, timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) migrate(db);
  return db;
}

export function migrate(db: DB): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`Хранилище создано более новой версией Спутника (схема ${current}, эта версия знает ${MIGRATIONS.length}); обновите Спутник`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      MIGRATIONS[v](db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * Runs `fn` in a transaction that skips its own fsync (synchronous=NORMAL for just this commit):
 * for writes whose loss in a power cut is harmless (leases, the journal). The next FULL commit's
 * fsync makes them durable too, because the WAL is written in order.
 */
export function withoutFsync<T>(db: DB, fn: () => T): T {
  return unsynced(db, () => db.transaction(fn)());
}

/**
 * Runs `fn` with synchronous=NORMAL: the commits it makes skip their fsync (the group commit then
 * flushes the WAL itself). Through exec, not a kept prepared statement (SQLite applies this pragma
 * when it is prepared), and not db.pragma(), which costs ten times more: it runs once per commit.
 */
export function unsynced<T>(db: DB, fn: () => T): T {
  db.exec('PRAGMA synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.exec('PRAGMA synchronous = FULL');
  }
}
