import { afterAll, afterEach, beforeAll } from 'vitest';
import { PgStore, type PgStoreOptions } from '../../main/regate/postgres/connection.ts';
import { migrate } from '../../main/regate/postgres/migrations.ts';
import { startPostgres, type PrivatePostgres } from './postgres.ts';
import { until as untilEvery } from './until.ts';

/** until() at a pace for PostgreSQL round trips: polls every 20 ms. */
export const until = (ok: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> => untilEvery(ok, what, ms, 20);

let n = 0;

export interface FreshDatabase {
  url: string;
  /** One more "instance" (its own pool) on the database. */
  open: (opts?: Partial<PgStoreOptions>) => PgStore;
  stores: PgStore[];
  closeAll: () => Promise<void>;
}

/** A fresh migrated database on `server`; `open()` gives one more "instance" (its own pool) on it. */
export async function freshDatabase(server: PrivatePostgres, prefix: string): Promise<FreshDatabase> {
  const url = server.createDatabase(`${prefix}_${process.pid}_${++n}`);
  const stores: PgStore[] = [];
  const open = (opts: Partial<PgStoreOptions> = {}) => {
    const s = new PgStore({ url, password: server.password, ...opts });
    stores.push(s);
    return s;
  };
  await migrate(open());
  return { url, open, stores, closeAll: async () => void (await Promise.all(stores.map((s) => s.close()))) };
}

export interface PostgresForTests {
  /** The server (started in beforeAll). */
  readonly server: PrivatePostgres;
  /** freshDatabase() on it; its pools are closed after the test. */
  freshDatabase(prefix: string): Promise<FreshDatabase>;
}

/**
 * A private PostgreSQL for the test file (or the describe block it is called in): started before its
 * tests, destroyed after them. The pools of the databases freshDatabase() made close after each test.
 */
export function usePostgres(): PostgresForTests {
  let server: PrivatePostgres | undefined;
  const made: FreshDatabase[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterEach(async () => {
    for (const db of made.splice(0)) await db.closeAll();
  });
  afterAll(() => server?.destroy());
  const started = () => {
    if (!server) throw new Error('PostgreSQL did not start (see beforeAll)');
    return server;
  };
  return {
    get server() {
      return started();
    },
    async freshDatabase(prefix) {
      const db = await freshDatabase(started(), prefix);
      made.push(db);
      return db;
    },
  };
}
