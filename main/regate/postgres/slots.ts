import { PgUnavailable, realTimers, type PgStore, type PgTimers } from './connection.ts';
import type { PgNotifications } from './notifications.ts';
import { Renewal } from './renewal.ts';

/**
 * The session cap of a 1C base across every ReGate instance: never more than `ceiling`
 * (poolSize − 1) calls in that base at once, however many instances send them. Each of the
 * `ceiling` sessions is a row (tenant, slot); a call holds one under a lease its instance renews by
 * itself every third of the lease, so a dead instance's slots free themselves when their leases run
 * out.
 *
 * Claims take free (or expired) rows with `FOR UPDATE SKIP LOCKED`, several at once when several
 * callers wait. A waiting instance hears `regate_slot_free` (NOTIFY) when one is given back, and
 * polls as well (a dead instance's expiring lease sends nothing; the LISTEN connection may be down).
 *
 * To keep 1C near its ceiling, a finished call hands its slot straight to the next local waiter
 * (no round trip). With no local waiter and no other instance known to wait, the slot stays ours for
 * `lingerMs` (idle, still leased and renewed) for this instance's next call: calls that come one
 * after another (bookings: three round trips of their own between 1C calls) then cost no free and
 * no claim each; another instance saying it waits gets the idle slots back at once. Only for so long: while another instance is known to wait (it sends
 * `regate_slot_wanted` when it finds no free slot, and again at each poll), a slot is handed on at
 * most `maxHandovers` times or for `maxHoldMs`; with nobody else known to wait, for
 * `uncontendedHoldMs` (a bound in case that NOTIFY was lost). Then the slot goes back to PostgreSQL,
 * and this instance steps aside from that slot for `stepAsideMs` so that a waiting instance, woken
 * by `regate_slot_free`, gets it instead of the instance that was fastest to ask again. Stepping
 * aside costs the slot a few round trips of idleness, which is why it happens only when it helps.
 *
 * This is only the cluster-wide ceiling. The in-process AIMD limiter (main/regate/limiter.ts)
 * stays in front of it and may keep an instance well below; a call takes the limiter first, then a
 * slot.
 */

export const SLOT_CHANNEL = 'regate_slot_free';
/** Payload: JSON [tenant, instanceId] of an instance whose callers wait for a slot. */
export const SLOT_WANTED_CHANNEL = 'regate_slot_wanted';

export interface PgSessionSlotsOptions {
  instanceId: string;
  /** The base's ceiling (poolSize − 1); every instance must use the same one for a tenant. */
  ceiling: (tenant: string) => number;
  /** How long a held slot stays ours without a renewal (default 15 s): a dead instance's slots free within it. */
  leaseMs?: number;
  /** Poll interval while callers wait (default 200 ms; a NOTIFY usually comes first). */
  pollMs?: number;
  /** While another instance waits: how many times a slot is handed on locally (default 100) … */
  maxHandovers?: number;
  /** … and for how long since it was claimed (default 500 ms). */
  maxHoldMs?: number;
  /** With no other instance known to wait (default 5000 ms). */
  uncontendedHoldMs?: number;
  stepAsideMs?: number;
  /** How long a slot nobody here waits for stays ours for the next local call (default 0: given back at once). */
  lingerMs?: number;
  /** Where `regate_slot_free` is heard (without it the instance only polls). */
  notifications?: PgNotifications;
  timers?: PgTimers;
  /** Local monotonic clock for how long a slot has been handed around (not a lease: leases use PostgreSQL's clock). */
  now?: () => number;
  /** A renewal failed (PostgreSQL away): for the log; the next one tries again. */
  onRenewError?: (e: unknown) => void;
}

/** No slot came free within `waitMs` (the gateway answers a read 503, queues a write). */
export class SlotWaitTimeout extends Error {
  readonly tenant: string;
  constructor(tenant: string) {
    super(`no 1C session of ${tenant} free across the instances within the wait`);
    this.name = 'SlotWaitTimeout';
    this.tenant = tenant;
  }
}

