import type { DB } from './db.ts';
import type Database from 'better-sqlite3';

type Params = unknown[];

/**
 * The one handle repositories use for SQL: statements are prepared once per text and kept, so a
 * repository writes its SQL where it reads it instead of keeping a table of prepared statements.
 * Outside `store.write`, a call is its own implicit transaction (reads see the last commit).
 */
export interface Sql {
  get<T = Record<string, unknown>>(text: string, ...params: Params): T | undefined;
  all<T = Record<string, unknown>>(text: string, ...params: Params): T[];
  /** The first column of the first row. */
  value<T = unknown>(text: string, ...params: Params): T | undefined;
  /** The first column of every row. */
  column<T = unknown>(text: string, ...params: Params): T[];
  run(text: string, ...params: Params): { changes: number; lastInsertRowid: number | bigint };
  iterate<T = Record<string, unknown>>(text: string, ...params: Params): IterableIterator<T>;
  /** DDL and multi-statement scripts (migrations, FTS maintenance). */
  exec(text: string): void;
}

export function createSql(db: DB): Sql {
  const kept = new Map<string, Database.Statement>();
  const plucked = new Map<string, Database.Statement>();
  const stmt = (text: string): Database.Statement => {
    let s = kept.get(text);
    if (!s) kept.set(text, (s = db.prepare(text)));
    return s;
  };
  const pluck = (text: string): Database.Statement => {
    let s = plucked.get(text);
    if (!s) plucked.set(text, (s = db.prepare(text).pluck()));
    return s;
  };
  return {
    get: <T>(text: string, ...params: Params) => stmt(text).get(...params) as T | undefined,
    all: <T>(text: string, ...params: Params) => stmt(text).all(...params) as T[],
    value: <T>(text: string, ...params: Params) => pluck(text).get(...params) as T | undefined,
    column: <T>(text: string, ...params: Params) => pluck(text).all(...params) as T[],
    run: (text: string, ...params: Params) => stmt(text).run(...params),
    iterate: <T>(text: string, ...params: Params) => stmt(text).iterate(...params) as IterableIterator<T>,
    exec: (text: string) => void db.exec(text),
  };
}
