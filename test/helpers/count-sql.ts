import type { DB } from '../../main/store/db.ts';

/** One transaction as SQLite saw it: a BEGIN … COMMIT/ROLLBACK, or one write statement on its own (autocommit). */
export interface CountedTransaction {
  writes: string[];
  reads: string[];
  /** The JS stack at BEGIN (or at the autocommit write): who opened it. */
  openedBy: string;
}

export interface SqlCount {
  transactions: CountedTransaction[];
  /** Every statement run (SQL text and the stack it ran from), in order, BEGIN/COMMIT/savepoints left out. */
  statements: Array<{ sql: string; stack: string }>;
  stop(): void;
}

interface Statement {
  source: string;
  database: unknown;
}

const CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
// By its text: better-sqlite3 calls an UPDATE … RETURNING a reader.
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

/**
 * Counts what one connection does, by wrapping better-sqlite3's Statement methods (the BEGIN and
 * COMMIT of `db.transaction` are statements too): every transaction (a write outside a transaction
 * counts as one of its own) and every statement with the stack it ran from. For tests that assert
 * how many transactions or row reads a path costs. `stop()` restores the methods.
 */
export function countSql(db: DB): SqlCount {
  const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<'run' | 'get' | 'all' | 'iterate', (...a: unknown[]) => unknown>;
  const original = { run: proto.run, get: proto.get, all: proto.all, iterate: proto.iterate };
  const transactions: CountedTransaction[] = [];
  const statements: SqlCount['statements'] = [];
  let current: CountedTransaction | null = null;

  const record = (st: Statement) => {
    if (st.database !== db) return;
    const sql = st.source.trim();
    if (/^BEGIN\b/i.test(sql)) {
      current = { writes: [], reads: [], openedBy: new Error().stack ?? '' };
      transactions.push(current);
      return;
    }
    if (/^(COMMIT|END)\b/i.test(sql) || /^ROLLBACK\s*$/i.test(sql)) {
      current = null;
      return;
    }
    if (CONTROL.test(sql)) return;
    statements.push({ sql, stack: new Error().stack ?? '' });
    if (!db.inTransaction) {
      if (WRITE.test(sql)) transactions.push({ writes: [sql], reads: [], openedBy: new Error().stack ?? '' });
      return;
    }
    (WRITE.test(sql) ? current?.writes : current?.reads)?.push(sql);
  };

  for (const name of ['run', 'get', 'all', 'iterate'] as const) {
    const fn = original[name];
    proto[name] = function (this: Statement, ...args: unknown[]) {
      record(this);
      return fn.apply(this, args);
    };
  }
  return {
    transactions,
    statements,
    stop() {
      Object.assign(proto, original);
    },
  };
}
