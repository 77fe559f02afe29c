import { describe, expect, it } from 'vitest';
import { PgStore, PgUnavailable, type PgHealth, type PgTimers } from '../../main/regate/postgres/connection.ts';
import { migrate, MIGRATIONS } from '../../main/regate/postgres/migrations.ts';
import { PgNotifications } from '../../main/regate/postgres/notifications.ts';
import { openPgRegate } from '../../main/regate/postgres/index.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

/** Timers the test fires by hand: the probe's schedule is observed, not waited for. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const timers: PgTimers = {
    setTimeout: (fn, ms) => {
      pending.set(++next, { fn, ms });
      return next;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  return {
    timers,
    pending,
    /** Fires every timer due now (those scheduled meanwhile wait for the next call). */
    fire() {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, t] of due) t.fn();
      return due.map(([, t]) => t.ms);
    },
  };
}

describe('ReGate on PostgreSQL: the connection, its health, LISTEN/NOTIFY and the migrations', () => {
  const pg = usePostgres();

  it('three instances migrating one fresh database together apply each step once', async () => {
    const url = pg.server.createDatabase('migrate_race');
    const stores = [0, 1, 2].map(() => new PgStore({ url, password: pg.server.password }));
    const results = await Promise.all(stores.map((s) => migrate(s)));
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect(results.every((r) => r.to === latest)).toBe(true);
    const { rows } = await stores[0].query('SELECT version FROM regate_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(stores[1])).toEqual({ from: latest, to: latest });
    // A database a newer ReGate migrated is refused, in words for the operator.
    await stores[0].query(`INSERT INTO regate_migrations (version, name) VALUES (999, 'from the future')`);
    await expect(migrate(stores[2])).rejects.toThrow(/более новой версией ReGate \(схема 999/);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('tx commits, rolls back on an error, and hands the error on', async () => {
    const store = new PgStore({ url: pg.server.createDatabase('tx_basics'), password: pg.server.password });
    await store.query('CREATE TABLE t (n int PRIMARY KEY)');
    await store.tx(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
    });
    await expect(
      store.tx(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2)');
        await tx.query('INSERT INTO t VALUES (1)'); // duplicate key
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await store.query('SELECT n FROM t ORDER BY n')).rows).toEqual([{ n: 1 }]);
    await store.close();
  });

  it('a statement with parameters is prepared once per connection and reused; one without runs as before', async () => {
    // One connection, so the session that prepared is the one asked.
    const store = new PgStore({ url: pg.server.createDatabase('prepared'), password: pg.server.password, max: 1 });
    const text = 'SELECT $1::int + 1 AS n';
    for (const n of [1, 2, 3]) expect((await store.query<{ n: number }>(text, [n])).rows).toEqual([{ n: n + 1 }]);
    const prepared = await store.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements WHERE statement = $1', [text]);
    expect(prepared.rows).toHaveLength(1); // the old code sent it unnamed: nothing kept
    expect((await store.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await store.close();
  });

  it('a wrong password makes the store down with a Russian reason that does not contain it', async () => {
    const secret = 'not-the-password-4821';
    const store = new PgStore({ url: pg.server.url, password: secret, timers: manualTimers().timers });
    const e = await store.query('SELECT 1').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PgUnavailable);
    expect((e as PgUnavailable).reason).toBe('PostgreSQL недоступен: неверный пароль пользователя sputnik');
    expect(JSON.stringify(store.health)).not.toContain(secret);
    expect(String((e as Error).stack)).not.toContain(secret);
    await store.close();
    // Opening everything gives up after its wait with the same words.
    await expect(openPgRegate({ url: pg.server.url, password: secret, ceiling: () => 9, readyTimeoutMs: 300 })).rejects.toThrow('PostgreSQL недоступен: неверный пароль пользователя sputnik');
  });

  it('openPgRegate migrates and wires every repository under one instance id', async () => {
    const url = pg.server.createDatabase('open_all');
    const regate = await openPgRegate({ url, password: pg.server.password, ceiling: () => 9 });
    expect(regate.instanceId).toMatch(/\/\d+\//);
    const begun = await regate.idempotency.begin({ tenant: 'shop', key: 'k', method: 'POST', path: '/p', body: null, orderKey: 'c' });
    expect(begun.record.owner).toBe(regate.instanceId);
    expect(await regate.queue.enqueue(begun.record.id, regate.idempotency.handOff(begun.record.id)!)).toBe(true);
    expect((await regate.queue.claim(1))[0].requestId).toBe(begun.record.id);
    const release = await regate.slots.acquire('shop');
    await release();
    expect((await regate.quota.hit('shop', 10)).allowed).toBe(true);
    expect((await regate.logins.check('1.2.3.4')).blocked).toBe(false);
    await regate.instances.beat();
    expect((await regate.instances.live(60_000)).map((i) => i.id)).toEqual([regate.instanceId]);
    const { rows } = await regate.store.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    expect(rows[0].application_name).toContain(regate.instanceId.slice(0, 20));
    await regate.close();
  });

  it('PostgreSQL stopped: down with a reason, queries fail fast and typed; started: up again by itself, the same object', async () => {
    const clock = manualTimers();
    const store = new PgStore({ url: pg.server.createDatabase('health'), password: pg.server.password, timers: clock.timers });
    const seen: PgHealth['state'][] = [];
    store.on('down', (h) => seen.push(h.state));
    store.on('up', (h) => seen.push(h.state));
    expect((await store.query<{ n: number }>('SELECT 1 AS n')).rows[0].n).toBe(1);
    expect(store.health).toEqual({ state: 'up' });

    pg.server.stop();
    const failed = await store.query('SELECT 1').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PgUnavailable);
    expect(failed).toMatchObject({ code: 'pg_unavailable' });
    expect((failed as PgUnavailable).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const down = store.health;
    expect(down.state).toBe('down');
    if (down.state === 'up') throw new Error('unreachable');
    expect(down.reason).toMatch(/^PostgreSQL недоступен: (соединение отклонено \(127\.0\.0\.1:\d+\)|сервер остановлен или перезапускается|соединение оборвалось)$/);
    expect(JSON.stringify(down)).not.toContain(pg.server.password);
    expect(seen).toEqual(['down']);

    // While down, a query never reaches the pool: it fails at once with the same reason.
    const fast = await store.query('SELECT 1').catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(PgUnavailable);
    expect((fast as PgUnavailable).reason).toBe(down.reason);
    await expect(store.tx(async () => 1)).rejects.toBeInstanceOf(PgUnavailable);

    // The first probe goes at once; a failed one schedules the next a second later.
    expect([...clock.pending.values()].map((t) => t.ms)).toEqual([0]);
    clock.fire();
    await until(() => store.health.state === 'down' && clock.pending.size === 1, 'the failed probe');
    expect([...clock.pending.values()].map((t) => t.ms)).toEqual([1000]);
    expect(store.health).toMatchObject({ state: 'down', since: down.since });

    pg.server.start();
    clock.fire();
    await until(() => store.health.state === 'up', 'the store to come back up');
    expect(seen).toEqual(['down', 'up']);
    expect((await store.query<{ n: number }>('SELECT 2 AS n')).rows[0].n).toBe(2);
    await store.close();
  }, 60_000);

  it('LISTEN survives a restart of PostgreSQL: it reconnects, listens again and says it may have missed some', async () => {
    const url = pg.server.createDatabase('listen');
    const a = new PgStore({ url, password: pg.server.password, probeIntervalMs: 50 });
    const b = new PgStore({ url, password: pg.server.password, probeIntervalMs: 50 });
    const listener = new PgNotifications(a, { reconnectMs: 50 });
    const heard: string[] = [];
    let reconnects = 0;
    listener.on('regate_cache', (p) => heard.push(p));
    listener.onReconnect(() => reconnects++);
    await listener.ready();
    expect(listener.listening).toBe(true);
    await new PgNotifications(b).notify('regate_cache', 'tenant-1:assortment');
    await until(() => heard.includes('tenant-1:assortment'), 'the first notification');

    pg.server.stop();
    await until(() => !listener.listening, 'the LISTEN connection to notice');
    pg.server.start();
    await until(() => listener.listening && reconnects === 1, 'the LISTEN connection to come back');
    await until(async () => {
      await new PgNotifications(b).notify('regate_cache', 'after-restart').catch(() => undefined);
      return heard.includes('after-restart');
    }, 'a notification after the restart');

    // A second channel subscribed later is listened to on the live connection; unsubscribing stops it.
    const other: string[] = [];
    const off = listener.on('regate_other', (p) => other.push(p));
    await until(async () => {
      await new PgNotifications(b).notify('regate_other', 'x');
      return other.length > 0;
    }, 'the second channel');
    off();
    await listener.close();
    await Promise.all([a.close(), b.close()]);
  }, 60_000);
});
