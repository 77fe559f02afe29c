import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS, type ModuleMigration } from './migrations.ts';

export type DB = Database.Database;

export const DB_FILE = 'sputnik.db';

/**
 * Opens (creating when absent) the one store file with the pragmas durability depends on:
 * WAL + synchronous=FULL so a commit survives power loss; the writer checkpoints itself
 * (a second checkpointing connection lets the WAL grow without bound) and the WAL file is capped.
 */
export function openDatabase(dataDir: string, opts: { readonly?: boolean; migrations?: readonly ModuleMigration[] } = {}): DB {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DB_FILE), { readonly: opts.readonly ?? false, timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) migrate(db, opts.migrations);
  return db;
}

/**
 * The numbered migrations by `user_version`, then the modules' own (`modules`, in order) by id: a
 * store written before modules brought their migrations has no `module_migrations` table yet and
 * gets it, with nothing else changed.
 */
export function migrate(db: DB, modules: readonly ModuleMigration[] = []): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current > MIGRATIONS.length) {
    throw new Error(`Хранилище создано более новой версией Спутника (схема ${current}, эта версия знает ${MIGRATIONS.length}); обновите Спутник`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      MIGRATIONS[v](db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  if (modules.length === 0) return;
  db.exec('CREATE TABLE IF NOT EXISTS module_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const applied = new Set(db.prepare<[], string>('SELECT id FROM module_migrations').pluck().all());
  const sql = { exec: (text: string) => void db.exec(text), run: (text: string, ...params: unknown[]) => db.prepare(text).run(...params) };
  for (const m of modules) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      m.up(sql);
      db.prepare('INSERT INTO module_migrations (id, applied_at) VALUES (?, ?)').run(m.id, Date.now());
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
