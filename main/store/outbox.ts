import type Database from 'better-sqlite3';
import type { DB } from './db.ts';
import { backoffMs, PROBE_CAP_MS } from './backoff.ts';
import { withoutFsync } from './db.ts';
import type { GroupCommit } from './group-commit.ts';
import type { Durability } from './group-commit.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed';
export type ConnectorState = 'ok' | 'failing' | 'paused';

/**
 * The kind of a recurring job (main/core/recurring.ts): work on a schedule (a pull, housekeeping),
 * one queued job per key that plans its next run when it completes. It is not work waiting to be
 * delivered, so the queue's depth and age leave it out.
 */
export const RECURRING_KIND = 'recurring';

export interface Job<P = unknown> {
  id: number;
  connector: string;
  kind: string;
  key: string;
  payload: P;
  state: JobState;
  coalesce: boolean;
  /**
   * Earlier runs of this job (and of the jobs of its key it superseded) that ended without success:
   * retried after an error, or cut off by a crash or by a stop they did not end on (a pause on
   * refused credentials does not count, nor a run that ended on a stop's abort: see
   * `Outbox.interrupt`). A run that sees `attempts > 0` cannot assume its remote never got an
   * earlier request.
   */
  attempts: number;
  nextRunAt: number;
  leaseUntil: number | null;
  leaseOwner: string | null;
  lastError: JobError | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobError {
  code: string;
  message: string;
}

export interface EnqueueInput {
  connector: string;
  kind: string;
  /** Jobs with one key run one at a time, in order (e.g. `card:<code>`). */
  key: string;
  payload: unknown;
  /** A newer queued job for the same key replaces the older queued one (default true). */
  coalesce?: boolean;
  /** Idempotency: a second enqueue with the same dedupe value is a no-op. */
  dedupe?: string;
  runAt?: number;
}

export interface ConnectorStatus {
  name: string;
  state: ConnectorState;
  failures: number;
  nextProbeAt: number | null;
  since: number | null;
  lastError: JobError | null;
}

/** A `jobs` row as the statements below read it. */
interface Row {
  id: number;
  connector: string;
  kind: string;
  key: string;
  payload: string;
  state: JobState;
  coalesce: number;
  attempts: number;
  next_run_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** A `connectors` row. */
interface ConnectorRow {
  name: string;
  state: ConnectorState;
  failures: number;
  next_probe_at: number | null;
  since: number | null;
  last_error: string | null;
}

/** The statements that read one connector's jobs (see `#per`). */
interface PerConnector {
  running: Database.Statement<[], number>;
  anyQueued: Database.Statement<[], number>;
  nextClaimable: Database.Statement<[], number | null>;
  due: Map<number, Database.Statement<[{ due: number }], Row>>;
}

function toJob(r: Row): Job {
  return {
    id: r.id,
    connector: r.connector,
    kind: r.kind,
    key: r.key,
    payload: JSON.parse(r.payload),
    state: r.state,
    coalesce: r.coalesce === 1,
    attempts: r.attempts,
    nextRunAt: r.next_run_at,
    leaseUntil: r.lease_until,
    leaseOwner: r.lease_owner,
    lastError: r.last_error ? JSON.parse(r.last_error) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface OutboxOptions {
  now?: () => number;
  random?: () => number;
  leaseMs?: number;
}

/** A job's outcome, recorded together with the domain's own record of it (one transaction). */
export interface OutcomeOptions {
  /** The domain's record (the remote's answer, or the error on the entity): written in the same transaction. */
  record?: () => void;
}

/**
 * The outbox: durable jobs with per-key ordering, coalescing, leases and backoff, plus each
 * connector's health (ok / failing with a single probe / paused on refused credentials).
 * Callers that take new work from 1C call `enqueue` inside their durable write (a GroupCommit
 * item) so it shares the request's fsync. A job's outcome (complete, fail, retry, pause) is one
 * write with the domain's record; durable ones are group-committed when the store gives its
 * GroupCommit (`commit`), else (a bare outbox in tests) a synchronous FULL transaction.
 */
export class Outbox {
  readonly #db: DB;
  readonly #commit: GroupCommit | undefined;
  readonly #onEnqueue = new Set<(connector: string) => void>();
  readonly now: () => number;
  readonly #random: () => number;
  readonly leaseMs: number;
  readonly #listeners = new Set<(connector: string) => void>();
  readonly #toNotify = new Set<string>();
  readonly #s;

  /**
   * Statements filtered by connector, with its name (a code constant) and the LIMIT written into
   * the SQL: SQLite re-plans a statement on every new binding of such parameters (measured 40–60 µs
   * a claim instead of 6), and claims run once per delivered job.
   */
  readonly #byConnector = new Map<string, PerConnector>();

  #per(connector: string): PerConnector {
    let c = this.#byConnector.get(connector);
    if (!c) {
      if (!/^[a-z][a-z0-9_]*$/.test(connector)) throw new Error(`outbox: bad connector name ${JSON.stringify(connector)}`);
      const db = this.#db;
      c = {
        running: db.prepare<[], number>(`SELECT COUNT(*) FROM jobs WHERE connector = '${connector}' AND state = 'running'`).pluck(),
        anyQueued: db.prepare<[], number>(`SELECT 1 FROM jobs WHERE connector = '${connector}' AND state = 'queued' LIMIT 1`).pluck(),
        // The earliest job that could be claimed once due: not behind a running or older queued job of its key.
        nextClaimable: db.prepare<[], number | null>(`SELECT MIN(j.next_run_at) FROM jobs j WHERE j.connector = '${connector}' AND j.state = 'queued'
          AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
          AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.key = j.key AND e.state = 'queued' AND e.id < j.id)`).pluck(),
        due: new Map(),
      };
      this.#byConnector.set(connector, c);
    }
    return c;
  }

  /** Oldest due jobs, one per key, none of whose key is running or has an older queued job. */
  #due(connector: string, limit: number): Database.Statement<[{ due: number }], Row> {
    const per = this.#per(connector);
    let st = per.due.get(limit);
    if (!st) {
      st = this.#db.prepare<{ due: number }, Row>(`SELECT j.* FROM jobs j
        WHERE j.connector = '${connector}' AND j.state = 'queued' AND j.next_run_at <= @due
          AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
          AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.key = j.key AND e.state = 'queued' AND e.id < j.id)
        ORDER BY j.next_run_at, j.id LIMIT ${Math.trunc(limit)}`);
      per.due.set(limit, st);
    }
    return st;
  }

  constructor(db: DB, opts: OutboxOptions & { commit?: GroupCommit } = {}) {
    this.#db = db;
    this.#commit = opts.commit;
    this.now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.#s = {
      // A SELECT then an UPDATE by id: an UPDATE … RETURNING that matches nothing costs more than both.
      // At most one coalescing job per key is ever queued; no ORDER BY (a reverse seek costs 5x here).
      queuedForKey: db.prepare<[string], number>(`SELECT id FROM jobs WHERE key = ? AND state = 'queued' AND coalesce = 1 LIMIT 1`).pluck(),
      // The newest state replaces the payload; it may run sooner (a card save after a settling bonus), never later.
      replacePayload: db.prepare(`UPDATE jobs SET payload = @payload, kind = @kind, updated_at = @now,
        next_run_at = CASE WHEN retry_wait = 1 THEN next_run_at ELSE MIN(next_run_at, @runAt) END WHERE id = @id`),
      insert: db.prepare<Record<string, unknown>, { id: number }>(`INSERT INTO jobs (connector, kind, key, payload, dedupe, coalesce, state, next_run_at, created_at, updated_at)
        VALUES (@connector, @kind, @key, @payload, @dedupe, @coalesce, 'queued', @runAt, @now, @now) ON CONFLICT DO NOTHING RETURNING id`),
      get: db.prepare<[number], Row>(`SELECT * FROM jobs WHERE id = ?`),
      latestForKey: db.prepare<[string, number], Row>(`SELECT * FROM jobs WHERE key = ? AND id >= ? ORDER BY id DESC LIMIT 1`),
      lease: db.prepare(`UPDATE jobs SET state = 'running', lease_until = @until, lease_owner = @owner, retry_wait = 0, updated_at = @now WHERE id = @id AND state = 'queued'`),
      renew: db.prepare(`UPDATE jobs SET lease_until = @until WHERE id = @id AND state = 'running' AND lease_owner = @owner`),
      finish: db.prepare(`UPDATE jobs SET state = @state, last_error = @error, lease_until = NULL, lease_owner = NULL, updated_at = @now, finished_at = @now,
        attempts = attempts + @inc WHERE id = @id AND state = 'running' AND lease_owner = @owner`),
      requeue: db.prepare(`UPDATE jobs SET state = 'queued', attempts = attempts + @inc, next_run_at = @runAt, retry_wait = @wait, last_error = @error,
        lease_until = NULL, lease_owner = NULL, updated_at = @now WHERE id = @id AND state = 'running' AND lease_owner = @owner`),
      // Back as it was before its lease, due: attempts, last error and the connector's backoff untouched.
      unlease: db.prepare(`UPDATE jobs SET state = 'queued', next_run_at = MIN(next_run_at, @now), retry_wait = 0,
        lease_until = NULL, lease_owner = NULL, updated_at = @now WHERE id = @id AND state = 'running' AND lease_owner = @owner`),
      newerQueued: db.prepare<[string, number], { id: number }>(`SELECT id FROM jobs WHERE key = ? AND state = 'queued' AND coalesce = 1 AND id > ? ORDER BY id DESC LIMIT 1`),
      inherit: db.prepare(`UPDATE jobs SET attempts = @attempts, next_run_at = MAX(next_run_at, @runAt), retry_wait = @wait, last_error = @error WHERE id = @id`),
      supersede: db.prepare(`UPDATE jobs SET state = 'done', last_error = @error, lease_until = NULL, lease_owner = NULL, updated_at = @now, finished_at = @now WHERE id = @id`),
      // A run cut off (its process died, or a stop handed it back while it still ran) counts as an
      // attempt: it may have reached the remote, and the next run of its key sees `attempts > 0`
      // (see Job.attempts).
      recover: db.prepare<{ now: number }, { connector: string }>(`UPDATE jobs SET state = 'queued', attempts = attempts + 1, lease_until = NULL, lease_owner = NULL, updated_at = @now
        WHERE state = 'running' AND lease_until < @now RETURNING connector`),
      release: db.prepare(`UPDATE jobs SET state = 'queued', attempts = attempts + 1, lease_until = NULL, lease_owner = NULL, updated_at = @now
        WHERE state = 'running' AND lease_owner = @owner`),
      // Before dropping older twins: the newest inherits their attempts (as a retried job's successor does).
      inheritFromTwins: db.prepare(`UPDATE jobs SET attempts = (SELECT MAX(o.attempts) FROM jobs o WHERE o.key = jobs.key AND o.state = 'queued' AND o.coalesce = 1 AND o.id < jobs.id)
        WHERE state = 'queued' AND coalesce = 1
          AND attempts < (SELECT MAX(o.attempts) FROM jobs o WHERE o.key = jobs.key AND o.state = 'queued' AND o.coalesce = 1 AND o.id < jobs.id)`),
      // After jobs came back from a dead or stopping owner: keep one queued coalescing job per key (the newest).
      dropOlderTwins: db.prepare(`UPDATE jobs SET state = 'done', last_error = '{"code":"superseded","message":"заменено более новым заданием"}',
        updated_at = @now, finished_at = @now
        WHERE state = 'queued' AND coalesce = 1
          AND EXISTS (SELECT 1 FROM jobs n WHERE n.key = jobs.key AND n.state = 'queued' AND n.coalesce = 1 AND n.id > jobs.id)`),
      releaseWaiting: db.prepare(`UPDATE jobs SET next_run_at = @now, retry_wait = 0 WHERE connector = @connector AND state = 'queued' AND retry_wait = 1`),
      connector: db.prepare<[string], ConnectorRow>(`SELECT * FROM connectors WHERE name = ?`),
      upsertConnector: db.prepare(`INSERT INTO connectors (name, state, failures, next_probe_at, since, last_error) VALUES (@name, @state, @failures, @nextProbeAt, @since, @error)
        ON CONFLICT (name) DO UPDATE SET state = excluded.state, failures = excluded.failures, next_probe_at = excluded.next_probe_at, since = excluded.since, last_error = excluded.last_error`),
      depth: db.prepare<[], { connector: string; queued: number; oldest: number }>(`SELECT connector, COUNT(*) AS queued, MIN(created_at) AS oldest FROM jobs WHERE state IN ('queued', 'running') AND kind <> '${RECURRING_KIND}' GROUP BY connector`),
      prune: db.prepare(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? AND state = 'done' LIMIT 1000)`),
    };
  }

