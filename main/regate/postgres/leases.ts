import { realTimers, type PgStore, type PgTimers } from './connection.ts';
import { Renewal } from './renewal.ts';

/**
 * What one instance holds under leases in one table — its running writes (regate_requests) or its
 * claimed queue items (regate_write_queue) — and the rules that make ownership safe when PostgreSQL
 * is away or slow while the instance lives on:
 *
 * - Fencing: every grant of a lease (a new write, a takeover, a requeue, a claim) draws a new token
 *   from the sequence regate_fence into the row's `fence`. Every later renewal and state write of the
 *   holder is conditional on owner AND that token, so a former owner's late write — its lease ran
 *   out and another instance took the row — matches nothing and changes nothing.
 * - Self-fencing: the holder stops acting on a lease at (lease − margin) after the statement that
 *   granted or last renewed it was sent, by its own monotonic clock — before PostgreSQL's clock can
 *   let another instance take it. A lease past that point is not renewed again (the row is left to
 *   run out and be taken over); its token is kept until the holder settles it, so a completion
 *   PostgreSQL finds still ours (nobody took it meanwhile) is stored, and one it does not is refused.
 * - While a renewal has failed and none has succeeded since, the instance claims no new work
 *   (RenewalHealth, shared by the instance's holders).
 */

/** `$n` milliseconds as an interval, computed by PostgreSQL (one clock for every instance). */
export const ms = (n: number) => `($${n}::double precision * interval '1 millisecond')`;

/** A new fencing token (migration 3's sequence): strictly increasing, never given twice. */
export const NEXT_FENCE = `nextval('regate_fence')`;

/** A holder's lease on a row: the owner and the token it was granted with. */
export interface Lease {
  owner: string;
  fence: number;
}

/** Whether this instance's lease renewals are failing: while they are, it claims no new work. One per instance, shared by its holders. */
export class RenewalHealth {
  failing = false;
}

export interface LeaseBookOptions {
  instanceId: string;
  leaseMs: number;
  /** How long before the lease ends, by this instance's clock, it stops acting on it (default a fifth of the lease): clock drift and the step under way. */
  marginMs?: number;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
  timers?: PgTimers;
  /** The instance's renewal state, shared with its other holders (default: this book's own). */
  renewals?: RenewalHealth;
  /** A renewal failed (PostgreSQL away): for the log; the next one tries again. */
  onRenewError?: (e: unknown) => void;
}

/** The tables whose rows are held under leases, and their key column. */
const TABLES = { regate_requests: 'id', regate_write_queue: 'request_id' } as const;

interface Held {
  fence: number;
  /** By this instance's clock: acting on the row stops here. */
  until: number;
}

export class LeaseBook {
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly #store: PgStore;
  readonly #table: keyof typeof TABLES;
  readonly #marginMs: number;
  readonly #now: () => number;
  readonly #health: RenewalHealth;
  readonly #held = new Map<number, Held>();
  readonly #renewal: Renewal;

  constructor(store: PgStore, table: keyof typeof TABLES, opts: LeaseBookOptions) {
    this.#store = store;
    this.#table = table;
    this.instanceId = opts.instanceId;
    this.leaseMs = opts.leaseMs;
    this.#marginMs = opts.marginMs ?? opts.leaseMs / 5;
    this.#now = opts.now ?? (() => performance.now());
    this.#health = opts.renewals ?? new RenewalHealth();
    this.#renewal = new Renewal({
      timers: opts.timers ?? realTimers,
      periodMs: this.leaseMs / 3,
      renew: () => this.renew(),
      // While renewals fail, keep trying even with nothing held: a success is what lets the instance claim again.
      active: () => this.#health.failing || this.#live().length > 0,
      onError: opts.onRenewError,
    });
  }

  /** Local time to take right before sending a statement that grants leases: their time counts from it. */
  stamp(): number {
    return this.#now();
  }

  /** Leases granted by a statement sent at `sentAt` (stamp()), with their tokens. */
  grant(rows: Array<{ id: number; fence: number }>, sentAt: number): void {
    for (const r of rows) this.#held.set(r.id, { fence: r.fence, until: sentAt + this.leaseMs - this.#marginMs });
    if (rows.length > 0) this.#renewal.poke();
  }

  /** Whether this instance may still act on `id`: held, and short of (lease − margin) since it was last granted or renewed. */
  holds(id: number): boolean {
    const h = this.#held.get(id);
    return h !== undefined && this.#now() < h.until;
  }

  /** Settles `id` here (finished, handed on, given up): no more renewals; returns its lease for a last conditional write, if it had one. */
  release(id: number): Lease | undefined {
    const h = this.#held.get(id);
    this.#held.delete(id);
    return h && { owner: this.instanceId, fence: h.fence };
  }

  /** Every id not settled yet, its lease current or not. */
  get ids(): number[] {
    return [...this.#held.keys()];
  }

  /** A renewal failed and none has succeeded since: claim no new work. */
  get fenced(): boolean {
    return this.#health.failing;
  }

  /**
   * Extends the leases this instance may still act on, each only if it is still ours under its
   * token. Returns how many were renewed; one no longer ours is settled here. Past (lease − margin)
   * a lease is left to run out. While renewals fail with nothing to renew, asks PostgreSQL whether
   * it answers again.
   */
  async renew(): Promise<number> {
    const sentAt = this.#now();
    const live = this.#live();
    try {
      if (live.length === 0) {
        if (this.#health.failing) await this.#store.query('SELECT 1');
        this.#health.failing = false;
        return 0;
      }
      const key = TABLES[this.#table];
      const { rows } = await this.#store.query<{ id: string }>(
        `UPDATE ${this.#table} t SET lease_until = clock_timestamp() + ${ms(4)}
           FROM unnest($1::bigint[], $2::bigint[]) AS h(id, fence)
          WHERE t.${key} = h.id AND t.fence = h.fence AND t.owner = $3 AND t.state = 'running'
         RETURNING t.${key} AS id`,
        [live.map(([id]) => id), live.map(([, h]) => h.fence), this.instanceId, this.leaseMs],
      );
      this.#health.failing = false;
      const kept = new Set(rows.map((r) => Number(r.id)));
      for (const [id, h] of live) {
        if (this.#held.get(id) !== h) continue; // settled or granted again meanwhile
        if (kept.has(id)) h.until = sentAt + this.leaseMs - this.#marginMs;
        else this.#held.delete(id);
      }
      return kept.size;
    } catch (e) {
      this.#health.failing = true;
      throw e;
    }
  }

  /** Stops renewing (a clean stop; tests use it as an instance's death). */
  close(): void {
    this.#renewal.stop();
  }

  #live(): Array<[number, Held]> {
    const now = this.#now();
    return [...this.#held].filter(([, h]) => now < h.until);
  }
}
