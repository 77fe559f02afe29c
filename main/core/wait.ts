import type { Settled, WorkerPool } from '../store/worker-pool.ts';
import type { JobError, Outbox } from '../store/outbox.ts';
import { onecInteger } from '../listener/onec-values.ts';

/** `?wait=SECONDS` (0–30) on calls that reach a remote service; the default differs per domain. */
export function waitQuery(defaultSeconds: number) {
  return onecInteger({ min: 0, max: 30 })
    .optional()
    .transform((v) => v ?? defaultSeconds)
    .describe(`Сколько секунд ждать ответа внешнего сервиса (0–30, по умолчанию ${defaultSeconds}); не дождались — 202 и state=queued, работа продолжится`);
}

export type WaitResult = { outcome: 'done' } | { outcome: 'failed'; error: JobError } | { outcome: 'timeout' };

/** How a bounded wait for some work ended (`DeliveryWaits.until`). */
export type UntilResult<T> = { outcome: 'done'; value: T } | { outcome: 'failed'; error: unknown } | { outcome: 'timeout' } | { outcome: 'closed' };

interface Waiter {
  key: string;
  fromId: number;
  resolve: (r: WaitResult) => void;
  timer: NodeJS.Timeout;
}

/**
 * Lets a request wait (bounded) for the delivery of the work it just stored. Waits are by key
 * from a job id on, so a coalesced or superseding job for the same key ends the wait too.
 * Retries and pauses keep waiting until the deadline; closing ends every wait at once.
 */
export class DeliveryWaits {
  readonly #waiters = new Set<Waiter>();
  readonly #closers = new Set<() => void>();
  readonly #outbox: Outbox;
  #closed = false;

  constructor(workers: WorkerPool, outbox: Outbox) {
    this.#outbox = outbox;
    workers.on('settled', (s) => this.#onSettled(s));
  }

  wait(key: string, fromJobId: number, seconds: number): Promise<WaitResult> {
    if (seconds <= 0 || this.#closed) return Promise.resolve({ outcome: 'timeout' });
    // Already delivered before the caller got here (a fast remote): no event will come for it.
    const latest = this.#outbox.latestForKey(key, fromJobId);
    if (latest?.state === 'done') return Promise.resolve({ outcome: 'done' });
    if (latest?.state === 'failed') return Promise.resolve({ outcome: 'failed', error: latest.lastError ?? { code: 'failed', message: 'не доставлено' } });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        fromId: fromJobId,
        resolve: (r) => {
          clearTimeout(waiter.timer);
          this.#waiters.delete(waiter);
          resolve(r);
        },
        timer: setTimeout(() => waiter.resolve({ outcome: 'timeout' }), seconds * 1000),
      };
      this.#waiters.add(waiter);
    });
  }

  /**
   * Waits for `work` (a pull run now, say) at most `seconds`. A stop ends the wait at once
   * ('closed'): the listener closes only when its requests are answered, so a caller waiting out
   * its `wait` would hold Sputnik's stop for as long.
   */
  until<T>(work: Promise<T>, seconds: number): Promise<UntilResult<T>> {
    if (this.#closed) return Promise.resolve({ outcome: 'closed' });
    return new Promise((resolve) => {
      const end = (r: UntilResult<T>) => {
        clearTimeout(timer);
        this.#closers.delete(closer);
        resolve(r);
      };
      const closer = () => end({ outcome: 'closed' });
      const timer = setTimeout(() => end({ outcome: 'timeout' }), seconds * 1000);
      this.#closers.add(closer);
      work.then(
        (value) => end({ outcome: 'done', value }),
        (error: unknown) => end({ outcome: 'failed', error }),
      );
    });
  }

  /** Stop: nobody waits for a delivery that will not happen in this process. */
  close(): void {
    this.#closed = true;
    for (const w of [...this.#waiters]) w.resolve({ outcome: 'timeout' });
    for (const c of [...this.#closers]) c();
  }

  get pending(): number {
    return this.#waiters.size;
  }

  #onSettled(s: Settled): void {
    if (s.outcome !== 'done' && s.outcome !== 'failed') return;
    if (s.job.lastError?.code === 'superseded') return;
    for (const w of [...this.#waiters]) {
      if (w.key !== s.job.key || s.job.id < w.fromId) continue;
      w.resolve(s.outcome === 'done' ? { outcome: 'done' } : { outcome: 'failed', error: s.error });
    }
  }
}

