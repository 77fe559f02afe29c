import { afterEach, describe, expect, it } from 'vitest';
import { prewarmKey, prewarmLane, regateModule } from '../../main/regate/index.ts';
import { startFake1C, type Fake1C } from '../../main/sandbox/onec/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { selfSigned } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * ReGate's pre-warming is the recurring outbox job `regate:prewarm:<tenant>` (main/core/recurring.ts):
 * at start (the cache is empty), then `prewarmSeconds` after each run ended, on the store's clock
 * (injected here: the tests move it, never wait for it; the worker pool's safety pump looks every
 * 200 ms with these short leases).
 */
const T0 = Date.UTC(2026, 3, 6, 9, 0, 0);
const EVERY = 60_000;
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function fake1C(): Promise<Fake1C> {
  const fake = await startFake1C({ latencyScale: 0, items: 50 });
  stops.push(() => fake.stop());
  return fake;
}

const tenant = (id: string, fake: Fake1C, prewarmSeconds = EVERY / 1000) => ({
  id,
  user: `richest-${id}`,
  password: 'sandbox',
  baseUrl: fake.baseUrl,
  onecUser: fake.user,
  onecPassword: fake.password,
  poolSize: 4,
  prewarmSeconds,
});

function rig() {
  const clock = { t: T0 };
  const dataDir = tempDir();
  const tls = selfSigned(tempDir());
  const start = async (tenants: Array<ReturnType<typeof tenant>>, enabled = true) => {
    const t = await startTestCore({
      dataDir,
      config: { regate: { enabled, host: '127.0.0.1', port: 0, tls, tenants } },
      modules: [regateModule],
      outbox: { now: () => clock.t, leaseMs: 600 },
    });
    stops.push(() => t.core.stop(1000));
    return t;
  };
  /** The key's job rows (a recurring key keeps its newest run and its next one). */
  const rows = (t: TestCore, id = 'shop') =>
    t.core.store.sql.all<{ state: string; next_run_at: number; connector: string }>(`SELECT state, next_run_at, connector FROM jobs WHERE key = ? ORDER BY id`, prewarmKey(id));
  const live = (t: TestCore, id = 'shop') => rows(t, id).filter((r) => r.state === 'queued' || r.state === 'running');
  /** Resolves once the key's next run is planned at `at` (the run before it has ended). */
  const plannedAt = (t: TestCore, at: number, id = 'shop') => expect.poll(() => live(t, id), { timeout: 20_000 }).toEqual([expect.objectContaining({ state: 'queued', next_run_at: at })]);
  return { clock, start, rows, live, plannedAt };
}

const assortmentReads = (fake: Fake1C) => fake.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/assortment')).length;

describe('ReGate pre-warming on the outbox', () => {
  it('warms at start, then prewarmSeconds after each run on the store clock, in a lane of its own; a failed run waits its interval and fails no connector', async () => {
    const fake = await fake1C();
    const stores = fake.company().stores.length;
    const r = rig();
    const t = await r.start([tenant('shop', fake)]);

    // At start: every store's first page, and the next run planned an interval after this one ended.
    await r.plannedAt(t, T0 + EVERY);
    expect(assortmentReads(fake)).toBe(stores);
    expect(r.live(t)[0].connector).toBe(prewarmLane('shop'));
    // Scheduled work is no queue waiting for delivery.
    expect(t.core.health().queue?.depth).toBe(0);

    r.clock.t = T0 + EVERY;
    await r.plannedAt(t, T0 + 2 * EVERY);
    expect(assortmentReads(fake)).toBe(2 * stores);

    // 1C away: the run fails (logged), the next one waits its interval (no outbox backoff, sooner),
    // and no connector is failing: that is the base's own state in the health.
    await fake.setDown('refused');
    r.clock.t = T0 + 2 * EVERY;
    await r.plannedAt(t, T0 + 3 * EVERY);
    expect(t.core.store.outbox.connectorStatus(prewarmLane('shop'))).toMatchObject({ state: 'ok', failures: 0 });
    expect(t.core.store.outbox.connectorStatus('regate').state).toBe('ok');
    expect(t.core.health().regate?.tenants.shop.onec).not.toBe('ok');
    await fake.setDown(false);
    r.clock.t = T0 + 3 * EVERY;
    await r.plannedAt(t, T0 + 4 * EVERY);
    expect(assortmentReads(fake)).toBe(3 * stores);
  });

  it('survives a restart (one job, warmed at start again), ends when the tenant stops pre-warming, never runs for a tenant no longer configured', async () => {
    const shopOnec = await fake1C();
    const otherOnec = await fake1C();
    const stores = shopOnec.company().stores.length;
    const r = rig();
    let t = await r.start([tenant('shop', shopOnec)]);
    await r.plannedAt(t, T0 + EVERY);
    await t.core.stop(1000);

    // Restarted: the same one job; the new process's empty cache is warmed at once, and the plan goes on from there.
    r.clock.t = T0 + 10_000;
    t = await r.start([tenant('shop', shopOnec)]);
    await r.plannedAt(t, T0 + 10_000 + EVERY);
    expect(assortmentReads(shopOnec)).toBe(2 * stores);
    expect(r.live(t)).toHaveLength(1);
    r.clock.t = T0 + 10_000 + EVERY;
    await r.plannedAt(t, T0 + 10_000 + 2 * EVERY);
    expect(assortmentReads(shopOnec)).toBe(3 * stores);
    await t.core.stop(1000);

    // prewarmSeconds 0: nothing at start, and the queued job ends when it comes due, without a call.
    t = await r.start([tenant('shop', shopOnec, 0)]);
    r.clock.t = T0 + 10_000 + 2 * EVERY;
    await expect.poll(() => r.live(t), { timeout: 20_000 }).toEqual([]);
    expect(assortmentReads(shopOnec)).toBe(3 * stores);
    await t.core.stop(1000);

    // Switched on again, then the tenant is taken out of the config: its job is left alone (no lane
    // runs it), while the tenant that remains is warmed on its own schedule.
    t = await r.start([tenant('shop', shopOnec)]);
    await r.plannedAt(t, r.clock.t + EVERY);
    expect(assortmentReads(shopOnec)).toBe(4 * stores);
    await t.core.stop(1000);
    t = await r.start([tenant('other', otherOnec)]);
    const due = r.clock.t + EVERY;
    await r.plannedAt(t, due, 'other');
    r.clock.t = due;
    await r.plannedAt(t, due + EVERY, 'other');
    expect(assortmentReads(otherOnec)).toBe(2 * otherOnec.company().stores.length);
    expect(assortmentReads(shopOnec)).toBe(4 * stores);
    expect(r.live(t)).toEqual([expect.objectContaining({ state: 'queued', next_run_at: due })]);
  });

  it('each tenant id has a lane of its own, named as the outbox allows', () => {
    const ids = ['shop', 'a-b', 'a_b', 'a_d', 'a--', '1c-base'];
    const lanes = ids.map(prewarmLane);
    expect(new Set(lanes).size).toBe(ids.length);
    for (const lane of lanes) expect(lane).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('ReGate switched off: no pre-warm job at all', async () => {
    const fake = await fake1C();
    const r = rig();
    const t = await r.start([tenant('shop', fake)], false);
    expect(r.rows(t)).toEqual([]);
    expect(assortmentReads(fake)).toBe(0);
  });
});
