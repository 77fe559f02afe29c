import { describe, expect, it, vi } from 'vitest';
import { PgUnavailable } from '../../main/regate/postgres/connection.ts';
import { PgNotifications } from '../../main/regate/postgres/notifications.ts';
import { PgSessionSlots, SlotWaitTimeout, type SlotRelease } from '../../main/regate/postgres/slots.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

const CEILING = 9; // a 1C publication with poolSize 10

/** Stops the instances' slots, then their LISTEN connections (their pools close after the test). */
async function closeInstances(instances: Array<{ slots: PgSessionSlots; notifications: PgNotifications }>): Promise<void> {
  for (const i of instances) {
    i.slots.close();
    await i.notifications.close();
  }
}

describe('ReGate on PostgreSQL: the session cap of a 1C base across instances', () => {
  const pg = usePostgres();

  it('three instances × 50 callers: never more than the ceiling in 1C at once, every caller served, every instance served', async () => {
    const db = await pg.freshDatabase('slots_cap');
    const instances = ['a', 'b', 'c'].map((id) => {
      const store = db.open();
      const notifications = new PgNotifications(store, { reconnectMs: 100 });
      return { id, notifications, slots: new PgSessionSlots(store, { instanceId: id, ceiling: () => CEILING, leaseMs: 5000, pollMs: 50, maxHandovers: 5, notifications }) };
    });
    await Promise.all(instances.map((i) => i.slots.acquire('warm-up').then((release) => release())));
    let inOneC = 0;
    let most = 0;
    // The first call in 1C stays there until a second one is in too: that calls go side by side
    // (most > 1) does not hang on how the machine's timers and PostgreSQL's answers interleave.
    const side = Promise.withResolvers<void>();
    let first = true;
    const servedBy = new Map<string, number>();
    // Each caller makes three calls; a call "in 1C" takes a few milliseconds.
    const callers = instances.flatMap((inst) =>
      Array.from({ length: 50 }, async (_, n) => {
        for (let call = 0; call < 3; call++) {
          const release = await inst.slots.acquire('shop', { waitMs: 60_000 });
          inOneC++;
          most = Math.max(most, inOneC);
          if (inOneC > 1) side.resolve();
          servedBy.set(inst.id, (servedBy.get(inst.id) ?? 0) + 1);
          if (first) {
            first = false;
            await side.promise;
          }
          await new Promise((r) => setTimeout(r, 1 + ((n + call) % 4)));
          inOneC--;
          await release();
        }
      }),
    );
    await Promise.all(callers);
    expect(most).toBeLessThanOrEqual(CEILING);
    expect(most).toBeGreaterThan(1);
    expect([...servedBy.values()]).toEqual([150, 150, 150]);
    // All given back: the next caller anywhere gets a slot, none is held.
    const { rows } = await db.stores[0].query(`SELECT count(*)::int AS n FROM regate_slots WHERE tenant = 'shop' AND owner IS NOT NULL`);
    expect(rows[0].n).toBe(0);
    expect(instances.map((i) => [i.slots.held('shop'), i.slots.waiting('shop')])).toEqual([[0, 0], [0, 0], [0, 0]]);
    await closeInstances(instances);
  }, 120_000);

  it('a busy instance that hands its slots on locally steps aside when another instance says it waits', async () => {
    const db = await pg.freshDatabase('slots_fair');
    const make = (id: string) => {
      const notifications = new PgNotifications(db.open(), { reconnectMs: 100 });
      // Without the other's "wanted" the busy one would keep its slots for a minute.
      return { notifications, slots: new PgSessionSlots(db.open(), { instanceId: id, ceiling: () => 2, pollMs: 50, maxHoldMs: 200, uncontendedHoldMs: 60_000, notifications }) };
    };
    const busy = make('busy');
    const late = make('late');
    await Promise.all([busy.notifications.ready(), late.notifications.ready()]);
    await Promise.all([busy.slots.acquire('warm'), late.slots.acquire('warm')].map((p) => p.then((r) => r())));
    let stop = false;
    let busyCalls = 0;
    const busyCallers = Array.from({ length: 10 }, async () => {
      while (!stop) {
        const release = await busy.slots.acquire('shop', { waitMs: 60_000 });
        busyCalls++;
        await new Promise((r) => setTimeout(r, 3));
        await release();
      }
    });
    await until(() => busy.slots.held('shop') === 2 && busyCalls > 20, 'the busy instance to hold both slots');
    // Well within the lease (15 s) and the uncontended hold (60 s): only stepping aside gives it a slot.
    const release = await late.slots.acquire('shop', { waitMs: 8000 });
    expect(late.slots.held('shop')).toBe(1);
    await release();
    stop = true;
    await Promise.all(busyCallers);
    await closeInstances([busy, late]);
  }, 60_000);

  it('a dead instance\'s slots free after their lease; a live instance\'s are never taken', async () => {
    const db = await pg.freshDatabase('slots_dead');
    const leaseMs = 1500;
    const live = new PgSessionSlots(db.open(), { instanceId: 'live', ceiling: () => 3, leaseMs, pollMs: 50 });
    const doomedStore = db.open();
    const doomed = new PgSessionSlots(doomedStore, { instanceId: 'doomed', ceiling: () => 3, leaseMs, pollMs: 50 });
    const other = new PgSessionSlots(db.open(), { instanceId: 'other', ceiling: () => 3, leaseMs, pollMs: 50 });
    const held: SlotRelease[] = [await live.acquire('shop'), await doomed.acquire('shop'), await doomed.acquire('shop')];
    expect(held).toHaveLength(3);
    // All three are taken: a caller elsewhere waits, and times out while the holders live.
    await expect(other.acquire('shop', { waitMs: 200 })).rejects.toBeInstanceOf(SlotWaitTimeout);

    // The doomed instance dies holding two: no release, no renewal, its connections gone.
    doomed.close();
    await doomedStore.close();
    const got: SlotRelease[] = [];
    const waiting = [other.acquire('shop', { waitMs: 20_000 }), other.acquire('shop', { waitMs: 20_000 })].map((p) => p.then((r) => got.push(r)));
    await Promise.all(waiting);
    expect(got).toHaveLength(2);
    // The live instance's slot was not among them: a third caller still waits, through more than a lease.
    const leaseEnd = (await db.stores[0].query<{ t: Date }>(`SELECT max(lease_until) AS t FROM regate_slots WHERE owner = 'live'`)).rows[0].t.getTime();
    const third = other.acquire('shop', { waitMs: 60_000 });
    let thirdGot = false;
    void third.then(() => (thirdGot = true));
    await until(async () => (await db.stores[0].query<{ ok: boolean }>('SELECT clock_timestamp() > $1 AS ok', [new Date(leaseEnd + leaseMs)])).rows[0].ok, 'a lease past the live holder\'s');
    expect(thirdGot).toBe(false);
    const { rows } = await db.stores[0].query(`SELECT owner FROM regate_slots WHERE tenant = 'shop' ORDER BY owner`);
    expect(rows.map((r) => r.owner)).toEqual(['live', 'other', 'other']);
    // The live holder gives its slot back: the waiting caller gets it.
    await held[0]();
    await third;
    live.close();
    other.close();
  }, 60_000);

  it('lingerMs: a slot nobody waits for stays this instance\'s for its next call (no round trip); another instance saying it waits, the linger running out or a stop gives it back', async () => {
    const db = await pg.freshDatabase('slots_linger');
    const owners = async () => (await db.stores[0].query<{ owner: string | null }>(`SELECT owner FROM regate_slots WHERE tenant = 'shop' ORDER BY slot`)).rows.map((r) => r.owner);
    const make = (id: string, lingerMs: number) => {
      const store = db.open();
      const notifications = new PgNotifications(store, { reconnectMs: 100 });
      return { store, notifications, slots: new PgSessionSlots(store, { instanceId: id, ceiling: () => 1, pollMs: 50, lingerMs, notifications }) };
    };
    const a = make('a', 60_000);
    const b = make('b', 0);
    await Promise.all([a.notifications.ready(), b.notifications.ready()]);

    await (await a.slots.acquire('shop'))();
    expect(a.slots.held('shop')).toBe(1); // idle, still ours
    expect(await owners()).toEqual(['a']);
    const asked = vi.spyOn(a.store, 'query');
    const release = await a.slots.acquire('shop', { waitMs: 1000 });
    expect(asked).not.toHaveBeenCalled(); // taken back without asking PostgreSQL
    await release();
    asked.mockRestore();

    // b finds none free and says it waits: a gives its idle slot back at once (its linger is a minute).
    const releaseB = await b.slots.acquire('shop', { waitMs: 10_000 });
    expect(a.slots.held('shop')).toBe(0);
    expect(await owners()).toEqual(['b']);
    await releaseB();
    await until(async () => (await owners())[0] === null, 'b to give the slot back');

    // With nobody else waiting, the linger running out gives it back.
    const short = make('short', 50);
    await (await short.slots.acquire('shop'))();
    await until(async () => (await owners())[0] === null && short.slots.held('shop') === 0, 'the linger to run out');

    // A stop gives an idle slot back before it resolves (an instance that has heard nobody wait: a's
    // release would give it back within three polls of b's "wanted").
    const c = make('c', 60_000);
    await (await c.slots.acquire('shop', { waitMs: 10_000 }))();
    expect(await owners()).toEqual(['c']);
    await c.slots.close();
    expect(await owners()).toEqual([null]);
    await closeInstances([a, b, short]);
    await c.notifications.close();
  }, 60_000);

  it('a waiter gives up after waitMs; PostgreSQL away fails a waiter at once', async () => {
    const db = await pg.freshDatabase('slots_errors');
    const store = db.open();
    const slots = new PgSessionSlots(store, { instanceId: 'x', ceiling: () => 1, pollMs: 50 });
    const release = await slots.acquire('shop');
    const timedOut = await slots.acquire('shop', { waitMs: 100 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(SlotWaitTimeout);
    expect(slots.waiting('shop')).toBe(0);
    // The handover: a waiter present at release gets the slot without it going back to PostgreSQL.
    const next = slots.acquire('shop', { waitMs: 10_000 });
    await release();
    const release2 = await next;
    expect(slots.held('shop')).toBe(1);
    await release2();
    await until(async () => (await db.stores[0].query(`SELECT owner FROM regate_slots WHERE tenant = 'shop'`)).rows[0].owner === null, 'the slot back in PostgreSQL');

    pg.server.stop();
    try {
      await expect(slots.acquire('shop', { waitMs: 60_000 })).rejects.toBeInstanceOf(PgUnavailable);
      await expect(slots.acquire('shop', { waitMs: 60_000 })).rejects.toThrow(/^PostgreSQL недоступен: /);
    } finally {
      pg.server.start();
    }
    slots.close();
  });
});
