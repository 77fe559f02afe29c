import { createHash } from 'node:crypto';
import { realTimers, type PgStore, type PgTimers } from './connection.ts';
import { QUEUE_CHANNEL } from './queue.ts';
import { Renewal } from './renewal.ts';

/**
 * Writes by Idempotency-Key shared by every ReGate instance: the same semantics as the SQLite store
 * (main/regate/idempotency.ts, now main/regate/repos/sqlite-idempotency.ts: new / replay /
 * in_progress / mismatch, the same fingerprint, keys kept 72 h), made atomic across instances by the (tenant, key) unique index —
 * the same key sent to three instances at once makes exactly one `new`.
 *
 * A running write is owned by the instance sending it, under a lease that instance renews by
 * itself every third of the lease while it sends anything (`renew`, run by a Renewal). When an instance dies mid-write, its lease runs out and
 * another instance `takeOver`s the write and sends it again with the same request id (1C's
 * register keeps the write exactly-once). A live instance's writes are never taken: they are
 * renewed well before their lease ends.
 */

/** Keys are kept this long (specs/regate.md "Writes"; the same as on SQLite). */
export const KEY_TTL_MS = 72 * 3600_000;

export interface PgWriteRecord {
  id: number;
  tenant: string;
  key: string;
  fingerprint: string;
  /** 1C's HTTP method. */
  method: string;
  /** ReGate's method name ('' when not given): a queued write's timeout is its method's. */
  method_name: string;
  path: string;
  body: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  status: number | null;
  /** The answer as JSON text (as on SQLite: the gateway replays JSON.parse(answer)). */
  answer: string | null;
  /** Epoch ms, PostgreSQL's clock. */
  created_at: number;
  updated_at: number;
  order_key: string;
  /** The instance sending it while running; null otherwise. */
  owner: string | null;
  lease_until: number | null;
}

export type PgBegin =
  | { kind: 'new'; record: PgWriteRecord }
  | { kind: 'replay'; record: PgWriteRecord }
  | { kind: 'in_progress'; record: PgWriteRecord }
  | { kind: 'mismatch'; record: PgWriteRecord };

export interface PgIdempotencyOptions {
  /** This process's id: unique per start (see newInstanceId), or a restarted instance would renew its dead self's writes. */
  instanceId: string;
  /** How long a running write stays ours without a renewal (default 30 s); another instance takes it over after that. */
  leaseMs?: number;
  ttlMs?: number;
  timers?: PgTimers;
  /** A renewal failed (PostgreSQL away): for the log; the next one tries again. */
  onRenewError?: (e: unknown) => void;
}

/** The same as the SQLite store's fingerprint: a key reused with another request is told apart by it. */
export function fingerprint(method: string, path: string, body: string | null): string {
  return createHash('sha256').update(`${method} ${path}\n${body ?? ''}`).digest('hex');
}

interface Row {
  id: string;
  tenant: string;
  key: string;
  fingerprint: string;
  method: string;
  method_name: string;
  path: string;
  body: string | null;
  state: PgWriteRecord['state'];
  status: number | null;
  answer: string | null;
  created_at: Date;
  updated_at: Date;
  order_key: string;
  owner: string | null;
  lease_until: Date | null;
  expired?: boolean;
}

function record(r: Row): PgWriteRecord {
  return {
    id: Number(r.id),
    tenant: r.tenant,
    key: r.key,
    fingerprint: r.fingerprint,
    method: r.method,
    method_name: r.method_name,
    path: r.path,
    body: r.body,
    state: r.state,
    status: r.status,
    answer: r.answer,
    created_at: r.created_at.getTime(),
    updated_at: r.updated_at.getTime(),
    order_key: r.order_key,
    owner: r.owner,
    lease_until: r.lease_until ? r.lease_until.getTime() : null,
  };
}

const COLUMNS = 'id, tenant, key, fingerprint, method, method_name, path, body, state, status, answer, created_at, updated_at, order_key, owner, lease_until';
/** `$n` milliseconds as an interval, computed by PostgreSQL (one clock for every instance). */
const ms = (n: number) => `($${n}::double precision * interval '1 millisecond')`;

export class PgIdempotency {
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly #store: PgStore;
  readonly #ttlMs: number;
  /** The running writes this process is sending: only these are renewed, so one it lost track of ends up taken over. */
  readonly #mine = new Set<number>();
  readonly #renewal: Renewal;

  constructor(store: PgStore, opts: PgIdempotencyOptions) {
    this.#store = store;
    this.instanceId = opts.instanceId;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.#ttlMs = opts.ttlMs ?? KEY_TTL_MS;
    this.#renewal = new Renewal({ timers: opts.timers ?? realTimers, periodMs: this.leaseMs / 3, renew: () => this.renew(), active: () => this.#mine.size > 0, onError: opts.onRenewError });
  }