export type SlotRelease = () => Promise<void>;

interface Waiter {
  resolve: (release: SlotRelease) => void;
  reject: (e: Error) => void;
  timer: unknown;
  done: boolean;
}

interface Held {
  slot: number;
  /** When the slot was claimed from PostgreSQL (local clock). */
  claimedAt: number;
  handovers: number;
  /** A renewal found it no longer ours (PostgreSQL was away longer than the lease): never handed over again. */
  lost: boolean;
}

interface Tenant {
  id: string;
  waiters: Waiter[];
  held: Map<number, Held>;
  rowsReady: boolean;
  pumping: boolean;
  again: boolean;
  pollTimer: unknown;
  /** Until when (local clock) another instance is known to wait for this base's slots. */
  contendedUntil: number;
  /** When this instance last said it waits (local clock). */
  wantedAt: number;
  /** Slots held with no call in them (lingerMs), newest last, each with the timer that gives it back. */
  idle: Array<{ h: Held; timer: unknown }>;
}

function parseWanted(payload: string): [string | undefined, string | undefined] {
  try {
    const v: unknown = JSON.parse(payload);
    return Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' ? [v[0], v[1]] : [undefined, undefined];
  } catch {
    return [undefined, undefined];
  }
}

const ms = (n: number) => `($${n}::double precision * interval '1 millisecond')`;

export class PgSessionSlots {
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly #store: PgStore;
  readonly #ceiling: (tenant: string) => number;
  readonly #pollMs: number;
  readonly #maxHandovers: number;
  readonly #maxHoldMs: number;
  readonly #uncontendedHoldMs: number;
  readonly #stepAsideMs: number;
  readonly #lingerMs: number;
  readonly #notifications: PgNotifications | null;
  readonly #timers: PgTimers;
  readonly #now: () => number;
  readonly #tenants = new Map<string, Tenant>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #renewal: Renewal;
  #closed = false;

