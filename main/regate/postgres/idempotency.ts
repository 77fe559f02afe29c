import { createHash } from 'node:crypto';
import type { Begin, RequestRow, WriteResult } from '../repos/types.ts';
import type { PgStore } from './connection.ts';
import { LeaseBook, ms, NEXT_FENCE, type Lease, type LeaseBookOptions } from './leases.ts';
import { QUEUE_CHANNEL } from './queue.ts';

/**
 * Writes by Idempotency-Key shared by every ReGate instance: the same semantics as the SQLite store
 * (main/regate/repos/sqlite-idempotency.ts: new / replay / in_progress / mismatch, the same
 * fingerprint, keys kept 72 h), made atomic across instances by the (tenant, key) unique index —
 * the same key sent to three instances at once makes exactly one `new`.
 *
 * A running write is owned by the instance sending it, under a lease that instance renews by
 * itself every third of the lease while it sends anything (leases.ts). When an instance dies mid-write, its lease runs out and
 * another instance `takeOver`s the write (or puts it back in its line: PgWriteQueue.requeueExpired) and sends it again with the same request id (1C's
 * register keeps the write exactly-once). A live instance's writes are never taken: they are
 * renewed well before their lease ends. One that lives but lost PostgreSQL for longer stops acting
 * on the write before it could be taken (self-fencing), and whatever it still writes about it —
 * its outcome, a forget, a hand-over to the queue — is conditional on its lease's fencing token: after
 * a takeover it changes nothing, so the key keeps the taker's result.
 */

/** Keys are kept this long (specs/regate.md "Writes"; the same as on SQLite). */
export const KEY_TTL_MS = 72 * 3600_000;

/** A write as PostgreSQL keeps it: the stored row with its owner's lease. */
export interface PgWriteRecord extends RequestRow {
  /** The instance sending it while running; null otherwise. */
  owner: string | null;
  lease_until: number | null;
  /** The fencing token of the current lease (leases.ts). */
  fence: number;
}

export type PgBegin = Begin<PgWriteRecord>;

/** What a request asks for, in the row's words (`method`: 1C's; `methodName`: ReGate's, '' when not given). */
export type PgBeginInput = Pick<RequestRow, 'tenant' | 'key' | 'method' | 'path' | 'body'> & { orderKey: string; methodName?: string };

export interface PgIdempotencyOptions extends Omit<LeaseBookOptions, 'instanceId' | 'leaseMs'> {
  /** This process's id: unique per start (see newInstanceId), or a restarted instance would renew its dead self's writes. */
  instanceId: string;
  /** How long a running write stays ours without a renewal (default 30 s); another instance takes it over after that. */
  leaseMs?: number;
  ttlMs?: number;
}

/** The same as the SQLite store's fingerprint: a key reused with another request is told apart by it. */
export function fingerprint(method: string, path: string, body: string | null): string {
  return createHash('sha256').update(`${method} ${path}\n${body ?? ''}`).digest('hex');
}

/** The row as the driver hands it over: bigints as text, times as Date. */
interface Row extends Omit<RequestRow<Date>, 'id'> {
  id: string;
  owner: string | null;
  lease_until: Date | null;
  fence: string;
  expired?: boolean;
}

function record({ expired: _, id, created_at, updated_at, lease_until, fence, ...same }: Row): PgWriteRecord {
  return { ...same, id: Number(id), created_at: created_at.getTime(), updated_at: updated_at.getTime(), lease_until: lease_until ? lease_until.getTime() : null, fence: Number(fence) };
}

/** The advisory lock class of a write's line (the two-key form: apart from the migrations' one-key lock). */
const LINE_LOCK = 1_919_247_457;

const COLUMNS = 'id, tenant, key, fingerprint, method, method_name, path, body, state, status, answer, created_at, updated_at, order_key, owner, lease_until, fence';

/** Wakes the queue's consumers when a write of a line that has items waiting ends (queue.ts: nothing of a line is claimed while a write of it is running). */
const WAKE_LINE = `CASE WHEN EXISTS (SELECT 1 FROM regate_write_queue q WHERE q.tenant = c.tenant AND q.order_key = c.order_key) THEN pg_notify('${QUEUE_CHANNEL}', c.tenant) END`;

export class PgIdempotency {
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly #store: PgStore;
  readonly #ttlMs: number;
  /** The running writes this process is sending: only these are renewed, so one it lost track of ends up taken over. */
  readonly #leases: LeaseBook;