  /** The ids this instance holds running (renewed by the heartbeat). */
  get sending(): number[] {
    return [...this.#mine];
  }

  /**
   * The key's state, or a new running record owned by this instance (durable when this resolves:
   * the write may go to 1C). Concurrent calls with one key on any instances: exactly one `new`.
   */
  async begin(input: { tenant: string; key: string; method: string; path: string; body: string | null; orderKey: string; methodName?: string }): Promise<PgBegin> {
    const fp = fingerprint(input.method, input.path, input.body);
    // Each turn either inserts, reads a live record, or deletes an expired one; a concurrent delete
    // or insert by another instance only costs another turn.
    for (let turn = 0; turn < 5; turn++) {
      const inserted = await this.#store.query<Row>(
        `INSERT INTO regate_requests (tenant, key, fingerprint, method, path, body, order_key, state, owner, lease_until, method_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, clock_timestamp() + ${ms(9)}, $10)
         ON CONFLICT (tenant, key) DO NOTHING RETURNING ${COLUMNS}`,
        [input.tenant, input.key, fp, input.method, input.path, input.body, input.orderKey, this.instanceId, this.leaseMs, input.methodName ?? ''],
      );
      if (inserted.rows[0]) {
        const rec = record(inserted.rows[0]);
        this.#mine.add(rec.id);
        this.#renewal.poke();
        return { kind: 'new', record: rec };
      }
      const found = await this.#store.query<Row>(`SELECT ${COLUMNS}, created_at <= clock_timestamp() - ${ms(3)} AS expired FROM regate_requests WHERE tenant = $1 AND key = $2`, [
        input.tenant,
        input.key,
        this.#ttlMs,
      ]);
      const row = found.rows[0];
      if (!row) continue; // forgotten between the two statements: the key is free again
      if (!row.expired) {
        const rec = record(row);
        if (rec.fingerprint !== fp) return { kind: 'mismatch', record: rec };
        if (rec.state === 'done' || rec.state === 'failed') return { kind: 'replay', record: rec };
        return { kind: 'in_progress', record: rec };
      }
      // Expired: the key is free again (as on SQLite). Only that very row, and only if still expired.
      await this.#store.query(`DELETE FROM regate_requests WHERE id = $1 AND created_at <= clock_timestamp() - ${ms(2)}`, [row.id, this.#ttlMs]);
    }
    throw new Error('Idempotency-Key: the record kept changing under concurrent requests');
  }

  /**
   * Records where a write is: `queued` (handed to the queue), `done`/`failed` (1C's final word,
   * `answer` as JSON), or `running` again (this instance sends it now). Anyone may finish a write:
   * after a takeover both instances got 1C's one answer for the request id.
   */
  async finish(id: number, state: PgWriteRecord['state'], status: number | null, answer: unknown): Promise<void> {
    const text = answer === undefined ? null : JSON.stringify(answer);
    if (state === 'running') {
      await this.#store.query(
        `UPDATE regate_requests SET state = 'running', status = $2, answer = $3, owner = $4, lease_until = clock_timestamp() + ${ms(5)}, updated_at = clock_timestamp() WHERE id = $1`,
        [id, status, text, this.instanceId, this.leaseMs],
      );
      this.#mine.add(id);
      this.#renewal.poke();
      return;
    }
    // A write of the line may wait in the queue for this one to end (queue.ts: nothing of a line is
    // claimed while a write of it is running): wake the consumers, only then.
    await this.#store.query(
      `WITH u AS (
         UPDATE regate_requests SET state = $2, status = $3, answer = $4, owner = NULL, lease_until = NULL, updated_at = clock_timestamp() WHERE id = $1 RETURNING tenant, order_key)
       SELECT pg_notify('${QUEUE_CHANNEL}', u.tenant) FROM u
        WHERE EXISTS (SELECT 1 FROM regate_write_queue q WHERE q.tenant = u.tenant AND q.order_key = u.order_key)`,
      [id, state, status, text],
    );
    this.#mine.delete(id);
  }

  /** The key is free for a retry (the outcome is unknown or nothing was done). */
  async forget(id: number): Promise<void> {
    this.#mine.delete(id);
    await this.#store.query(
      `WITH d AS (DELETE FROM regate_requests WHERE id = $1 RETURNING tenant, order_key)
       SELECT pg_notify('${QUEUE_CHANNEL}', d.tenant) FROM d
        WHERE EXISTS (SELECT 1 FROM regate_write_queue q WHERE q.tenant = d.tenant AND q.order_key = d.order_key)`,
      [id],
    );
  }

  /**
   * No longer sending `id` and no longer renewing it, though its record may say running: its final
   * word could not be stored (PostgreSQL away). Its lease runs out, and whoever requeues expired
   * writes first (this instance too) sends it again with the same request id.
   */
  abandon(id: number): void {
    this.#mine.delete(id);
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
  async renew(): Promise<number> {
    if (this.#mine.size === 0) return 0;
    const ids = [...this.#mine];
    const { rows } = await this.#store.query<{ id: string }>(
      `UPDATE regate_requests SET lease_until = clock_timestamp() + ${ms(3)} WHERE id = ANY($1::bigint[]) AND owner = $2 AND state = 'running' RETURNING id`,
      [ids, this.instanceId, this.leaseMs],
    );
    const kept = new Set(rows.map((r) => Number(r.id)));
    for (const id of ids) if (!kept.has(id)) this.#mine.delete(id);
    return kept.size;
  }

  /** Stops renewing (a clean stop; tests use it as an instance's death). */
  close(): void {
    this.#renewal.stop();
  }

  /**
   * Claims running writes whose lease ran out (their instance died or lost PostgreSQL for longer
   * than the lease) and returns them, oldest first, now running under this instance's lease: the
   * caller sends each again with its request id (`key`), or queues it (finish 'queued' + enqueue).
   * Rows another instance is claiming at the same moment are skipped, never shared.
   */
  async takeOver(limit = 100): Promise<PgWriteRecord[]> {
    const { rows } = await this.#store.query<Row>(
      `WITH c AS (
         SELECT id FROM regate_requests
          WHERE state = 'running' AND (lease_until IS NULL OR lease_until < clock_timestamp()) AND NOT (id = ANY($1::bigint[]))
          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE regate_requests r SET owner = $3, lease_until = clock_timestamp() + ${ms(4)}, updated_at = clock_timestamp()
         FROM c WHERE r.id = c.id RETURNING ${COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}`,
      [[...this.#mine], limit, this.instanceId, this.leaseMs],
    );
    const taken = rows.map(record).sort((a, b) => a.id - b.id);
    for (const r of taken) this.#mine.add(r.id);
    if (taken.length > 0) this.#renewal.poke();
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
