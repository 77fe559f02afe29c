import Database from 'better-sqlite3';
import type { Store } from '../../main/store/index.ts';

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
  database: { inTransaction: boolean };
}

const CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
// By its text: better-sqlite3 calls an UPDATE … RETURNING a reader.
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

/**
 * Counts what the store's own connection does, by wrapping better-sqlite3's Statement methods (the
 * BEGIN and COMMIT of `db.transaction` are statements too): every transaction (a write outside a
 * transaction counts as one of its own) and every statement with the stack it ran from. For tests
 * that assert how many transactions or row reads a path costs. The connection is the one a probe
 * through `store.sql` runs on (the store does not hand it out); other connections on the same file
 * are not counted. `stop()` restores the methods.
 */
export function countSql(store: Pick<Store, 'sql'>): SqlCount {
  // Every connection's statements share one prototype: any statement shows it.
  const scratch = new Database(':memory:');
  const proto = Object.getPrototypeOf(scratch.prepare('SELECT 1')) as Record<'run' | 'get' | 'all' | 'iterate', (...a: unknown[]) => unknown>;
  scratch.close();
  const original = { run: proto.run, get: proto.get, all: proto.all, iterate: proto.iterate };
  const transactions: CountedTransaction[] = [];
  const statements: SqlCount['statements'] = [];
  let current: CountedTransaction | null = null;
  let db: Statement['database'] | undefined;
  let probing = false;

  const record = (st: Statement) => {
    if (probing) db = st.database;
    if (!db || st.database !== db || probing) return;
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
  probing = true;
  try {
    store.sql.value('SELECT 1');
  } finally {
    probing = false;
  }
  return {
    transactions,
    statements,
    stop() {
      Object.assign(proto, original);
    },
  };
}
