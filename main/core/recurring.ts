import { DeliveryError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { RECURRING_KIND, type Job } from '../store/outbox.ts';
import type { ConnectorWorkers, JobDone, JobHandler } from '../store/worker-pool.ts';
import { errorMessage, prop } from '../unknown.ts';

/**
 * Work on a schedule (a pull, housekeeping, tracking), declared by a module through
 * `ctx.recurring(spec)` or by the core itself. See `Recurring`.
 */
export interface RecurringSpec<T = unknown> {
  /**
   * The outbox connector its runs belong to: they run in its worker lane, and their failures and
   * successes are its health, exactly as its deliveries' are ('docpart'; 'core' for the core's own).
   */
  connector: string;
  /** Names the job, unique in the app: `<module>:<what>` ('docpart:pull'). One queued job per key. */
  key: string;
  /**
   * Milliseconds from the end of one run to the start of the next, read when a run completes (so
   * a settings change applies from the next run). A function gets that run's result, so a module
   * may plan by what it found.
   */
  every: number | ((last: T | undefined) => number);
  /** One run. A rejection is retried with the outbox's backoff (a `DeliveryError('auth')` pauses the connector); a run is never given up. */
  run: (ctx: { signal: AbortSignal }) => Promise<T>;
  /** When the first run is due when the key has no job yet (the first start, or switched back on), given the store's clock. Default: now. */
  firstAt?: (now: number) => number;
  /** False: switched off (its connector disabled): no run starts and none is planned until `reschedule()` is called with it on. Default: on. */
  enabled?: () => boolean;
}

/** A declared recurring job, for its module. */
export interface RecurringJob<T> {
  /**
   * Runs it now («Загрузить сейчас»), or joins the run under way; settles with that run's outcome
   * (the run's own error, as thrown). Like an operator's «Повторить», it forgets a backoff and
   * releases a failing or paused connector. Rejects at once when switched off.
   */
  runNow(): Promise<T>;
  /** True while a run is under way in this process. */
  running(): boolean;
  /**
   * When the next run starts, on the store's clock: its planned time, or the connector's next probe
   * while the connector is failing; null while a run is under way, when switched off or paused.
   */
  nextAt(): number | null;
  /**
   * Its settings changed: the next run is planned from the last run's end with the current `every`
   * (at once when that is past); switched back on, its job is created again.
   */
  reschedule(): void;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

interface Entry<T> {
  spec: RecurringSpec<T>;
  current: Promise<T> | null;
  /** `runNow` callers waiting for the run it asked for to start. */
  waiters: Waiter<T>[];
}

/** A declared key as the scheduler keeps it: each entry's result type stays inside these closures. */
interface Declared {
  connector: string;
  ensure: () => void;
  handle: (job: Job, signal: AbortSignal) => Promise<JobDone>;
}

/** What a recurring job's queued row carries: the end of the run that planned it (null: none yet). */
interface Payload {
  after: number | null;
}

/**
 * Recurring work as outbox jobs: one scheduler (the outbox's `run_at`, run by the WorkerPool) and
 * one idea of connector health. Each declared key keeps exactly one job: queued until its time,
 * then leased and run in its connector's lane; its completion plans the next run `every` after the
 * end, in the same transaction that marks it done (and forgets the runs before it, so a key keeps
 * at most two rows). A failed run goes back with the outbox's backoff and makes the connector
 * failing (one probe at a time, capped at 30 s); credentials refused pause it until its settings
 * change; the first success releases it. Because the job is in the store, a restart or a kill loses
 * nothing and repeats nothing: `start` only creates a job for a key that has none, and a run a kill
 * interrupted comes back when its lease expires. The store's clock (`outbox.now`) measures it all.
 */
export class Recurring {
  readonly #store: Store;
  readonly #log: (msg: string, extra?: object) => void;
  readonly #entries = new Map<string, Declared>();
  #started = false;

  constructor(store: Store, opts: { log?: (msg: string, extra?: object) => void } = {}) {
    this.#store = store;
    this.#log = opts.log ?? (() => {});
  }

  add<T>(spec: RecurringSpec<T>): RecurringJob<T> {
    if (this.#entries.has(spec.key)) throw new Error(`recurring: ${spec.key} is declared twice`);
    const e: Entry<T> = { spec, current: null, waiters: [] };
    this.#entries.set(spec.key, { connector: spec.connector, ensure: () => this.#ensure(e), handle: (job, signal) => this.#handle(e, job, signal) });
    if (this.#started) this.#write(() => this.#ensure(e)).catch((error: unknown) => this.#failed(spec.key, error));
    return {
      runNow: () => this.#runNow(e),
      running: () => e.current !== null,
      nextAt: () => this.#nextAt(e),
      reschedule: () => void this.#reschedule(e).catch((error: unknown) => this.#failed(spec.key, error)),
    };
  }

  /**
   * The worker lanes with the recurring jobs' handler: a connector that has delivery workers too
   * (`workers`) shares its lane and concurrency; one with only recurring jobs gets a lane of one.
   */
  lanes(workers: ConnectorWorkers[]): ConnectorWorkers[] {
    const connectors = new Set([...this.#entries.values()].map((d) => d.connector));
    const handle: JobHandler = (job, ctx) => this.#entries.get(job.key)?.handle(job, ctx.signal) ?? this.#undeclared(job);
    const lanes = workers.map((w): ConnectorWorkers => (connectors.has(w.connector) ? { ...w, handle: (job, ctx) => (job.kind === RECURRING_KIND ? handle(job, ctx) : w.handle(job, ctx)) } : w));
    for (const c of connectors) if (!workers.some((w) => w.connector === c)) lanes.push({ connector: c, concurrency: 1, handle });
    return lanes;
  }

  /** Creates the job of every key that has none (start it before the WorkerPool). */
  async start(): Promise<void> {
    this.#started = true;
    await this.#write(() => {
      for (const d of this.#entries.values()) d.ensure();
    });
  }

  #write<R>(fn: () => R): Promise<R> {
    // Scheduling is cheap to redo: a power cut that loses it is repaired by the next `start`.
    return this.#store.write(fn, { durability: 'relaxed' });
  }

  #failed(key: string, error: unknown): void {
    // The job is as it was; the next start (or settings change) plans it again.
    this.#log('recurring job not rescheduled', { key, err: errorMessage(error) });
  }

  #enabled<T>(e: Entry<T>): boolean {
    return e.spec.enabled?.() ?? true;
  }

  #every<T>(e: Entry<T>, last: T | undefined): number {
    return typeof e.spec.every === 'function' ? e.spec.every(last) : e.spec.every;
  }

  /** The key's queued or running job. The newest row of a key is its live one: a completion inserts the next before it marks itself done. */
  #live(key: string): Job | undefined {
    const job = this.#store.outbox.latestForKey(key, 0);
    return job && (job.state === 'queued' || job.state === 'running') ? job : undefined;
  }

  #enqueue<T>(e: Entry<T>, runAt: number, after: number | null): void {
    const payload: Payload = { after };
    this.#store.outbox.enqueue({ connector: e.spec.connector, kind: RECURRING_KIND, key: e.spec.key, payload, runAt });
  }

  /** Inside a write: the key gets its job unless it has one (or is switched off). */
  #ensure<T>(e: Entry<T>): void {
    if (!this.#enabled(e) || this.#live(e.spec.key)) return;
    const now = this.#store.outbox.now();
    this.#enqueue(e, Math.max(now, e.spec.firstAt?.(now) ?? now), null);
  }

  async #reschedule<T>(e: Entry<T>): Promise<void> {
    if (!this.#enabled(e)) return; // its queued job ends the chain when it comes due
    await this.#write(() => {
      const job = this.#live(e.spec.key);
      if (!job) return this.#ensure(e);
      if (job.state !== 'queued') return; // the run under way plans the next with the new settings
      const now = this.#store.outbox.now();
      const planned = prop(job.payload, 'after'); // a Payload, as #enqueue wrote it
      const after = typeof planned === 'number' ? planned : null;
      const at = after === null ? (e.spec.firstAt?.(now) ?? now) : after + this.#every(e, undefined);
      this.#store.outbox.runKeyAt(e.spec.key, Math.max(now, at));
    });
  }

  #runNow<T>(e: Entry<T>): Promise<T> {
    if (e.current) return e.current;
    if (!this.#enabled(e)) return Promise.reject(new Error(`${e.spec.key} is switched off`));
    const asked = new Promise<T>((resolve, reject) => e.waiters.push({ resolve, reject }));
    const outbox = this.#store.outbox;
    this.#write(() => {
      const now = outbox.now();
      const job = this.#live(e.spec.key);
      if (!job) this.#enqueue(e, now, null);
      else if (job.state === 'queued') outbox.runKeyAt(e.spec.key, now);
      // A job still 'running' without a run here is a dead process's lease (it comes back when that
      // expires) or a run completing this instant (which then plans the next one at once).
      if (outbox.connectorStatus(e.spec.connector).state !== 'ok') outbox.resume(e.spec.connector);
    }).catch((error: unknown) => {
      for (const w of e.waiters.splice(0)) w.reject(error);
    });
    return asked;
  }

  #nextAt<T>(e: Entry<T>): number | null {
    if (e.current || !this.#enabled(e)) return null;
    const job = this.#live(e.spec.key);
    if (job?.state !== 'queued') return null;
    const c = this.#store.outbox.connectorStatus(e.spec.connector);
    if (c.state === 'paused') return null;
    return c.state === 'failing' ? (c.nextProbeAt ?? job.nextRunAt) : job.nextRunAt;
  }

  /** A job whose key is not declared (any more): the chain ends here. */
  async #undeclared(job: Job): Promise<JobDone> {
    const outbox = this.#store.outbox;
    return { record: () => void outbox.forgetFinished(job.key) };
  }

  async #handle<T>(e: Entry<T>, job: Job, signal: AbortSignal): Promise<JobDone> {
    const outbox = this.#store.outbox;
    if (!this.#enabled(e)) {
      // Switched off: the chain ends here; `reschedule` starts it again.
      for (const w of e.waiters.splice(0)) w.reject(new Error(`${job.key} is switched off`));
      return { record: () => void outbox.forgetFinished(job.key) };
    }
    const run = (async () => e.spec.run({ signal }))();
    e.current = run;
    for (const w of e.waiters.splice(0)) run.then(w.resolve, w.reject);
    let result: T;
    try {
      result = await run;
    } catch (error) {
      throw retriable(error);
    } finally {
      e.current = null;
    }
    const end = outbox.now();
    const every = this.#every(e, result);
    const done = {
      // In the transaction that marks this run done: the next run, and no older rows.
      record: () => {
        outbox.forgetFinished(job.key);
        this.#enqueue(e, e.waiters.length ? end : end + every, end);
      },
      // No fsync of its own: a power cut that loses this completion loses the plan with it, and the
      // run, still leased, runs again when its lease expires (a run is harmless to repeat; what it
      // stored, it stored with its own writes). Honoured once JobDone carries `durability`.
      durability: 'relaxed' as const,
    };
    return done;
  }
}

/** A recurring job is never given up: a refusal is retried with the backoff like a transport error. */
function retriable(error: unknown): unknown {
  if (error instanceof DeliveryError && error.outcome === 'refused') {
    return new DeliveryError('retry', error.code, error.message, { status: error.status, cause: error, retryAfterMs: error.retryAfterMs });
  }
  return error;
}
