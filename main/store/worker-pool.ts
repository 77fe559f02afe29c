import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { DeliveryError } from '../errors.ts';
import type { Job, JobError, Outbox } from './outbox.ts';

/**
 * Delivers one job. It may resolve with how to finish it: `record` writes the remote's answer in
 * the same transaction that marks the job done; `repeatable` says sending it again is harmless
 * (an idempotent update), so that commit may skip its own fsync — see Outbox.complete.
 */
export type JobHandler = (job: Job, ctx: { signal: AbortSignal }) => Promise<void | JobDone>;
export interface JobDone {
  record?: () => void;
  repeatable?: boolean;
}

export interface ConnectorWorkers {
  connector: string;
  concurrency: number;
  handle: JobHandler;
}

export type JobWrapper = (job: Job, run: () => Promise<void | JobDone>) => Promise<void | JobDone>;

export type Settled = { job: Job; outcome: 'done' | 'failed' | 'retry' | 'paused'; error?: JobError };

interface Lane {
  spec: ConnectorWorkers;
  running: Map<number, { job: Job; abort: AbortController; done: Promise<void> }>;
  timer?: NodeJS.Timeout;
}

const MAX_SLEEP_MS = 60_000;

/**
 * Runs outbox jobs: one lane per connector with its own concurrency. A lane wakes when work
 * is committed, when its next job or probe is due, and when a running job settles. Leases are
 * renewed while a job runs; expired leases of a dead process are recovered periodically.
 */
export class WorkerPool extends EventEmitter<{ settled: [Settled] }> {
  readonly owner = `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #outbox: Outbox;
  readonly #lanes = new Map<string, Lane>();
  readonly #log: (msg: string, extra?: object) => void;
  readonly #around: JobWrapper;
  #stopping = false;
  #housekeeping?: NodeJS.Timeout;
  #unsubscribe?: () => void;

  /** `around` runs each job's delivery (the journal makes each run one event of its exchanges). */
  constructor(outbox: Outbox, opts: { log?: (msg: string, extra?: object) => void; around?: JobWrapper } = {}) {
    super();
    this.#outbox = outbox;
    this.#log = opts.log ?? (() => {});
    this.#around = opts.around ?? ((_job, run) => run());
  }

  register(spec: ConnectorWorkers): void {
    this.#lanes.set(spec.connector, { spec, running: new Map() });
  }

  start(): void {
    this.#outbox.recoverExpired();
    this.#unsubscribe = this.#outbox.onWork((c) => this.#pump(c));
    const every = Math.max(200, Math.floor(this.#outbox.leaseMs / 3));
    this.#housekeeping = setInterval(() => this.#renewAndRecover(), every);
    for (const c of this.#lanes.keys()) this.#pump(c);
  }

  /** Stops claiming, lets running jobs finish up to `graceMs`, then hands the rest back to the queue. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    clearInterval(this.#housekeeping);
    const all = [...this.#lanes.values()];
    all.forEach((l) => clearTimeout(l.timer));
    const pending = all.flatMap((l) => [...l.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    all.forEach((l) => l.running.forEach((r) => r.abort.abort()));
    this.#outbox.releaseOwned(this.owner);
  }

  runningCount(connector: string): number {
    return this.#lanes.get(connector)?.running.size ?? 0;
  }

  #pump(connector: string): void {
    const lane = this.#lanes.get(connector);
    if (!lane || this.#stopping) return;
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const free = lane.spec.concurrency - lane.running.size;
    if (free <= 0) return; // a settling job pumps again
    let jobs: Job[] = [];
    try {
      jobs = this.#outbox.claim(connector, free, this.owner);
    } catch (error) {
      this.#log('outbox claim failed', { connector, err: (error as Error).message });
    }
    for (const job of jobs) this.#run(lane, job);
    if (lane.running.size >= lane.spec.concurrency) return; // full: the next settling job pumps again
    const wakeAt = this.#outbox.nextWakeAt(connector);
    if (wakeAt !== null) {
      const delay = Math.min(MAX_SLEEP_MS, Math.max(1, wakeAt - this.#outbox.now()));
      lane.timer = setTimeout(() => this.#pump(connector), delay);
    }
  }

  #run(lane: Lane, job: Job): void {
    const abort = new AbortController();
    // Registered before the handler starts: a handler that throws synchronously must not leave a ghost entry.
    const entry = { job, abort, done: Promise.resolve() };
    lane.running.set(job.id, entry);
    entry.done = (async () => {
      let settled: Settled;
      let next: Job[] = [];
      try {
        const done = await this.#around(job, () => lane.spec.handle(job, { signal: abort.signal }));
        const free = this.#stopping ? 0 : lane.spec.concurrency - lane.running.size + 1; // this job's slot is free now
        next = this.#outbox.complete(job, this.owner, { ...done, claimNext: free });
        settled = { job, outcome: 'done' };
      } catch (error) {
        settled = this.#onFailure(job, error);
      }
      lane.running.delete(job.id);
      this.emit('settled', settled);
      for (const j of next) this.#run(lane, j);
      if (!this.#stopping) this.#pump(lane.spec.connector);
    })();
  }

  #onFailure(job: Job, error: unknown): Settled {
    const e = error instanceof DeliveryError ? error : null;
    const info: JobError = { code: e?.code ?? 'internal_error', message: e?.message ?? String((error as Error)?.message ?? error) };
    try {
      if (e?.outcome === 'refused') {
        this.#outbox.fail(job, this.owner, info);
        return { job, outcome: 'failed', error: info };
      }
      if (e?.outcome === 'auth') {
        this.#outbox.pause(job, this.owner, info);
        this.#log('connector paused: credentials refused', { connector: job.connector, code: info.code });
        return { job, outcome: 'paused', error: info };
      }
      if (!e) this.#log('job handler threw an unexpected error; will retry', { connector: job.connector, kind: job.kind, err: info.message });
      this.#outbox.retry(job, this.owner, info, { delayMs: e?.retryAfterMs });
      return { job, outcome: 'retry', error: info };
    } catch (storeError) {
      // The store refused the outcome: the lease will expire and the job runs again.
      this.#log('could not record job outcome', { jobId: job.id, err: (storeError as Error).message });
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
      this.#log('lease housekeeping failed', { err: (error as Error).message });
    }
  }
}
