import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PgStore } from '../../main/regate/postgres/connection.ts';
import { runCli } from '../helpers/cli.ts';
import { booking, call, fakeStats, gatewayHealth, startCluster, type Cluster } from '../helpers/regate-cluster.ts';
import { until } from '../helpers/regate-pg.ts';

/**
 * PostgreSQL stopped and started under load (issue 20): two `sputnik serve` instances share it;
 * callers keep booking. While it is away a write gets 503 with Retry-After and never a 2xx that was
 * not stored; a cached read still answers, an uncached one is 503 with Retry-After; the gateway's
 * health says the store is down and why. Started again, the instances reconnect by themselves (no
 * restart of Sputnik), forget their caches (invalidations sent meanwhile were lost) and bookings
 * succeed again; `sputnik check` says it is away and why, then that it answers. Afterwards every key that got a 2xx is in
 * PostgreSQL, done, and 1C has one order for each.
 */

interface Sent {
  key: string;
  body: ReturnType<typeof booking>;
  /** Every answer it got, in order. */
  statuses: number[];
}

describe('ReGate cluster: PostgreSQL stopped and started under load', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 2, leaseSeconds: 3 });
  }, 180_000);
  afterAll(() => cluster?.stop());

  it('no 2xx for a write that was not stored; cached reads answer while it is away; the instances recover by themselves', async () => {
    let stop = false;
    onTestFinished(() => void (stop = true));
    // A list no booking changes (a booking makes its store's assortment stale on every instance).
    const cachedPage = '/regate/v1/cities';
    for (const n of cluster.nodes) expect((await call(n.url, 'GET', cachedPage)).status).toBe(200); // now in each instance's cache

    const sent: Sent[] = [];
    const count = (ok: (status: number) => boolean) => sent.reduce((a, s) => a + s.statuses.filter(ok).length, 0);
    const is2xx = (s: number) => s >= 200 && s < 300;
    // 20 customers booking one after another; a 503 or 409 is tried again with the same key.
    const callers = Array.from({ length: 20 }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const client = cluster.clients[c % cluster.clients.length];
        const s: Sent = { key: randomUUID(), body: booking(cluster.cat, client, `RS-P-${c}-${n}`, n), statuses: [] };
        sent.push(s);
        for (;;) {
          const a = await call(cluster.next().url, 'POST', '/regate/v1/orders', { body: s.body, key: s.key });
          s.statuses.push(a.status);
          if (a.status === 503) expect(a.headers['retry-after']).toBeDefined();
          if (is2xx(a.status)) break;
          if (a.status !== 503 && a.status !== 409) throw new Error(`booking ${s.key}: ${a.status} ${JSON.stringify(a.body)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });

    // A failed assertion ends the test with callers still running: their rejections are awaited below, not left unhandled.
    for (const c of callers) c.catch(() => {});
    await until(() => count(is2xx) >= 40, 'bookings to go through before the stop');
    cluster.pg.stop();
    for (const n of cluster.nodes) await until(async () => (await gatewayHealth(n.url)).store?.state !== 'up', 'the gateway to see PostgreSQL away');
    const down = await gatewayHealth(cluster.nodes[0].url);
    expect(down.gateway).toBe('degraded');
    expect(down.store).toMatchObject({ kind: 'postgres', since: expect.any(String), reason: expect.stringMatching(/^PostgreSQL недоступен/) });
    expect(JSON.stringify(down)).not.toContain(cluster.pg.password);
    // Writes are refused with Retry-After while it is away.
    const refusedBefore = count((s) => s === 503);
    await until(() => count((s) => s === 503) >= refusedBefore + 20, 'writes to be refused while PostgreSQL is away');
    // A cached page still answers; one never read is 503 with Retry-After.
    for (const n of cluster.nodes) {
      const cached = await call(n.url, 'GET', cachedPage);
      expect(cached.status).toBe(200);
      const fresh = await call(n.url, 'GET', `/regate/v1/stores/${cluster.cat.stores[0]}/groups`);
      expect([fresh.status, (fresh.body as { code: string }).code, fresh.headers['retry-after'] !== undefined]).toEqual([503, 'store_unavailable', true]);
    }

    // `sputnik check` says why, without the password.
    const check = await runCli(['check', '--config', cluster.setup.configFile], cluster.setup.env);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/regate, хранилище PostgreSQL: ошибка — PostgreSQL недоступен: /);
    expect(check.stdout + check.stderr).not.toContain(cluster.pg.password);

    cluster.pg.start();
    for (const n of cluster.nodes) await until(async () => (await gatewayHealth(n.url)).store?.state === 'up', 'the gateway to reconnect by itself', 60_000);
    // Invalidations sent while its LISTEN connection was broken are lost: the cache forgets everything when it is back.
    for (const n of cluster.nodes) await until(async () => (await call(n.url, 'GET', cachedPage)).headers['x-cache'] === 'MISS', 'the cache to be flushed after LISTEN reconnected');
    const okBefore = count(is2xx);
    await until(() => count(is2xx) >= okBefore + 40, 'bookings to go through again', 60_000);
    stop = true;
    await Promise.all(callers);
    const checked = await runCli(['check', '--config', cluster.setup.configFile], cluster.setup.env);
    expect(checked.stdout).toMatch(/regate, хранилище PostgreSQL: ok — отвечает; схема \d+/);

    // Every key that got a 2xx is stored, and done (a 202's operation finishes after its backoff).
    const acked = sent.filter((s) => s.statuses.some(is2xx)).map((s) => s.key);
    const db = new PgStore({ url: cluster.pg.url, password: cluster.pg.password });
    try {
      await until(async () => {
        const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM regate_requests WHERE key = ANY($1::text[]) AND state = 'done'`, [acked]);
        return Number(rows[0].n) === acked.length;
      }, 'every acknowledged write to be stored and done', 60_000);
    } finally {
      await db.close();
    }
    const stats = await fakeStats(cluster.fake);
    expect(stats.duplicateOrders).toBe(0);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(9);
  }, 240_000);
});
