import { afterAll, afterEach, beforeAll } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { createRegate } from '../../main/regate/index.ts';
import { PgStore, type PgStoreOptions } from '../../main/regate/postgres/connection.ts';
import { migrate } from '../../main/regate/postgres/migrations.ts';
import { pgRepos, type PgRepos, type PgReposOptions } from '../../main/regate/repos/pg.ts';
import { openStore } from '../../main/store/index.ts';
import { startPostgres, type PrivatePostgres } from './postgres.ts';
import { PASSWORD, regateConfig, TENANT } from './regate-cluster.ts';
import { tempDir } from './tmp.ts';
import { selfSigned } from './tls.ts';
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
  /** Runs `stop` after the test: the last given first, before the databases' pools close. */
  after(stop: () => Promise<unknown> | void): void;
  /**
   * An in-process ReGate gateway on the database at `url` (1C at `onecBaseUrl`; lease 1.5 s, 10
   * connections, TENANT's ceiling 9), stopped after the test.
   */
  gateway(opts: { url: string; onecBaseUrl: string; log?: PgReposOptions['log'] }): Promise<{ base: string; repos: PgRepos }>;
}

/**
 * A private PostgreSQL for the test file (or the describe block it is called in): started before its
 * tests, destroyed after them. After each test what after() was given stops, then the pools of the
 * databases freshDatabase() made close.
 */
export function usePostgres(): PostgresForTests {
  let server: PrivatePostgres | undefined;
  const made: FreshDatabase[] = [];
  const stops: Array<() => Promise<unknown> | void> = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
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
    after(stop) {
      stops.push(stop);
    },
    async gateway({ url, onecBaseUrl, log }) {
      const dir = tempDir();
      const { config } = parseConfig({ regate: regateConfig({ tls: selfSigned(dir), baseUrl: onecBaseUrl, password: PASSWORD }) }, {});
      const repos = pgRepos({ url, password: started().password, connections: 10, leaseMs: 1500, ceilings: [[TENANT, 9]], pollMs: 100, log });
      await repos.start(30_000);
      const store = openStore(dir);
      const regate = createRegate({ config: () => config.regate, store, repos });
      const { url: base } = await regate.listen();
      stops.push(async () => {
        await regate.stop();
        store.close();
      });
      return { base, repos };
    },
  };
}
