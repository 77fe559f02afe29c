import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { DeliveryError } from '../errors.ts';
import { errorMessage, prop } from '../unknown.ts';
import type { Job, JobError, Outbox } from './outbox.ts';
import type { Durability } from './group-commit.ts';

/**
 * Delivers one job. It may resolve with how to finish it: `record` writes the remote's answer in
 * the same transaction that marks the job done; `durability` (default durable) may be `relaxed`
 * when sending it again is harmless (an idempotent update) — see Outbox.complete.
 */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<void | JobDone>;
export interface JobDone {
  record?: () => void;
  durability?: Durability;
}

/** How a job's outcome is worded for the job and for the domain's record of a failure. */
export type FailureOutcome = 'failed' | 'retry' | 'paused';

export interface JobContext {
  signal: AbortSignal;
  /**
   * The lease is on disk (it was written by a durable commit that has been fsynced, e.g. with the
   * intake that stored the job): a crash from here on leaves the job running in the store, and its
   * next run sees `attempts > 0`. When false, a run about to send something it must not send twice
   * writes what says so durably first.
   */
  durable: boolean;
  /**
   * What the domain stores on its entity if this run fails (its error, its state): written in the
   * transaction that fails, retries or pauses the job. The last one set counts.
   */
  onFailure(record: (error: JobError, outcome: FailureOutcome) => void): void;
  /**
   * What the domain stores if a stop cuts this run short (`signal` aborted by the pool's stop and
   * the run ended on it): written in the transaction that puts the job back as it was, with its
   * attempts unchanged, so whatever must say that a call may have reached the remote (a create in
   * flight) is written here. The last one set counts.
   */
  onInterrupt(record: () => void): void;
}

export interface ConnectorWorkers {
  connector: string;
  concurrency: number;
  handle: JobHandler;
}

/**
 * Runs one job's delivery (`run`). `interrupted(error)` tells whether what `run` threw is the end a
 * stop put to it (see `stoppedBy`), and not a failure.
 */
export type JobWrapper = (job: Job, run: () => Promise<void | JobDone>, how: { interrupted: (error: unknown) => boolean }) => Promise<void | JobDone>;

/**
 * A job's outcome as the pool heard it: every failure carries its error; `interrupted`: a stop cut
 * the run short and the job went back to the queue as it was (no failure).
 */
export type Settled =
  | { job: Job; outcome: 'done'; error?: undefined }
  | { job: Job; outcome: 'interrupted'; error?: undefined }
  | { job: Job; outcome: 'failed' | 'retry' | 'paused'; error: JobError };

/** The reason a stop aborts the runs still going after its grace (a DOMException, as an abort's own). */
const STOPPING = new DOMException('Спутник останавливается: обмен прерван', 'AbortError');

/**
 * Whether a run ended by throwing `error` was cut short by a stop: its signal was aborted by a
 * stop (the pool's, or a module's own: `abortForStop`), and what it threw is not an answer the
 * remote gave in the meantime (a refusal or refused credentials count as they are); or it threw the
 * stop's reason itself. A timeout or an abort of the run's own is a failure.
 */
export function stoppedBy(signal: AbortSignal, error: unknown): boolean {
  if (isStopReason(error)) return true;
  if (!signal.aborted || signal.reason !== STOPPING) return false;
  return !(error instanceof DeliveryError) || error.outcome === 'retry';
}

/**
 * A module's own stop cuts its run short as the pool's stop does. The core stops the modules before
 * the pool, so a run cut this way (a Docpart pull) ends while the pool's signal is not aborted yet:
 * it throws its signal's reason (this one), which `stoppedBy` reads as a stop, not a failure.
 */
export function abortForStop(controller: AbortController): void {
  controller.abort(STOPPING);
}

/** Whether `error` is a stop's own reason: what a run cut short by a stop throws (abortForStop, the pool's stop). */
export function isStopReason(error: unknown): boolean {
  return error === STOPPING;
}

interface Lane {
  spec: ConnectorWorkers;
  running: Map<number, { job: Job; abort: AbortController; done: Promise<void> }>;
  /** Slots held for jobs leased in a commit that is not on disk yet (they start once it is). */
  reserved: number;
  timer?: NodeJS.Timeout;
}

const MAX_SLEEP_MS = 60_000;

/**
 * How long a stop waits for the runs it aborted to end and put their jobs back (an abort ends a
 * call at once; this bounds a handler that ignores its signal, whose job is then handed back as
 * cut off).
 */
const ABORTED_SETTLE_MS = 2_000;