  /** Adds work (inside the caller's transaction). Returns the job id and whether it replaced a queued one. */
  enqueue(input: EnqueueInput): { id: number; coalesced: boolean } | null {
    const now = this.now();
    const params = {
      connector: input.connector,
      kind: input.kind,
      key: input.key,
      payload: JSON.stringify(input.payload ?? null),
      dedupe: input.dedupe ?? null,
      runAt: input.runAt ?? now,
      coalesce: input.coalesce !== false && input.dedupe === undefined ? 1 : 0,
      now,
    };
    this.#notifySoon(input.connector);
    if (params.coalesce) {
      const id = this.#s.queuedForKey.get(input.key);
      if (id !== undefined) {
        this.#s.replacePayload.run({ id, payload: params.payload, kind: params.kind, now, runAt: params.runAt });
        return { id, coalesced: true };
      }
    }
    const row = this.#s.insert.get(params);
    if (row && params.runAt <= now && this.#commit?.joining) for (const l of this.#onEnqueue) l(input.connector);
    return row ? { id: row.id, coalesced: false } : null;
  }

  /**
   * Called inside a durable write that enqueued a due job for a connector (an intake): a worker with
   * a free slot may lease it there with `claimWithin`, instead of in a transaction of its own.
   */
  onEnqueue(listener: (connector: string) => void): () => void {
    this.#onEnqueue.add(listener);
    return () => this.#onEnqueue.delete(listener);
  }

  /**
   * Inside a durable write (a GroupCommit item, e.g. the intake that enqueued the job): leases what
   * `claim` would, in that same transaction. `durable` settles with it: resolved once the lease is
   * on disk, rejected when the write rolled back (the leases with it). Null when there is no such
   * write or nothing to lease.
   */
  claimWithin(connector: string, limit: number, owner: string): { jobs: Job[]; durable: Promise<void> } | null {
    if (!this.#commit?.joining) return null;
    const take = this.#claimable(connector, limit);
    if (!take) return null;
    let jobs: Job[] = [];
    // Joins the running item: the lease runs now, in a savepoint of its own.
    const durable = this.#commit.run(() => void (jobs = this.#lease(connector, take, owner)));
    if (jobs.length === 0) {
      durable.catch(() => {});
      return null;
    }
    return { jobs, durable };
  }

  /** The newest job of a key from `fromId` on (the one that carries the key's latest state). */
  latestForKey(key: string, fromId: number): Job | undefined {
    const r = this.#s.latestForKey.get(key, fromId);
    return r && toJob(r);
  }

  get(id: number): Job | undefined {
    const r = this.#s.get.get(id);
    return r && toJob(r);
  }

  /**
   * Leases up to `limit` due jobs of a connector. A paused connector gives none; a failing one
   * gives at most one (the probe) once its probe time has come, due or not.
   */
  claim(connector: string, limit: number, owner: string): Job[] {
    const take = this.#claimable(connector, limit);
    if (!take) return [];
    // A lease lost in a power cut costs nothing (the job is simply still queued): no fsync of its own.
    return withoutFsync(this.#db, () => this.#lease(connector, take, owner));
  }

  /** How many jobs may be leased now and which are due (reads only); null when none. */
  #claimable(connector: string, limit: number): { limit: number; due: number } | null {
    if (limit <= 0) return null;
    const now = this.now();
    const status = this.connectorStatus(connector);
    if (status.state === 'paused') return null;
    if (status.state === 'failing') {
      if ((status.nextProbeAt ?? 0) > now || (this.#per(connector).running.get() ?? 0) > 0) return null;
      return { limit: 1, due: Number.MAX_SAFE_INTEGER };
    }
    return { limit, due: now };
  }

  /** Inside a transaction: leases what `#claimable` allows. */
  #lease(connector: string, take: { limit: number; due: number }, owner: string): Job[] {
    const now = this.now();
    const rows = this.#due(connector, take.limit).all({ due: take.due });
    const until = now + this.leaseMs;
    for (const r of rows) {
      this.#s.lease.run({ id: r.id, until, owner, now });
      r.state = 'running';
      r.lease_until = until;
      r.lease_owner = owner;
    }
    return rows.map(toJob);
  }

  renew(id: number, owner: string): boolean {
    return this.#s.renew.run({ id, owner, until: this.now() + this.leaseMs }).changes === 1;
  }

  /**
   * The remote accepted the work. Ends a connector outage: every job waiting on backoff is released.
   * `record` (the domain's record of the remote's answer) commits in the same transaction; with
   * `claimNext`, up to as many next jobs of the connector as it returns (asked inside the
   * transaction) are leased in it too and returned. `durability` (default durable): a delivery
   * that is harmless to repeat (an idempotent update) may be `relaxed`, like a lease: a power cut
   * in the next moment costs one repeated call, and any later durable commit makes it durable too,
   * because the WAL is written in order. Creates are durable.
   */
  complete(job: Job, owner: string, opts: OutcomeOptions & { durability?: Durability; claimNext?: () => number } = {}): Promise<Job[]> {
    return this.#write(opts.durability ?? 'durable', () => {
      opts.record?.();
      this.#s.finish.run({ id: job.id, owner, state: 'done', error: null, now: this.now(), inc: 1 });
      this.#markHealthy(job.connector);
      // The worker's next jobs ride on this commit instead of a transaction of their own.
      const take = opts.claimNext ? this.#claimable(job.connector, opts.claimNext()) : null;
      return take ? this.#lease(job.connector, take, owner) : [];
    });
  }

  /** A business refusal (409, validation): the job fails at once and is not retried. The remote is up. */
  fail(job: Job, owner: string, error: JobError, opts: OutcomeOptions = {}): Promise<void> {
    return this.#write('durable', () => {
      opts.record?.();
      this.#s.finish.run({ id: job.id, owner, state: 'failed', error: JSON.stringify(error), now: this.now(), inc: 1 });
      this.#markHealthy(job.connector);
    });
  }

  /** A transport error, 5xx or 429: back off (job and connector) and try again; never given up. Resolves with when. */
  retry(job: Job, owner: string, error: JobError, opts: OutcomeOptions & { delayMs?: number } = {}): Promise<number> {
    return this.#write('durable', () => {
      opts.record?.();
      const now = this.now();
      const attempts = job.attempts + 1;
      const runAt = now + (opts.delayMs ?? backoffMs(attempts, { random: this.#random }));
      const errorJson = JSON.stringify(error);
      this.#s.requeue.run({ id: job.id, owner, inc: 1, runAt, wait: 1, error: errorJson, now });
      this.#coalesceAfterReturn(job, { attempts, runAt, wait: 1, error: errorJson });
      const c = this.connectorStatus(job.connector);
      const failures = c.state === 'paused' ? c.failures : c.failures + 1;
      if (c.state !== 'paused') {
        this.#setConnector({
          name: job.connector,
          state: 'failing',
          failures,
          nextProbeAt: now + backoffMs(failures, { capMs: PROBE_CAP_MS, random: this.#random }),
          since: c.state === 'failing' ? c.since : now,
          lastError: error,
        });
      }
      return runAt;
    });
  }

  /** Credentials refused: the job goes back unharmed and the connector pauses until its settings change. */
  pause(job: Job, owner: string, error: JobError, opts: OutcomeOptions = {}): Promise<void> {
    return this.#write('durable', () => {
      opts.record?.();
      const now = this.now();
      const errorJson = JSON.stringify(error);
      this.#s.requeue.run({ id: job.id, owner, inc: 0, runAt: now, wait: 0, error: errorJson, now });
      this.#coalesceAfterReturn(job, { attempts: job.attempts, runAt: now, wait: 0, error: errorJson });
      this.#setConnector({ name: job.connector, state: 'paused', failures: 0, nextProbeAt: null, since: now, lastError: error });
    });
  }

  /**
   * A stop cut the run short (Sputnik's own doing, nothing to say of the remote): the job goes back
   * to the queue as it was before its lease, due now, with its attempts, its last error and the
   * connector's state untouched, so no failure is recorded and no backoff begins. `record` is what
   * the domain must keep of the run (e.g. that a create may have reached the remote: the next run
   * does not see `attempts > 0` for it). A newer queued state of its key supersedes it and inherits
   * what it had.
   */
  interrupt(job: Job, owner: string, opts: OutcomeOptions = {}): Promise<void> {
    return this.#write('durable', () => {
      opts.record?.();
      const now = this.now();
      if (this.#s.unlease.run({ id: job.id, owner, now }).changes === 0) return;
      const error = job.lastError ? JSON.stringify(job.lastError) : null;
      this.#coalesceAfterReturn(job, { attempts: job.attempts, runAt: Math.min(job.nextRunAt, now), wait: 0, error });
    });
  }

  /** One transaction for an outcome: group-committed when durable (a synchronous FULL one without a GroupCommit). */
  #write<T>(durability: Durability, fn: () => T): Promise<T> {
    if (this.#commit && (durability === 'durable' || this.#commit.joining)) return this.#commit.run(fn);
    try {
      return Promise.resolve(durability === 'durable' ? this.#db.transaction(fn)() : withoutFsync(this.#db, fn));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The operator said "retry": the key's queued job runs now, not after its backoff. True when there was one. */
  retryNow(key: string): boolean {
    return this.#db.prepare(`UPDATE jobs SET next_run_at = @now, retry_wait = 0 WHERE key = @key AND state = 'queued'`).run({ key, now: this.now() }).changes > 0;
  }

  /**
   * The key's queued job runs at `runAt` instead, sooner or later than planned (a backoff it was
   * waiting out is forgotten), and its connector's worker is woken. True when there was one.
   * Recurring jobs move their next run with it (main/core/recurring.ts).
   */
  runKeyAt(key: string, runAt: number): boolean {
    const rows = this.#db
      .prepare<{ key: string; runAt: number; now: number }, { connector: string }>(`UPDATE jobs SET next_run_at = @runAt, retry_wait = 0, updated_at = @now WHERE key = @key AND state = 'queued' RETURNING connector`)
      .all({ key, runAt, now: this.now() });
    for (const c of new Set(rows.map((r) => r.connector))) this.#notifySoon(c);
    return rows.length > 0;
  }

  /** Inside the caller's transaction: forgets the key's finished jobs (a recurring job keeps only its newest run). */
  forgetFinished(key: string): number {
    return this.#db.prepare(`DELETE FROM jobs WHERE key = ? AND finished_at IS NOT NULL`).run(key).changes;
  }

  /** The operator paused sending (tray menu «Приостановить отправку»): nothing is claimed until `resume`. */
  pauseConnector(connector: string): void {
    this.#db.transaction(() => {
      this.#setConnector({ name: connector, state: 'paused', failures: 0, nextProbeAt: null, since: this.now(), lastError: { code: 'paused_by_operator', message: 'Отправка приостановлена оператором' } });
    })();
  }

  /** Settings changed (or an operator said "try again"): a paused or failing connector runs again now. */
  resume(connector: string): void {
    this.#db.transaction(() => {
      this.#setConnector({ name: connector, state: 'ok', failures: 0, nextProbeAt: null, since: null, lastError: null });
      this.#s.releaseWaiting.run({ connector, now: this.now() });
    })();
    this.#notifySoon(connector);
  }

  /** Jobs whose lease ran out (their process died) go back to the queue. */
  recoverExpired(): number {
    const rows = this.#db.transaction(() => {
      const r = this.#s.recover.all({ now: this.now() });
      if (r.length) this.#dropOlderTwins();
      return r;
    })();
    for (const c of new Set(rows.map((r) => r.connector))) this.#notifySoon(c);
    return rows.length;
  }

  /**
   * On a clean stop: jobs this process still holds (runs that did not end on the stop's abort)
   * go back to the queue at once, each counted as an attempt.
   */
  releaseOwned(owner: string): number {
    return this.#db.transaction(() => {
      const n = this.#s.release.run({ owner, now: this.now() }).changes;
      if (n) this.#dropOlderTwins();
      return n;
    })();
  }

  connectorStatus(name: string): ConnectorStatus {
    const r = this.#s.connector.get(name);
    if (!r) return { name, state: 'ok', failures: 0, nextProbeAt: null, since: null, lastError: null };
    return { name, state: r.state, failures: r.failures, nextProbeAt: r.next_probe_at, since: r.since, lastError: r.last_error ? JSON.parse(r.last_error) : null };
  }

  /**
   * When this connector next has something to claim (ms epoch), or null when nothing waits on
   * time. A job that is already due counts too (the caller's clock may have read just before it
   * fell due); jobs blocked behind a running job of their key are woken by that job's end.
   */
  nextWakeAt(connector: string): number | null {
    const c = this.connectorStatus(connector);
    if (c.state === 'paused') return null;
    const now = this.now();
    if (c.state === 'failing') {
      if ((this.#per(connector).running.get() ?? 0) > 0) return null;
      return this.#per(connector).anyQueued.get() ? Math.max(now, c.nextProbeAt ?? now) : null;
    }
    return this.#per(connector).nextClaimable.get() ?? null;
  }

  depth(): Array<{ connector: string; queued: number; oldest: number }> {
    return this.#s.depth.all();
  }

  /** Deletes finished jobs older than `before`, in bounded batches. */
  pruneDone(before: number): number {
    return this.#s.prune.run(before).changes;
  }

  onWork(listener: (connector: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notifySoon(connector: string): void {
    // After the current synchronous transaction has committed; one wake-up per connector per turn.
    if (!this.#listeners.size || this.#toNotify.has(connector)) return;
    this.#toNotify.add(connector);
    if (this.#toNotify.size === 1) {
      setImmediate(() => {
        const connectors = [...this.#toNotify];
        this.#toNotify.clear();
        for (const c of connectors) this.#listeners.forEach((l) => l(c));
      });
    }
  }

  #dropOlderTwins(): void {
    this.#s.inheritFromTwins.run();
    this.#s.dropOlderTwins.run({ now: this.now() });
  }

  #markHealthy(connector: string): void {
    const c = this.connectorStatus(connector);
    if (c.state === 'failing') {
      this.#setConnector({ name: connector, state: 'ok', failures: 0, nextProbeAt: null, since: null, lastError: null });
      this.#s.releaseWaiting.run({ connector, now: this.now() });
      this.#notifySoon(connector);
    }
  }

  /** A job returned to the queue while a newer state for its key arrived: keep only the newer one. */
  #coalesceAfterReturn(job: Job, carry: { attempts: number; runAt: number; wait: number; error: string | null }): void {
    const newer = this.#s.newerQueued.get(job.key, job.id);
    if (!newer || !job.coalesce) return;
    this.#s.supersede.run({ id: job.id, error: JSON.stringify({ code: 'superseded', message: `заменено заданием ${newer.id}` }), now: this.now() });
    this.#s.inherit.run({ id: newer.id, ...carry });
  }

  #setConnector(c: ConnectorStatus): void {
    this.#s.upsertConnector.run({
      name: c.name,
      state: c.state,
      failures: c.failures,
      nextProbeAt: c.nextProbeAt,
      since: c.since,
      error: c.lastError ? JSON.stringify(c.lastError) : null,
    });
  }
}
