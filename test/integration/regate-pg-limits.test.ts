import { describe, expect, it } from 'vitest';
import { newInstanceId, PgInstances } from '../../main/regate/postgres/instances.ts';
import { PgLoginThrottle } from '../../main/regate/postgres/logins.ts';
import { PgQuota } from '../../main/regate/postgres/quota.ts';
import { pgRepos } from '../../main/regate/repos/pg.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

describe('ReGate on PostgreSQL: quota windows, failed logins and instances shared by the instances', () => {
  const pg = usePostgres();

  it('a tenant\'s quota is counted once across two instances, at once and atomically', async () => {
    const db = await pg.freshDatabase('quota_shared');
    // A day-long window: the test never straddles two.
    const [a, b] = [db.open(), db.open()].map((s) => new PgQuota(s, { windowMs: 24 * 3600_000 }));
    const hits = await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 ? a : b).hit('shop', 25)));
    expect(hits.map((h) => h.calls).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    expect(hits.filter((h) => h.allowed)).toHaveLength(25);
    const refused = hits.filter((h) => !h.allowed);
    expect(refused.every((h) => h.retryAfterSeconds >= 1 && h.retryAfterSeconds <= 24 * 3600)).toBe(true);
    expect(hits.filter((h) => h.allowed).every((h) => h.retryAfterSeconds === 0)).toBe(true);
    // Another tenant has its own window.
    expect(await b.hit('other', 1)).toMatchObject({ allowed: true, calls: 1 });
  });

  it('a new window starts by PostgreSQL\'s clock, and ended windows are pruned', async () => {
    const db = await pg.freshDatabase('quota_window');
    const q = new PgQuota(db.open(), { windowMs: 500 });
    await until(async () => !(await q.hit('shop', 2)).allowed, 'the quota to be used up');
    await until(async () => (await q.hit('shop', 2)).allowed, 'the next window');
    await until(async () => (await q.prune()) > 0, 'an ended window to be pruned');
  });

  it('ten wrong logins from one address on two instances block it on both; a good login clears it', async () => {
    const db = await pg.freshDatabase('logins_shared');
    const [a, b] = [db.open(), db.open()].map((s) => new PgLoginThrottle(s));
    expect(await a.check('10.0.0.7')).toEqual({ blocked: false, failures: 0, retryAfterSeconds: 0 });
    const counts = await Promise.all(Array.from({ length: 9 }, (_, n) => (n % 2 ? a : b).recordFailure('10.0.0.7')));
    expect(counts.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await b.check('10.0.0.7')).toMatchObject({ blocked: false, failures: 9 });
    expect(await a.recordFailure('10.0.0.7')).toBe(10);
    for (const t of [a, b]) {
      const state = await t.check('10.0.0.7');
      expect(state.blocked).toBe(true);
      expect(state.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(state.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    expect((await a.check('10.0.0.8')).blocked).toBe(false);
    await b.succeeded('10.0.0.7');
    expect(await a.check('10.0.0.7')).toEqual({ blocked: false, failures: 0, retryAfterSeconds: 0 });
  });

  it('an instance asks PostgreSQL once for an address its callers check together; a failure meanwhile is asked again', async () => {
    const db = await pg.freshDatabase('logins_together');
    const repos = pgRepos({ url: db.url, password: pg.server.password, connections: 4, leaseMs: 60_000, ceilings: [['shop', 9]] });
    pg.after(() => repos.close());
    await repos.start(30_000);
    const asked: string[] = [];
    const query = repos.pg.store.query.bind(repos.pg.store);
    repos.pg.store.query = ((text: string, params?: unknown[]) => {
      if (text.includes('FROM regate_failed_logins')) asked.push(String(params?.[0]));
      return query(text, params);
    }) as typeof repos.pg.store.query;
    const states = await Promise.all(Array.from({ length: 50 }, () => repos.logins.check('10.0.0.9')));
    expect(states.every((s) => s.blocked === false && s.failures === 0)).toBe(true);
    expect(asked).toEqual(['10.0.0.9']); // the old code asked once per caller
    // A check under way when a failure is counted does not answer for the checks after it.
    const before = repos.logins.check('10.0.0.10');
    await repos.logins.failed('10.0.0.10');
    expect((await repos.logins.check('10.0.0.10')).failures).toBe(1);
    await before;
    expect((await repos.logins.check('10.0.0.10')).failures).toBe(1);
  });

  it('failures further apart than the window start counting again; a block ends a window after the last failure', async () => {
    const db = await pg.freshDatabase('logins_window');
    const t = new PgLoginThrottle(db.open(), { windowMs: 400, maxFailures: 3 });
    for (let n = 0; n < 3; n++) await t.failed('ip');
    expect((await t.check('ip')).blocked).toBe(true);
    await until(async () => !(await t.check('ip')).blocked, 'the block to end');
    expect(await t.check('ip')).toEqual({ blocked: false, failures: 0, retryAfterSeconds: 0 });
    expect(await t.recordFailure('ip')).toBe(1);
    await until(async () => (await t.prune()) > 0, 'the quiet address to be pruned');
  });

  it('instances beat, are listed while alive, and leave', async () => {
    const db = await pg.freshDatabase('instances');
    const ids = [newInstanceId(), newInstanceId()];
    expect(ids[0]).not.toBe(ids[1]);
    const [a, b] = ids.map((id) => new PgInstances(db.open(), id));
    await a.beat();
    await b.beat();
    await a.beat();
    expect((await a.live(60_000)).map((i) => i.id).sort()).toEqual([...ids].sort());
    await b.leave();
    expect((await a.live(60_000)).map((i) => i.id)).toEqual([ids[0]]);
    await until(async () => (await a.live(200)).length === 0, 'a silent instance to age out');
    expect(await a.prune(200)).toBe(1);
  });
});
