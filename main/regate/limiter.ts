import { LimiterTimeout, type CallKind, type Outcome, type Release, type SessionSlots } from './sessions.ts';

/**
 * How many calls a tenant's 1C takes at once. A fixed ceiling (`poolSize − 1`: one session stays
 * free for 1C's own users and jobs) with an AIMD limit inside it (reference/regate.md §4.1, Netflix
 * AIMDLimit): ×0.9 on a timeout, a 5xx or a lock-conflict answer; +1 when at least half the limit is
 * in use and calls succeed. Reads and writes have separate shares of the limit (writes 70 %), each
 * borrowing the other's unused part; waiting writes are served first-come, first-served, and writes
 * of one key (a client, an order) never run side by side.
 */
export type { CallKind, Outcome } from './sessions.ts';
export { LimiterTimeout } from './sessions.ts';

export interface LimiterOptions {
  /** 1C's session pool size (`default.vrd` poolSize); the ceiling is one less. */
  poolSize: number;
  /** Share of the limit reserved for writes while reads are waiting too. */
  writeShare?: number;
  backoff?: number;
}

interface Waiter {
  kind: CallKind;
  key: string | null;
  grant: (release: Release) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  /** Given its slot in this pump's pass (dropped from the line at the pass's end). */
  started?: boolean;
}

/** The cap's ceiling: poolSize − 1 (one session stays free for 1C's own users and jobs). */
export const ceilingOf = (poolSize: number) => Math.max(1, poolSize - 1);

/** The in-process SessionSlots of one base. */
export class ConcurrencyLimiter implements SessionSlots {
  readonly ceiling: number;
  #limit: number;
  readonly #writeShare: number;
  readonly #backoff: number;
  readonly #inFlight = { read: 0, write: 0 };
  readonly #busyKeys = new Set<string>();
  readonly #waiting: Waiter[] = [];
  /** How many of each kind wait (kept as they come and go: the pump runs on every call's end). */
  readonly #waitingKinds = { read: 0, write: 0 };
  #maxInFlight = 0;

  constructor(opts: LimiterOptions) {
    this.ceiling = ceilingOf(opts.poolSize);
    this.#limit = this.ceiling;
    this.#writeShare = opts.writeShare ?? 0.7;
    this.#backoff = opts.backoff ?? 0.9;
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.#limit));
  }

  get inFlight(): number {
    return this.#inFlight.read + this.#inFlight.write;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** The most calls that were ever in flight at once (tests prove the cap with it). */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /**
   * Waits for a slot (at most `waitMs`; then rejects with `LimiterTimeout`). The returned function
   * must be called once when the call ends, with how it ended.
   */
  acquire(kind: CallKind, opts: { key?: string; waitMs?: number } = {}): Promise<Release> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { kind, key: opts.key ?? null, grant: resolve, reject };
      this.#waiting.push(w);
      this.#waitingKinds[kind]++;
      if (opts.waitMs !== undefined) {
        w.timer = setTimeout(() => {
          const i = this.#waiting.indexOf(w);
          if (i >= 0) {
            this.#waiting.splice(i, 1);
            this.#waitingKinds[kind]--;
            reject(new LimiterTimeout(kind));
          }
        }, opts.waitMs);
      }
      this.#pump();
    });
  }

  /**
   * Starts waiters in order while slots are free. Hundreds wait when the crowd is in, and this runs
   * at every call's end: the pass stops as soon as the limit is reached.
   */
  #pump(): void {
    if (this.#waiting.length === 0 || this.inFlight >= this.limit) return;
    const writeCap = Math.max(1, Math.round(this.limit * this.#writeShare));
    const readCap = Math.max(1, this.limit - writeCap);
    // Writes are FIFO per key: a write behind an earlier waiting write of the same key stays behind it.
    const keysAhead = new Set<string>();
    let started = 0;
    for (let i = 0; i < this.#waiting.length && this.inFlight < this.limit; i++) {
      const w = this.#waiting[i];
      const blocked = w.kind === 'write' && w.key !== null && keysAhead.has(w.key);
      if (w.kind === 'write' && w.key !== null) keysAhead.add(w.key);
      // Each kind may use the other's share only while nobody of that kind waits.
      const othersWaiting = this.#waitingKinds[w.kind === 'read' ? 'write' : 'read'] > 0;
      const withinShare = !othersWaiting || (w.kind === 'write' ? this.#inFlight.write < writeCap : this.#inFlight.read < readCap);
      if (!blocked && (w.key === null || !this.#busyKeys.has(w.key)) && withinShare) {
        this.#waitingKinds[w.kind]--;
        clearTimeout(w.timer);
        w.started = true; // removed below, in one pass
        started++;
        this.#start(w);
      }
    }
    if (started > 0) {
      let j = 0;
      for (const w of this.#waiting) if (!w.started) this.#waiting[j++] = w;
      this.#waiting.length = j;
    }
  }

  #start(w: Waiter): void {
    this.#inFlight[w.kind]++;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.inFlight);
    if (w.key !== null) this.#busyKeys.add(w.key);
    let released = false;
    w.grant((outcome) => {
      if (released) return;
      released = true;
      const usedHalf = this.inFlight * 2 >= this.limit;
      this.#inFlight[w.kind]--;
      if (w.key !== null) this.#busyKeys.delete(w.key);
      if (outcome === 'overload') this.#limit = Math.max(1, this.#limit * this.#backoff);
      else if (usedHalf) this.#limit = Math.min(this.ceiling, this.#limit + 1);
      this.#pump();
    });
  }
}