  constructor(store: PgStore, opts: PgSessionSlotsOptions) {
    this.#store = store;
    this.instanceId = opts.instanceId;
    this.#ceiling = opts.ceiling;
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.#pollMs = opts.pollMs ?? 200;
    this.#maxHandovers = opts.maxHandovers ?? 100;
    this.#maxHoldMs = opts.maxHoldMs ?? 500;
    this.#uncontendedHoldMs = opts.uncontendedHoldMs ?? 5000;
    this.#stepAsideMs = opts.stepAsideMs ?? 25;
    this.#lingerMs = opts.lingerMs ?? 0;
    this.#notifications = opts.notifications ?? null;
    this.#timers = opts.timers ?? realTimers;
    this.#renewal = new Renewal({
      timers: this.#timers,
      periodMs: this.leaseMs / 3,
      renew: () => this.renew(),
      active: () => [...this.#tenants.values()].some((t) => t.held.size > 0),
      onError: opts.onRenewError,
    });
    this.#now = opts.now ?? (() => performance.now());
    if (opts.notifications) {
      this.#unsubscribe.push(
        opts.notifications.on(SLOT_CHANNEL, (tenant) => {
          const t = this.#tenants.get(tenant);
          if (t && this.#liveWaiters(t) > 0) void this.#pump(t);
        }),
        opts.notifications.on(SLOT_WANTED_CHANNEL, (payload) => {
          const [tenant, instance] = parseWanted(payload);
          const t = tenant === undefined ? undefined : this.#tenants.get(tenant);
          // Two polls' worth: the waiting instance says it again at each of its polls.
          if (!t || instance === this.instanceId) return;
          t.contendedUntil = this.#now() + 3 * this.#pollMs;
          this.#giveBackIdle(t); // its claim found none free: the ones nobody here uses go back now
        }),
      );
    }
  }

  /** Slots this instance holds for `tenant` now (calls of it in 1C). */
  held(tenant: string): number {
    return this.#tenants.get(tenant)?.held.size ?? 0;
  }

  /** Callers of this instance waiting for a slot of `tenant`. */
  waiting(tenant: string): number {
    const t = this.#tenants.get(tenant);
    return t ? this.#liveWaiters(t) : 0;
  }

  /**
   * Waits for one of the tenant's slots (at most `waitMs`, then SlotWaitTimeout; PostgreSQL away:
   * PgUnavailable at once). Resolves with the release, to be called once when the 1C call ends.
   */
  acquire(tenant: string, opts: { waitMs?: number } = {}): Promise<SlotRelease> {
    if (this.#closed) return Promise.reject(new Error('session slots are closed'));
    const t = this.#tenant(tenant);
    return new Promise<SlotRelease>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: null, done: false };
      if (opts.waitMs !== undefined) {
        w.timer = this.#timers.setTimeout(() => {
          if (w.done) return;
          w.done = true;
          reject(new SlotWaitTimeout(tenant));
        }, opts.waitMs);
      }
      t.waiters.push(w);
      // A slot of ours with no call in it: this caller's, without a round trip.
      const idle = this.#takeIdle(t);
      if (idle) {
        idle.handovers++;
        this.#grant(t, idle);
        return;
      }
      // While a poll is pending the last claim found nothing free: the NOTIFY or the poll wakes the
      // line, and a claim per arriving caller would only hammer PostgreSQL with empty answers.
      if (t.pollTimer === null) void this.#pump(t);
    });
  }

  /** Extends the leases of every slot held; returns how many are still ours. */
  async renew(): Promise<number> {
    const tenants: string[] = [];
    const slots: number[] = [];
    for (const t of this.#tenants.values())
      for (const h of t.held.values())
        if (!h.lost) {
          tenants.push(t.id);
          slots.push(h.slot);
        }
    if (slots.length === 0) return 0;
    const { rows } = await this.#store.query<{ tenant: string; slot: number }>(
      `UPDATE regate_slots s SET lease_until = clock_timestamp() + ${ms(4)}
         FROM unnest($1::text[], $2::int[]) AS h(tenant, slot)
        WHERE s.tenant = h.tenant AND s.slot = h.slot AND s.owner = $3
       RETURNING s.tenant, s.slot`,
      [tenants, slots, this.instanceId, this.leaseMs],
    );
    const kept = new Set(rows.map((r) => `${r.tenant}\u0000${r.slot}`));
    for (let i = 0; i < slots.length; i++) {
      if (kept.has(`${tenants[i]}\u0000${slots[i]}`)) continue;
      const h = this.#tenants.get(tenants[i])?.held.get(slots[i]);
      if (h) h.lost = true;
    }
    return kept.size;
  }

  /**
   * Stops waiting callers (rejected), listening and renewing; slots still held are freed by their
   * releases, idle ones now (resolves once PostgreSQL has them back or refused: then their leases free them).
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#renewal.stop();
    for (const off of this.#unsubscribe.splice(0)) off();
    const freeing: Array<Promise<void>> = [];
    for (const t of this.#tenants.values()) {
      freeing.push(...this.#giveBackIdle(t));
      if (t.pollTimer !== null) this.#timers.clearTimeout(t.pollTimer);
      t.pollTimer = null;
      for (const w of t.waiters.splice(0)) this.#settle(w, new Error('session slots are closed'));
    }
    return Promise.all(freeing).then(() => undefined);
  }

  #tenant(id: string): Tenant {
    let t = this.#tenants.get(id);
    if (!t) {
      t = { id, waiters: [], held: new Map(), rowsReady: false, pumping: false, again: false, pollTimer: null, contendedUntil: -Infinity, wantedAt: -Infinity, idle: [] };
      this.#tenants.set(id, t);
    }
    return t;
  }

  #liveWaiters(t: Tenant): number {
    // Timed-out waiters are dropped lazily, here and when granting.
    if (t.waiters.some((w) => w.done)) t.waiters = t.waiters.filter((w) => !w.done);
    return t.waiters.length;
  }

  #nextWaiter(t: Tenant): Waiter | undefined {
    while (t.waiters.length > 0) {
      const w = t.waiters.shift()!;
      if (!w.done) return w;
    }
    return undefined;
  }

  #settle(w: Waiter, e: Error): void {
    if (w.done) return;
    w.done = true;
    if (w.timer !== null) this.#timers.clearTimeout(w.timer);
    w.reject(e);
  }

  /** Claims slots for the waiting callers while any are free; otherwise waits for a NOTIFY or the poll. */
  async #pump(t: Tenant): Promise<void> {
    if (t.pumping) {
      t.again = true; // a slot came free while claiming: look once more when this claim is done
      return;
    }
    if (t.pollTimer !== null) {
      this.#timers.clearTimeout(t.pollTimer);
      t.pollTimer = null;
    }
    t.pumping = true;
    try {
      for (;;) {
        t.again = false;
        const ceiling = this.#ceiling(t.id);
        // This instance holding every slot of the base: nothing to claim until one of its own ends.
        const want = Math.min(this.#liveWaiters(t), ceiling - t.held.size);
        if (want <= 0 || this.#closed) break;
        if (!t.rowsReady) {
          // The tenant's rows, made once by whichever instance comes first (the others' inserts do nothing).
          await this.#store.query(`INSERT INTO regate_slots (tenant, slot) SELECT $1, g FROM generate_series(0, $2::int - 1) AS g ON CONFLICT DO NOTHING`, [t.id, ceiling]);
          t.rowsReady = true;
        }
        const slots = await this.#claim(t, ceiling, want);
        for (const slot of slots) this.#grant(t, { slot, claimedAt: this.#now(), handovers: 0, lost: false });
        if (slots.length < want) this.#sayWanted(t);
        // Every slot asked for came: more may be free for callers who came meanwhile. Fewer: wait.
        if (slots.length < want && !t.again) break;
      }
    } catch (e) {
      // PostgreSQL away (or a bug): the callers hear it now rather than at their wait's end.
      const err = e instanceof Error ? e : new Error(String(e));
      for (const w of t.waiters.splice(0)) this.#settle(w, err);
      if (!(e instanceof PgUnavailable)) t.rowsReady = false;
    } finally {
      t.pumping = false;
    }
    if (this.#liveWaiters(t) > 0 && t.pollTimer === null && !this.#closed) {
      t.pollTimer = this.#timers.setTimeout(() => {
        t.pollTimer = null;
        void this.#pump(t);
      }, this.#pollMs);
    }
  }

  /** Tells the holders elsewhere that callers here wait (at most once a poll; lost ones only delay fairness). */
  #sayWanted(t: Tenant): void {
    if (!this.#notifications || this.#now() - t.wantedAt < this.#pollMs) return;
    t.wantedAt = this.#now();
    this.#notifications.notify(SLOT_WANTED_CHANNEL, JSON.stringify([t.id, this.instanceId])).catch(() => undefined);
  }

  async #claim(t: Tenant, ceiling: number, want: number): Promise<number[]> {
    const { rows } = await this.#store.query<{ slot: number }>(
      `WITH c AS (
         SELECT tenant, slot FROM regate_slots
          WHERE tenant = $1 AND slot < $2 AND (owner IS NULL OR lease_until < clock_timestamp())
            AND NOT (slot = ANY($3::int[]))
            AND (freed_by IS DISTINCT FROM $4 OR freed_at <= clock_timestamp() - ${ms(6)})
          ORDER BY slot LIMIT $5 FOR UPDATE SKIP LOCKED)
       UPDATE regate_slots s SET owner = $4, lease_until = clock_timestamp() + ${ms(7)}, freed_by = NULL, freed_at = NULL
         FROM c WHERE s.tenant = c.tenant AND s.slot = c.slot
       RETURNING s.slot`,
      // Slots this instance still holds (even ones a renewal lost) are never claimed twice by it.
      [t.id, ceiling, [...t.held.keys()], this.instanceId, want, this.#stepAsideMs, this.leaseMs],
    );
    return rows.map((r) => r.slot);
  }

  /** Gives a held slot to the next waiting caller, or back to PostgreSQL when none waits. */
  #grant(t: Tenant, h: Held): void {
    const w = this.#nextWaiter(t);
    if (!w) {
      void this.#free(t, h.slot, false);
      return;
    }
    w.done = true;
    if (w.timer !== null) this.#timers.clearTimeout(w.timer);
    t.held.set(h.slot, h);
    this.#renewal.poke();
    let released = false;
    w.resolve(async () => {
      if (released) return;
      released = true;
      await this.#release(t, h);
    });
  }

  async #release(t: Tenant, h: Held): Promise<void> {
    const contended = this.#now() < t.contendedUntil;
    const held = this.#now() - h.claimedAt;
    const fresh = !h.lost && !this.#closed && (contended ? h.handovers < this.#maxHandovers && held < this.#maxHoldMs : held < this.#uncontendedHoldMs);
    if (fresh && this.#liveWaiters(t) > 0) {
      h.handovers++;
      this.#grant(t, h); // straight to the next local caller: no round trip
      return;
    }
    if (fresh && !contended && this.#lingerMs > 0) {
      // Nobody waits, here or (as far as we know) elsewhere: kept a moment for this instance's next call.
      const entry: { h: Held; timer: unknown } = { h, timer: null };
      entry.timer = this.#timers.setTimeout(() => {
        const i = t.idle.indexOf(entry);
        if (i < 0) return;
        t.idle.splice(i, 1);
        t.held.delete(h.slot);
        void this.#free(t, h.slot, false);
      }, this.#lingerMs);
      t.idle.push(entry);
      return;
    }
    t.held.delete(h.slot);
    const othersFirst = this.#liveWaiters(t) > 0;
    await this.#free(t, h.slot, othersFirst);
    if (othersFirst) {
      // Our callers try again for other free slots now, and for this one after the step-aside.
      void this.#pump(t);
      this.#timers.setTimeout(() => {
        if (this.#liveWaiters(t) > 0) void this.#pump(t);
      }, this.#stepAsideMs + 1);
    }
  }

  /** The newest idle slot still ours (a renewal may have lost one: that one goes back), its timer stopped. */
  #takeIdle(t: Tenant): Held | undefined {
    for (let e = t.idle.pop(); e; e = t.idle.pop()) {
      this.#timers.clearTimeout(e.timer);
      if (!e.h.lost) return e.h;
      t.held.delete(e.h.slot);
      void this.#free(t, e.h.slot, false);
    }
    return undefined;
  }

  /** Every idle slot back to PostgreSQL now (another instance waits, or we stop). */
  #giveBackIdle(t: Tenant): Array<Promise<void>> {
    return t.idle.splice(0).map((e) => {
      this.#timers.clearTimeout(e.timer);
      t.held.delete(e.h.slot);
      return this.#free(t, e.h.slot, false);
    });
  }

  /**
   * Back to PostgreSQL, with a NOTIFY for the waiting instances. A failure is left to the lease
   * (the slot frees itself when it runs out). Only our own claim is freed: a slot a renewal lost
   * may belong to another instance by now.
   */
  async #free(t: Tenant, slot: number, stepAside: boolean): Promise<void> {
    try {
      await this.#store.query(
        `WITH u AS (
           UPDATE regate_slots SET owner = NULL, lease_until = NULL,
                  freed_by = CASE WHEN $4::boolean THEN $3::text END, freed_at = CASE WHEN $4::boolean THEN clock_timestamp() END
            WHERE tenant = $1 AND slot = $2 AND owner = $3::text RETURNING tenant)
         SELECT pg_notify('${SLOT_CHANNEL}', tenant) FROM u`,
        [t.id, slot, this.instanceId, stepAside],
      );
    } catch {
      // PostgreSQL away: the lease frees the slot.
    }
  }
}
