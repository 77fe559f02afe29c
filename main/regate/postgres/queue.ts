import { backoffMs, PROBE_CAP_MS } from '../../store/backoff.ts';
import type { WriteResult } from '../repos/types.ts';
import type { PgStore } from './connection.ts';
import { LeaseBook, ms, NEXT_FENCE, type Lease, type LeaseBookOptions } from './leases.ts';

/**
 * The writes waiting for 1C, shared by every instance (on SQLite they are outbox jobs). Any
 * instance claims them, but within one line — one client's or one order's writes of a tenant,
 * (tenant, order_key) — strictly one at a time and oldest first: an item is claimable only while
 * nothing older of its line is left and nothing of its line is running. Claims take rows with
 * `FOR UPDATE SKIP LOCKED` (instances never wait on each other's rows nor get the same one) and
 * lease them to the claimer under a new fencing token; a lease that runs out (the instance died, or
 * lost PostgreSQL for longer) makes the item claimable again, by anyone, and the former claimer's
 * completion, failure or release then changes nothing (leases.ts).
 *
 * Items are keyed by the write's id, which is given in order of arrival, so a write taken over
 * from a dead instance and queued late still goes before the later writes of its line.
 */

/** Sent (payload: the tenant) when an item may have become claimable: a worker waiting on it claims now instead of at its next poll. */
export const QUEUE_CHANNEL = 'regate_write_queued';

export interface PgQueueItem {
  requestId: number;
  tenant: string;
  orderKey: string;
  /** Claims so far, this one included. */
  attempts: number;
  lastError: string | null;
}

export interface PgWriteQueueOptions extends Omit<LeaseBookOptions, 'instanceId' | 'leaseMs'> {
  instanceId: string;
  /** How long a claim lasts without renewal (default 30 s). */
  leaseMs?: number;
  /** Delay before the n-th retry (default: exponential from 1 s, capped at 30 s like a connector's probe). */
  retryDelayMs?: (attempt: number) => number;
}

interface Row {
  request_id: string;
  tenant: string;
  order_key: string;
  attempts: number;
  last_error: string | null;
  fence: string;
}

const item = (r: Row): PgQueueItem => ({ requestId: Number(r.request_id), tenant: r.tenant, orderKey: r.order_key, attempts: r.attempts, lastError: r.last_error });

export class PgWriteQueue {
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly #store: PgStore;
  readonly #retryDelay: (attempt: number) => number;
  /** Items this instance holds (renewed by itself every third of the lease). */
  readonly #leases: LeaseBook;

  constructor(store: PgStore, opts: PgWriteQueueOptions) {
    this.#store = store;
    this.instanceId = opts.instanceId;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.#retryDelay = opts.retryDelayMs ?? ((n) => backoffMs(n, { capMs: PROBE_CAP_MS }));
    this.#leases = new LeaseBook(store, 'regate_write_queue', { ...opts, leaseMs: this.leaseMs });
  }

  get holding(): number[] {
    return this.#leases.ids;
  }

  /** Whether this instance may still act on its claim of `requestId` (send the write): current by this instance's clock. */
  holds(requestId: number): boolean {
    return this.#leases.holds(requestId);
  }

  /** Gives up the claim without a word (its lease may be another's by now): it runs out and the item is claimed again. */
  abandon(requestId: number): void {
    this.#leases.release(requestId);
  }

