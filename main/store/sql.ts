import type { DB } from './db.ts';
import type Database from 'better-sqlite3';

type Params = unknown[];

/** better-sqlite3's own statement typing: `get` gives `Row | undefined`, `all` gives `Row[]`. */
type Statement<Row> = Database.Statement<Params, Row>;

/**
 * The one handle repositories use for SQL: statements are prepared once per text and kept, so a
 * repository writes its SQL where it reads it instead of keeping a table of prepared statements.
 * Outside `store.write`, a call is its own implicit transaction (reads see the last commit).
 * A row type is the caller's word for what its SQL returns, as with `db.prepare<Params, Row>`.
 */
export interface Sql {
  get<T = Record<string, unknown>>(text: string, ...params: Params): T | undefined;
  all<T = Record<string, unknown>>(text: string, ...params: Params): T[];
  /** The first column of the first row. */
  value<T = unknown>(text: string, ...params: Params): T | undefined;
  /** The first column of every row. */
  column<T = unknown>(text: string, ...params: Params): T[];
  /** The row of a query that always returns one (aggregates); an Error naming the SQL if none came back. */
  one<T = Record<string, unknown>>(text: string, ...params: Params): T;
  /**
   * The number a query always returns (COUNT, COALESCE(MAX(…), 0), a counter migrations put in
   * meta); an Error naming the SQL if it returned no row or something else.
   */
  number(text: string, ...params: Params): number;
  run(text: string, ...params: Params): { changes: number; lastInsertRowid: number | bigint };
  iterate<T = Record<string, unknown>>(text: string, ...params: Params): IterableIterator<T>;
  /** DDL and multi-statement scripts (migrations, FTS maintenance). */
  exec(text: string): void;
}

export function createSql(db: DB): Sql {
  const kept = new Map<string, Statement<unknown>>();
  const plucked = new Map<string, Statement<unknown>>();
  /** The statement kept for `text`, typed with the caller's row type. */
  const keep = <T>(cache: Map<string, Statement<unknown>>, text: string, pluck: boolean): Statement<T> => {
    let s = cache.get(text);
    if (!s) cache.set(text, (s = pluck ? db.prepare<Params, T>(text).pluck() : db.prepare<Params, T>(text)));
    // One statement per text serves every caller of that text, so the map cannot carry each row
    // type: the caller's type argument is re-applied here, the claim db.prepare<Params, T> makes.
    return s as Statement<T>;
  };
  return {
    get: <T>(text: string, ...params: Params) => keep<T>(kept, text, false).get(...params),
    all: <T>(text: string, ...params: Params) => keep<T>(kept, text, false).all(...params),
    value: <T>(text: string, ...params: Params) => keep<T>(plucked, text, true).get(...params),
    column: <T>(text: string, ...params: Params) => keep<T>(plucked, text, true).all(...params),
    one: <T>(text: string, ...params: Params) => {
      const row = keep<T>(kept, text, false).get(...params);
      if (row === undefined) throw new Error(`no row from a query that always returns one: ${text}`);
      return row;
    },
    number: (text: string, ...params: Params) => {
      const value = keep<unknown>(plucked, text, true).get(...params);
      if (typeof value !== 'number') throw new Error(`no number (got ${value === undefined ? 'no row' : String(value)}) from: ${text}`);
      return value;
    },
    run: (text: string, ...params: Params) => keep(kept, text, false).run(...params),
    iterate: <T>(text: string, ...params: Params) => keep<T>(kept, text, false).iterate(...params),
    exec: (text: string) => void db.exec(text),
  };
}
