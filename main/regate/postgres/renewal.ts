import type { PgTimers } from './connection.ts';

/**
 * Keeps leases alive: while its owner holds anything leased, `renew` runs every `periodMs` (a third
 * of the lease, so two renewals may fail or come late before anything expires). It runs by itself
 * from the first hold on — a lease nobody remembered to renew would let another instance take a
 * write that is still being sent, or a 1C session that is still in use — and idles when nothing is
 * held.
 */
export class Renewal {
  readonly #timers: PgTimers;
  readonly #periodMs: number;
  readonly #renew: () => Promise<unknown>;
  readonly #active: () => boolean;
  readonly #onError: (e: unknown) => void;
  #timer: unknown = null;
  #running = false;
  #stopped = false;

  constructor(opts: { timers: PgTimers; periodMs: number; renew: () => Promise<unknown>; active: () => boolean; onError?: (e: unknown) => void }) {
    this.#timers = opts.timers;
    this.#periodMs = Math.max(1, Math.floor(opts.periodMs));
    this.#renew = opts.renew;
    this.#active = opts.active;
    this.#onError = opts.onError ?? (() => undefined);
  }

  /** Something was taken under a lease: make sure renewals run. */
  poke(): void {
    if (this.#stopped || this.#timer !== null || this.#running) return;
    this.#timer = this.#timers.setTimeout(() => void this.#beat(), this.#periodMs);
  }

  /** No more renewals (the instance stops, or dies in a test). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #beat(): Promise<void> {
    this.#timer = null;
    if (this.#stopped || !this.#active()) return;
    this.#running = true;
    try {
      await this.#renew();
    } catch (e) {
      // PostgreSQL away: the next beat tries again; the lease covers two missed ones.
      this.#onError(e);
    } finally {
      this.#running = false;
    }
    if (this.#active()) this.poke();
  }
}