  /**
   * Queues the write `requestId` (a regate_requests row) in its line, runnable after `delayMs` by
   * PostgreSQL's clock, and marks the write `queued` in the same statement: a write is never queued
   * in one table and running in the other. Only while it is running under `from` (the sender's
   * lease, PgIdempotency.handOff): false when it was taken over meanwhile, finished, or queued already.
   */
  async enqueue(requestId: number, from: Lease, opts: { delayMs?: number } = {}): Promise<boolean> {
    const { rows } = await this.#store.query<{ queued: boolean }>(
      `WITH r AS (
         UPDATE regate_requests SET state = 'queued', owner = NULL, lease_until = NULL, fence = ${NEXT_FENCE}, updated_at = clock_timestamp()
          WHERE id = $1 AND state = 'running' AND owner = $3 AND fence = $4 RETURNING id, tenant, order_key),
       i AS (
         INSERT INTO regate_write_queue (request_id, tenant, order_key, state, run_at)
         SELECT id, tenant, order_key, 'queued', clock_timestamp() + ${ms(2)} FROM r
         ON CONFLICT (request_id) DO NOTHING RETURNING tenant)
       SELECT true AS queued, pg_notify('${QUEUE_CHANNEL}', tenant) FROM i`,
      [requestId, opts.delayMs ?? 0, from.owner, from.fence],
    );
    return rows.length > 0;
  }

  /**
   * Writes whose sender died (running, lease expired) go back in their line, in one statement:
   * the cluster's `requeueInterrupted`, run by any instance at start and then every so often, since
   * an instance may die at any time. Their place is their id, so they go before the later writes of
   * their line; the sender's token is spent, so its late writes change nothing. `exclude`: writes
   * this instance is still sending itself (PgIdempotency.sending). None while this instance's
   * renewals fail. Returns how many were queued.
   */
  async requeueExpired(opts: { exclude?: number[]; limit?: number } = {}): Promise<number> {
    if (this.#leases.fenced) return 0;
    const { rows } = await this.#store.query(
      `WITH c AS (
         SELECT id FROM regate_requests
          WHERE state = 'running' AND (lease_until IS NULL OR lease_until < clock_timestamp()) AND NOT (id = ANY($1::bigint[]))
          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),
       r AS (
         UPDATE regate_requests q SET state = 'queued', owner = NULL, lease_until = NULL, fence = ${NEXT_FENCE}, updated_at = clock_timestamp()
           FROM c WHERE q.id = c.id RETURNING q.id, q.tenant, q.order_key),
       i AS (
         INSERT INTO regate_write_queue (request_id, tenant, order_key, state, run_at)
         SELECT id, tenant, order_key, 'queued', clock_timestamp() FROM r
         ON CONFLICT (request_id) DO NOTHING RETURNING tenant)
       SELECT pg_notify('${QUEUE_CHANNEL}', tenant) FROM i`,
      [opts.exclude ?? [], opts.limit ?? 1000],
    );
    return rows.length;
  }

  /**
   * Claims up to `n` items: due, first of their line, nothing of their line running. They are
   * this instance's until `complete`, `fail`, `release`, or the lease's end. Oldest first. None
   * while this instance's renewals fail.
   */
  async claim(n: number): Promise<PgQueueItem[]> {
    if (this.#leases.fenced) return [];
    const sentAt = this.#leases.stamp();
    const { rows } = await this.#store.query<Row>(
      `WITH c AS (
         SELECT q.request_id FROM regate_write_queue q
          WHERE ((q.state = 'queued' AND q.run_at <= clock_timestamp()) OR (q.state = 'running' AND q.lease_until < clock_timestamp()))
            AND NOT EXISTS (
              SELECT 1 FROM regate_write_queue o
               WHERE o.tenant = q.tenant AND o.order_key = q.order_key AND o.request_id <> q.request_id
                 AND (o.request_id < q.request_id OR (o.state = 'running' AND o.lease_until >= clock_timestamp())))
            -- A write of the line sent directly (not queued) by any instance, or by one that died and
            -- whose write requeueExpired has not put back yet: the line waits for it.
            AND NOT EXISTS (
              SELECT 1 FROM regate_requests r
               WHERE r.tenant = q.tenant AND r.order_key = q.order_key AND r.state = 'running' AND r.id <> q.request_id)
          ORDER BY q.request_id LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE regate_write_queue q SET state = 'running', owner = $2, lease_until = clock_timestamp() + ${ms(3)}, attempts = q.attempts + 1, fence = ${NEXT_FENCE}
         FROM c WHERE q.request_id = c.request_id
       RETURNING q.request_id, q.tenant, q.order_key, q.attempts, q.last_error, q.fence`,
      [n, this.instanceId, this.leaseMs],
    );
    rows.sort((a, b) => Number(a.request_id) - Number(b.request_id));
    this.#leases.grant(rows.map((r) => ({ id: Number(r.request_id), fence: Number(r.fence) })), sentAt);
    return rows.map(item);
  }

  /**
   * The item is done: deleted, and with `outcome` the write's final word stored, in one statement —
   * only while the claim is still this instance's under its token. False when it was not (the lease
   * ran out and someone else has it): then nothing changes, the write's record included. Without
   * `outcome` (the write was finished already) only the item goes.
   */
  async complete(requestId: number, outcome?: WriteResult): Promise<boolean> {
    const lease = this.#leases.release(requestId);
    if (!lease) return false;
    // The next item of the line may be claimable now: wake the waiting workers.
    const { rows } = await this.#store.query(
      `WITH d AS (DELETE FROM regate_write_queue WHERE request_id = $1 AND owner = $2 AND fence = $3 AND state = 'running' RETURNING request_id, tenant),
       u AS (
         UPDATE regate_requests r SET state = $4, status = $5, answer = $6, updated_at = clock_timestamp()
           FROM d WHERE $4::text IS NOT NULL AND r.id = d.request_id AND r.state = 'queued')
       SELECT pg_notify('${QUEUE_CHANNEL}', tenant) FROM d`,
      [requestId, lease.owner, lease.fence, outcome?.state ?? null, outcome?.status ?? null, outcome && outcome.answer !== undefined ? JSON.stringify(outcome.answer) : null],
    );
    return rows.length > 0;
  }

  /** The attempt failed: back in its place in line, runnable after the backoff (or `delayMs`). False when no longer ours. */
  async fail(requestId: number, error: string, opts: { delayMs?: number } = {}): Promise<boolean> {
    const lease = this.#leases.release(requestId);
    if (!lease) return false;
    const { rows } = await this.#store.query<{ attempts: number }>(`SELECT attempts FROM regate_write_queue WHERE request_id = $1 AND owner = $2 AND fence = $3`, [requestId, lease.owner, lease.fence]);
    if (!rows[0]) return false;
    const delay = opts.delayMs ?? this.#retryDelay(rows[0].attempts);
    const r = await this.#store.query(
      `UPDATE regate_write_queue SET state = 'queued', owner = NULL, lease_until = NULL, last_error = $4, run_at = clock_timestamp() + ${ms(5)}
        WHERE request_id = $1 AND owner = $2 AND fence = $3 AND state = 'running'`,
      [requestId, lease.owner, lease.fence, error.slice(0, 2000), delay],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Gives back every item this instance holds, runnable at once and the attempt not counted (a clean stop). */
  async releaseAll(): Promise<number> {
    const leases = this.#leases.ids.map((id) => ({ id, fence: this.#leases.release(id)!.fence }));
    if (leases.length === 0) return 0;
    const { rows } = await this.#store.query(
      `WITH u AS (
         UPDATE regate_write_queue q SET state = 'queued', owner = NULL, lease_until = NULL, run_at = clock_timestamp(), attempts = greatest(q.attempts - 1, 0)
           FROM unnest($1::bigint[], $2::bigint[]) AS h(id, fence)
          WHERE q.request_id = h.id AND q.fence = h.fence AND q.owner = $3 AND q.state = 'running' RETURNING q.tenant)
       SELECT pg_notify('${QUEUE_CHANNEL}', tenant) FROM u`,
      [leases.map((l) => l.id), leases.map((l) => l.fence), this.instanceId],
    );
    return rows.length;
  }

  /** Extends the leases of the items this instance holds; ones no longer ours are dropped from the set. */
  renew(): Promise<number> {
    return this.#leases.renew();
  }

  /** Stops renewing (a clean stop after releaseAll; tests use it as an instance's death). */
  close(): void {
    this.#leases.close();
  }

  /** Whether the line has anything queued or running: a new write of that client or order then queues behind it. */
  async busy(tenant: string, orderKey: string): Promise<boolean> {
    const { rows } = await this.#store.query('SELECT 1 FROM regate_write_queue WHERE tenant = $1 AND order_key = $2 LIMIT 1', [tenant, orderKey]);
    return rows.length > 0;
  }

  /**
   * Whether a new write of the line must queue rather than go to 1C now: something of the line is
   * in the queue, or a write of it is running on another instance (or on a dead one, until it is
   * requeued). Its caller has recorded its own write (running, ours) first, so of two instances
   * taking writes of one line at the same moment at least one sees the other: never two in 1C.
   */
  async busyElsewhere(tenant: string, orderKey: string): Promise<boolean> {
    const { rows } = await this.#store.query<{ busy: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM regate_write_queue WHERE tenant = $1 AND order_key = $2)
           OR EXISTS (SELECT 1 FROM regate_requests WHERE tenant = $1 AND order_key = $2 AND state = 'running' AND owner IS DISTINCT FROM $3) AS busy`,
      [tenant, orderKey, this.instanceId],
    );
    return rows[0]?.busy === true;
  }

  /** Items per tenant (health: queued writes). */
  async counts(): Promise<Map<string, number>> {
    const { rows } = await this.#store.query<{ tenant: string; n: string }>('SELECT tenant, count(*) AS n FROM regate_write_queue GROUP BY tenant');
    return new Map(rows.map((r) => [r.tenant, Number(r.n)]));
  }
}