/**
 * Runs outbox jobs: one lane per connector with its own concurrency. A lane wakes when work
 * is committed, when its next job or probe is due, and when a running job settles. A lane with a
 * free slot leases a job in the very write that enqueued it (an intake) and starts it once that
 * write is on disk; a finishing job leases the next ones in its completion. Leases are renewed
 * while a job runs; expired leases of a dead process are recovered periodically.
 */
export class WorkerPool extends EventEmitter<{ settled: [Settled] }> {
  readonly owner = `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #outbox: Outbox;
  readonly #lanes = new Map<string, Lane>();
  readonly #log: (msg: string, extra?: object) => void;
  readonly #around: JobWrapper;
  #stopping = false;
  #housekeeping?: NodeJS.Timeout;
  #unsubscribe: Array<() => void> = [];

  /** `around` runs each job's delivery (the journal makes each run one event of its exchanges). */
  constructor(outbox: Outbox, opts: { log?: (msg: string, extra?: object) => void; around?: JobWrapper } = {}) {
    super();
    this.#outbox = outbox;
    this.#log = opts.log ?? (() => {});
    this.#around = opts.around ?? ((_job, run) => run());
  }

  register(spec: ConnectorWorkers): void {
    this.#lanes.set(spec.connector, { spec, running: new Map(), reserved: 0 });
  }

  start(): void {
    this.#outbox.recoverExpired();
    this.#unsubscribe = [this.#outbox.onWork((c) => this.#pump(c)), this.#outbox.onEnqueue((c) => this.#takeWithin(c))];
    const every = Math.max(200, Math.floor(this.#outbox.leaseMs / 3));
    this.#housekeeping = setInterval(() => this.#renewAndRecover(), every);
    for (const c of this.#lanes.keys()) this.#pump(c);
  }

  /**
   * Stops claiming, lets running jobs finish up to `graceMs`, then aborts the rest: a run that ends
   * on that abort puts its job back as it was before its lease (`Outbox.interrupt`: no failure, no
   * backoff, the connector untouched — the stop is Sputnik's own doing). Jobs still held after that
   * (a handler that ignored its signal) go back to the queue counted as an attempt.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.quiesce();
    clearInterval(this.#housekeeping);
    const all = [...this.#lanes.values()];
    await settledWithin(all.flatMap((l) => [...l.running.values()].map((r) => r.done)), graceMs);
    const aborted = all.flatMap((l) => [...l.running.values()]);
    for (const r of aborted) r.abort.abort(STOPPING);
    await settledWithin(aborted.map((r) => r.done), ABORTED_SETTLE_MS);
    this.#outbox.releaseOwned(this.owner);
  }

  /**
   * A stop begins: no job is claimed from here on, while the runs under way go on (their leases
   * renewed) until `stop`. The core calls it before it stops the modules, so a run a module's stop
   * cut short goes back to the queue and stays there until the start.
   */
  quiesce(): void {
    this.#stopping = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const l of this.#lanes.values()) clearTimeout(l.timer);
  }

  runningCount(connector: string): number {
    return this.#lanes.get(connector)?.running.size ?? 0;
  }

  #free(lane: Lane): number {
    return lane.spec.concurrency - lane.running.size - lane.reserved;
  }

  /** Inside the durable write that enqueued work for `connector`: free slots take it there. */
  #takeWithin(connector: string): void {
    const lane = this.#lanes.get(connector);
    if (!lane || this.#stopping) return;
    const free = this.#free(lane);
    if (free <= 0) return;
    let taken: ReturnType<Outbox['claimWithin']> = null;
    try {
      taken = this.#outbox.claimWithin(connector, free, this.owner);
    } catch (error) {
      this.#log('outbox claim failed', { connector, err: errorMessage(error) });
    }
    if (!taken) return;
    const { jobs } = taken;
    lane.reserved += jobs.length;
    taken.durable.then(
      () => {
        lane.reserved -= jobs.length;
        // After a stop began they stay leased: the stop handed them back (or their lease expires).
        if (!this.#stopping) for (const job of jobs) this.#run(lane, job, true);
      },
      () => {
        lane.reserved -= jobs.length; // the write rolled back, and the leases with it
        this.#pump(connector);
      },
    );
  }

  #pump(connector: string): void {
    const lane = this.#lanes.get(connector);
    if (!lane || this.#stopping) return;
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const free = this.#free(lane);
    if (free <= 0) return; // a settling job pumps again
    let jobs: Job[] = [];
    try {
      jobs = this.#outbox.claim(connector, free, this.owner);
    } catch (error) {
      this.#log('outbox claim failed', { connector, err: errorMessage(error) });
    }
    for (const job of jobs) this.#run(lane, job, false);
    if (this.#free(lane) <= 0) return; // full: the next settling job pumps again
    const wakeAt = this.#outbox.nextWakeAt(connector);
    if (wakeAt !== null) {
      const delay = Math.min(MAX_SLEEP_MS, Math.max(1, wakeAt - this.#outbox.now()));
      lane.timer = setTimeout(() => this.#pump(connector), delay);
    }
  }

  #run(lane: Lane, job: Job, durable: boolean): void {
    const abort = new AbortController();
    // Registered before the handler starts: a handler that throws synchronously must not leave a ghost entry.
    const entry = { job, abort, done: Promise.resolve() };
    lane.running.set(job.id, entry);
    let onFailure: ((error: JobError, outcome: FailureOutcome) => void) | undefined;
    let onInterrupt: (() => void) | undefined;
    const ctx: JobContext = {
      signal: abort.signal,
      durable,
      onFailure: (record) => void (onFailure = record),
      onInterrupt: (record) => void (onInterrupt = record),
    };
    const interrupted = (error: unknown) => stoppedBy(abort.signal, error);
    entry.done = (async () => {
      let settled: Settled;
      let next: Job[] = [];
      let nextDurable = false;
      try {
        const done = await this.#around(job, () => lane.spec.handle(job, ctx), { interrupted });
        // The next jobs are leased in the completion (asked inside it, so the count is current) and
        // their slots held until it is on disk; this job's own slot is counted as free.
        let held = 0;
        const claimNext = () => {
          const n = this.#stopping ? 0 : Math.max(0, this.#free(lane) + 1);
          held = Math.max(0, n - 1);
          lane.reserved += held;
          return n;
        };
        const durability = done?.durability ?? 'durable';
        try {
          next = await this.#outbox.complete(job, this.owner, { record: done?.record, durability, claimNext });
        } finally {
          lane.reserved -= held;
        }
        nextDurable = durability === 'durable';
        settled = { job, outcome: 'done' };
      } catch (error) {
        settled = interrupted(error) ? await this.#onInterrupt(job, onInterrupt) : await this.#onFailure(job, error, onFailure);
      }
      lane.running.delete(job.id);
      this.emit('settled', settled);
      if (!this.#stopping) {
        for (const j of next) this.#run(lane, j, nextDurable);
        this.#pump(lane.spec.connector);
      }
    })();
  }

  /** A stop cut the run short: the job goes back as it was, with what the domain keeps of the run. */
  async #onInterrupt(job: Job, domain?: () => void): Promise<Settled> {
    try {
      await this.#outbox.interrupt(job, this.owner, domain ? { record: domain } : {});
    } catch (storeError) {
      // Not written: the stop hands the job back (as cut off), or its lease expires.
      this.#log('could not return an interrupted job', { jobId: job.id, err: errorMessage(storeError) });
    }
    return { job, outcome: 'interrupted' };
  }

  async #onFailure(job: Job, error: unknown, domain?: (error: JobError, outcome: FailureOutcome) => void): Promise<Settled> {
    const e = error instanceof DeliveryError ? error : null;
    const info: JobError = { code: e?.code ?? 'internal_error', message: e?.message ?? thrownMessage(error) };
    const record = (outcome: FailureOutcome) => (domain ? { record: () => domain(info, outcome) } : {});
    try {
      if (e?.outcome === 'refused') {
        await this.#outbox.fail(job, this.owner, info, record('failed'));
        return { job, outcome: 'failed', error: info };
      }
      if (e?.outcome === 'auth') {
        await this.#outbox.pause(job, this.owner, info, record('paused'));
        this.#log('connector paused: credentials refused', { connector: job.connector, code: info.code });
        return { job, outcome: 'paused', error: info };
      }
      if (!e) this.#log('job handler threw an unexpected error; will retry', { connector: job.connector, kind: job.kind, err: info.message });
      await this.#outbox.retry(job, this.owner, info, { delayMs: e?.retryAfterMs, ...record('retry') });
      return { job, outcome: 'retry', error: info };
    } catch (storeError) {
      // The store refused the outcome: the lease will expire and the job runs again.
      this.#log('could not record job outcome', { jobId: job.id, err: errorMessage(storeError) });
      return { job, outcome: 'retry', error: info };
    }
  }

  #renewAndRecover(): void {
    try {
      for (const lane of this.#lanes.values()) for (const id of lane.running.keys()) this.#outbox.renew(id, this.owner);
      this.#outbox.recoverExpired();
      // Safety net: a lane whose wake-up was missed for any reason resumes within one interval.
      for (const c of this.#lanes.keys()) this.#pump(c);
    } catch (error) {
      this.#log('lease housekeeping failed', { err: errorMessage(error) });
    }
  }
}

/** Waits for `promises` to settle, at most `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** What a handler threw, as the job's error message: an Error's message, else a thrown object's `message`, else its text. */
function thrownMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(prop(error, 'message') ?? error);
}
