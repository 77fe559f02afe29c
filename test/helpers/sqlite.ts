import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { DB_FILE, type DB } from '../../main/store/db.ts';

const open: DB[] = [];

/**
 * A connection of the test's own on a store's file, beside the core's (WAL lets it read and write
 * while the core runs; the busy timeout waits out a commit in progress): for what `store.sql`
 * cannot do, such as running a migration again or checking the file once the store is closed.
 * Closed after the test.
 */
export function sqlite(dataDir: string): DB {
  const db = new Database(join(dataDir, DB_FILE), { fileMustExist: true, timeout: 5000 });
  open.push(db);
  return db;
}

afterEach(() => {
  for (const db of open.splice(0)) db.close();
});
