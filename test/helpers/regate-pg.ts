import { PgStore, type PgStoreOptions } from '../../main/regate/postgres/connection.ts';
import { migrate } from '../../main/regate/postgres/migrations.ts';
import type { PrivatePostgres } from './postgres.ts';

/** Polls `ok` until it holds (a condition, not a sleep); fails with `what` after `ms`. */
export async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let n = 0;

/** A fresh migrated database on `server`; `open()` gives one more "instance" (its own pool) on it. */
export async function freshDatabase(server: PrivatePostgres, prefix: string): Promise<{ url: string; open: (opts?: Partial<PgStoreOptions>) => PgStore; stores: PgStore[]; closeAll: () => Promise<void> }> {
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