  constructor(store: PgStore, opts: PgIdempotencyOptions) {
    this.#store = store;
    this.instanceId = opts.instanceId;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.#ttlMs = opts.ttlMs ?? KEY_TTL_MS;
    this.#leases = new LeaseBook(store, 'regate_requests', { ...opts, leaseMs: this.leaseMs });
  }

  /** The ids this instance holds running and has not settled (renewed while their lease is current). */
  get sending(): number[] {
    return this.#leases.ids;
  }

  /** Whether this instance may still act on the write `id` (send it, answer for it): its lease is current by this instance's clock. */
  holds(id: number): boolean {
    return this.#leases.holds(id);
  }

  /** A lease renewal failed and none has succeeded since: this instance takes over nothing. */
  get fenced(): boolean {
    return this.#leases.fenced;
  }

  /**
   * The key's state, or a new running record owned by this instance (durable when this resolves:
   * the write may go to 1C). Concurrent calls with one key on any instances: exactly one `new`.
   */
  async begin(input: PgBeginInput): Promise<PgBegin> {
    const fp = fingerprint(input.method, input.path, input.body);
    // Each turn either inserts, reads a live record, or deletes an expired one; a concurrent delete
    // or insert by another instance only costs another turn.
    for (let turn = 0; turn < 5; turn++) {
      const sentAt = this.#leases.stamp();
      // The record and its line's check (PgWriteQueue.busyElsewhere's question) in one round trip.
      // The line's advisory lock, taken before the row is inserted and held until the statement
      // commits, orders two instances beginning writes of one line: the later one's check (a
      // snapshot of its own, taken once it has the lock) sees the earlier one's committed row, so
      // never both find the line free — as when the check was a statement after the insert's commit.
      const inserted = await this.#store.query<Row & { line_busy: boolean }>(
        `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LINE_LOCK}, hashtext($1 || '|' || $7)) AS locked),
         ins AS (
           INSERT INTO regate_requests (tenant, key, fingerprint, method, path, body, order_key, state, owner, lease_until, method_name)
           SELECT $1, $2, $3, $4, $5, $6, $7, 'running', $8, clock_timestamp() + ${ms(9)}, $10 FROM l
           ON CONFLICT (tenant, key) DO NOTHING RETURNING ${COLUMNS})
         SELECT ins.*, regate_line_busy(ins.tenant, ins.order_key, $8) AS line_busy FROM ins`,
        [input.tenant, input.key, fp, input.method, input.path, input.body, input.orderKey, this.instanceId, this.leaseMs, input.methodName ?? ''],
      );
      const row = inserted.rows[0];
      if (row) {
        const { line_busy, ...stored } = row;
        const rec = record(stored);
        this.#leases.grant([rec], sentAt);
        return { kind: 'new', record: rec, lineBusy: line_busy };
      }
      const found = await this.#store.query<Row>(`SELECT ${COLUMNS}, created_at <= clock_timestamp() - ${ms(3)} AS expired FROM regate_requests WHERE tenant = $1 AND key = $2`, [
        input.tenant,
        input.key,
        this.#ttlMs,
      ]);
      const existing = found.rows[0];
      if (!existing) continue; // forgotten between the two statements: the key is free again
      if (!existing.expired) {
        const rec = record(existing);
        if (rec.fingerprint !== fp) return { kind: 'mismatch', record: rec };
        if (rec.state === 'done' || rec.state === 'failed') return { kind: 'replay', record: rec };
        return { kind: 'in_progress', record: rec };
      }
      // Expired: the key is free again (as on SQLite). Only that very row, and only if still expired.
      await this.#store.query(`DELETE FROM regate_requests WHERE id = $1 AND created_at <= clock_timestamp() - ${ms(2)}`, [existing.id, this.#ttlMs]);
    }
    throw new Error('Idempotency-Key: the record kept changing under concurrent requests');
  }

  /**
   * Keeps 1C's final word (`answer` as JSON) for a write this instance is sending. Stored only while
   * the write is still this instance's under the lease it was sent with: false when it was taken
   * over meanwhile (the taker stores its own outcome; this one changes nothing).
   */
  async finish(id: number, state: WriteResult['state'], status: number | null, answer: unknown): Promise<boolean> {
    const lease = this.#leases.release(id);
    if (!lease) return false;
    const { rows } = await this.#store.query(
      `WITH c AS (
         UPDATE regate_requests SET state = $2, status = $3, answer = $4, owner = NULL, lease_until = NULL, updated_at = clock_timestamp()
          WHERE id = $1 AND owner = $5 AND fence = $6 AND state = 'running' RETURNING tenant, order_key)
       SELECT ${WAKE_LINE} FROM c`,
      [id, state, status, answer === undefined ? null : JSON.stringify(answer), lease.owner, lease.fence],
    );
    return rows.length > 0;
  }

  /** The key is free for a retry (the outcome is unknown or nothing was done): only while the write is still this instance's. */
  async forget(id: number): Promise<boolean> {
    const lease = this.#leases.release(id);
    if (!lease) return false;
    const { rows } = await this.#store.query(
      `WITH c AS (DELETE FROM regate_requests WHERE id = $1 AND owner = $2 AND fence = $3 AND state = 'running' RETURNING tenant, order_key)
       SELECT ${WAKE_LINE} FROM c`,
      [id, lease.owner, lease.fence],
    );
    return rows.length > 0;
  }

  /**
   * No longer sending `id` here: it goes to the queue under the lease returned (PgWriteQueue.enqueue
   * moves it only if that lease is still the write's). Undefined when it was no longer held here.
   */
  handOff(id: number): Lease | undefined {
    return this.#leases.release(id);
  }

  /**
   * No longer sending `id` and no longer renewing it, though its record may say running: its final
   * word could not be stored (PostgreSQL away). Its lease runs out, and whoever requeues expired
   * writes first (this instance too) sends it again with the same request id.
   */
  abandon(id: number): void {
    this.#leases.release(id);
  }

  async get(id: number): Promise<PgWriteRecord | undefined> {
    const { rows } = await this.#store.query<Row>(`SELECT ${COLUMNS} FROM regate_requests WHERE id = $1`, [id]);
    return rows[0] ? record(rows[0]) : undefined;
  }

  /**
   * Extends the lease of every write this instance is sending. Returns how many were renewed; a
   * write that is no longer ours (finished elsewhere, or taken over after this instance could not
   * renew in time) is dropped from the set.
   */
  renew(): Promise<number> {
    return this.#leases.renew();
  }

  /** Stops renewing (a clean stop; tests use it as an instance's death). */
  close(): void {
    this.#leases.close();
  }

  /**
   * Claims running writes whose lease ran out (their instance died or lost PostgreSQL for longer
   * than the lease) and returns them, oldest first, now running under this instance's lease and a
   * new fencing token: the caller sends each again with its request id (`key`), or queues it
   * (handOff + PgWriteQueue.enqueue). Rows another instance is claiming at the same moment are
   * skipped, never shared. None while this instance's renewals fail.
   */
  async takeOver(limit = 100): Promise<PgWriteRecord[]> {
    if (this.#leases.fenced) return [];
    const sentAt = this.#leases.stamp();
    const { rows } = await this.#store.query<Row>(
      `WITH c AS (
         SELECT id FROM regate_requests
          WHERE state = 'running' AND (lease_until IS NULL OR lease_until < clock_timestamp()) AND NOT (id = ANY($1::bigint[]))
          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE regate_requests r SET owner = $3, lease_until = clock_timestamp() + ${ms(4)}, fence = ${NEXT_FENCE}, updated_at = clock_timestamp()
         FROM c WHERE r.id = c.id RETURNING ${COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}`,
      [this.#leases.ids, limit, this.instanceId, this.leaseMs],
    );
    const taken = rows.map(record).sort((a, b) => a.id - b.id);
    this.#leases.grant(taken, sentAt);
    return taken;
  }

  /** Open writes (queued or running) per tenant, for health. */
  async openCounts(): Promise<Map<string, number>> {
    const { rows } = await this.#store.query<{ tenant: string; n: string }>(`SELECT tenant, count(*) AS n FROM regate_requests WHERE state IN ('queued', 'running') GROUP BY tenant`);
    return new Map(rows.map((r) => [r.tenant, Number(r.n)]));
  }

  /**
   * Forgets finished keys older than the TTL by PostgreSQL's clock (housekeeping), `batch` at a
   * time; queued and running ones wait for 1C. Any instance may run it; concurrent runs only
   * delete less each.
   */
  async prune(batch = 5000): Promise<number> {
    const r = await this.#store.query(
      `DELETE FROM regate_requests WHERE id IN (
         SELECT id FROM regate_requests WHERE created_at < clock_timestamp() - ${ms(1)} AND state IN ('done', 'failed')
          ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.#ttlMs, batch],
    );
    return r.rowCount ?? 0;
  }
}
