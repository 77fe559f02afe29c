import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { createRegate } from '../../main/regate/index.ts';
import { instanceOrigin, newInstanceId, PgInstances } from '../../main/regate/postgres/instances.ts';
import { pgRepos, type PgRepos } from '../../main/regate/repos/pg.ts';
import { openStore } from '../../main/store/index.ts';
import { startPostgres, type PrivatePostgres } from '../helpers/postgres.ts';
import { freshDatabase } from '../helpers/regate-pg.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The gateway instances in health (issue 20): on PostgreSQL every instance beats, and health lists
 * them as PostgreSQL knows them — which one answers, whether its lease is alive, what it holds; on
 * SQLite there is one, this one. Times are set in PostgreSQL, not waited for.
 */
describe('ReGate instances in health', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(() => server?.destroy());

  it('lists every instance with whether its lease is alive, its 1C sessions and the writes it sends', async () => {
    const db = await freshDatabase(server, 'instances_list');
    const store = db.open();
    const [aId, bId] = [newInstanceId(), newInstanceId()];
    const a = new PgInstances(store, aId);
    const b = new PgInstances(db.open(), bId);
    await a.beat();
    await b.beat();
    // a holds one session (another's lease ran out: not held); b sends one keyed write and one queued write.
    await store.query(`INSERT INTO regate_slots (tenant, slot, owner, lease_until) VALUES ('shop', 0, $1, clock_timestamp() + interval '1 minute'), ('shop', 1, $1, clock_timestamp() - interval '1 second'), ('shop', 2, NULL, NULL)`, [aId]);
    const req = (key: string, state: string, owner: string | null) =>
      store.query<{ id: string }>(`INSERT INTO regate_requests (tenant, key, fingerprint, method, path, state, owner, lease_until) VALUES ('shop', $1, 'f', 'POST', '/orders', $2, $3, clock_timestamp() + interval '1 minute') RETURNING id`, [key, state, owner]);
    await req('k1', 'running', bId);
    await req('k2', 'done', null);
    const queued = await req('k3', 'queued', null);
    await store.query(`INSERT INTO regate_write_queue (request_id, tenant, order_key, state, owner, lease_until) VALUES ($1, 'shop', 'c1', 'running', $2, clock_timestamp() + interval '1 minute')`, [queued.rows[0].id, bId]);

    const list = await a.list({ leaseMs: 60_000, withinMs: 3_600_000 });
    expect(list.map((i) => [i.id, i.alive, i.slots, i.writes])).toEqual([
      [aId, true, 1, 0],
      [bId, true, 0, 2],
    ]);
    expect(list[0].heartbeatAt).toBeGreaterThanOrEqual(list[0].startedAt);

    // b stopped beating 2 minutes ago: past a 1-minute lease it is listed as not alive (its writes are still its own until taken over).
    await store.query(`UPDATE regate_instances SET heartbeat_at = heartbeat_at - interval '2 minutes' WHERE id = $1`, [bId]);
    expect((await a.list({ leaseMs: 60_000, withinMs: 3_600_000 })).map((i) => [i.id, i.alive, i.writes])).toEqual([
      [aId, true, 0],
      [bId, false, 2],
    ]);
    // Silent for longer than the listing's window: not listed.
    expect((await a.list({ leaseMs: 60_000, withinMs: 60_000 })).map((i) => i.id)).toEqual([aId]);
    expect(instanceOrigin(aId)).toEqual({ host: hostname(), pid: process.pid });
    await db.closeAll();
  });

  it('a gateway on PostgreSQL beats once connected, marks itself, and leaves the list on a clean stop', async () => {
    const db = await freshDatabase(server, 'instances_repos');
    const open = () => pgRepos({ url: db.url, password: server.password, connections: 2, leaseMs: 60_000, ceilings: [['shop', 9]] });
    const repos: PgRepos[] = [open(), open()];
    for (const r of repos) await r.start(30_000);
    expect(repos.map((r) => r.ready)).toEqual([true, true]);
    const seen = await repos[0].instances();
    expect(seen.map((i) => [i.id, i.self, i.alive, i.host, i.pid, i.slots, i.writes])).toEqual(
      repos.map((r, n) => [r.pg.instanceId, n === 0, true, hostname(), process.pid, 0, 0]),
    );
    expect((await repos[1].instances()).map((i) => i.self)).toEqual([false, true]);
    await repos[1].close();
    expect((await repos[0].instances()).map((i) => i.id)).toEqual([repos[0].pg.instanceId]);
    await repos[0].close();
    expect((await db.open().query('SELECT count(*)::int AS n FROM regate_instances')).rows[0].n).toBe(0);
    await db.closeAll();
  });

  it('one gateway on Sputnik\'s own SQLite is the one instance: this one, alive', async () => {
    const store = openStore(tempDir());
    const tenant = { id: 'shop', user: 'richest', password: 'p', baseUrl: 'http://127.0.0.1:9/hs/regate/v1', onecUser: 'regate' };
    const config = parseConfig({ regate: { tenants: [tenant] } }, {}).config;
    const regate = createRegate({ config: () => config.regate, store });
    const h = regate.health();
    expect(h.store).toMatchObject({ kind: 'sqlite', state: 'up' });
    expect(h.instances).toEqual([{ id: `${hostname()}/${process.pid}`, host: hostname(), pid: process.pid, self: true, alive: true, startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/), seenAt: null, slots: 0, writes: null }]);
    await regate.stop();
    store.close();
  });
});
