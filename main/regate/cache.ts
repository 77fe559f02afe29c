/**
 * The read cache in front of one tenant's 1C (RFC 5861 semantics as an in-process policy):
 * an answer is fresh for `freshMs`; after that it is served at once while one background call
 * refreshes it (stale-while-revalidate, up to `staleMs`); when 1C fails it is served up to
 * `staleIfErrorMs` old. Identical concurrent misses share one 1C call (single flight).
 */
export interface CachePolicy {
  freshMs: number;
  staleMs: number;
  staleIfErrorMs: number;
}

export interface Cached<T> {
  value: T;
  storedAt: number;
  /** fresh: within freshMs; stale: served while refreshing or because 1C failed. */
  state: 'fresh' | 'stale' | 'miss';
}

interface Entry<T> {
  value: T;
  storedAt: number;
}

export class ReadCache<T = unknown> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #flights = new Map<string, Promise<T>>();
  readonly #max: number;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(opts: { maxEntries?: number; now?: () => number } = {}) {
    this.#max = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** The answer for `key` when it is fresh under `policy` (counted as a hit), without a promise: a hot page's path. */
  fresh(key: string, policy: CachePolicy): Cached<T> | undefined {
    const e = this.#entries.get(key);
    if (!e || this.#now() - e.storedAt > policy.freshMs) return undefined;
    this.hits++;
    return { value: e.value, storedAt: e.storedAt, state: 'fresh' };
  }

  /**
   * The answer for `key` under `policy`, calling `load` when needed. Rejects with `load`'s error
   * only when nothing usable is cached.
   */
  async get(key: string, policy: CachePolicy, load: () => Promise<T>): Promise<Cached<T>> {
    const now = this.#now();
    const e = this.#entries.get(key);
    const age = e ? now - e.storedAt : Infinity;
    if (e && age <= policy.freshMs) {
      this.hits++;
      return { value: e.value, storedAt: e.storedAt, state: 'fresh' };
    }
    if (e && age <= policy.freshMs + policy.staleMs) {
      this.hits++;
      void this.#load(key, load).catch(() => {}); // refresh behind the caller's back
      return { value: e.value, storedAt: e.storedAt, state: 'stale' };
    }
    this.misses++;
    try {
      const value = await this.#load(key, load);
      return { value, storedAt: this.#entries.get(key)?.storedAt ?? now, state: 'miss' };
    } catch (error) {
      const again = this.#entries.get(key);
      if (again && this.#now() - again.storedAt <= policy.staleIfErrorMs) return { value: again.value, storedAt: again.storedAt, state: 'stale' };
      throw error;
    }
  }

  /**
   * One call per key at a time; its result is stored unless the key was invalidated while the call
   * ran (the answer may predate the write that made it stale: its caller gets it, the cache does not).
   */
  #load(key: string, load: () => Promise<T>): Promise<T> {
    let flight = this.#flights.get(key);
    if (!flight) {
      const f: Promise<T> = load().then((value) => {
        if (this.#flights.get(key) !== f) return value;
        this.#entries.delete(key); // re-insert: Map order is the eviction order (least recently stored first)
        this.#entries.set(key, { value, storedAt: this.#now() });
        if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
        return value;
      });
      flight = f;
      this.#flights.set(key, f);
      void f.finally(() => this.#flights.get(key) === f && this.#flights.delete(key)).catch(() => {});
    }
    return flight;
  }

  /** Loads `key` now (pre-warming), whatever its age; shares a flight already under way. */
  async refresh(key: string, load: () => Promise<T>): Promise<void> {
    await this.#load(key, load);
  }

  invalidate(prefix: string): void {
    for (const k of [...this.#entries.keys()]) if (k.startsWith(prefix)) this.#entries.delete(k);
    for (const k of [...this.#flights.keys()]) if (k.startsWith(prefix)) this.#flights.delete(k);
  }

  /** Forgets one key (a write changed what it shows), and the answer of a call for it still under way. */
  delete(key: string): void {
    this.#entries.delete(key);
    this.#flights.delete(key);
  }

  /** Forgets everything (invalidations may have been missed: PostgreSQL's LISTEN connection was broken). */
  clear(): void {
    this.#entries.clear();
    this.#flights.clear();
  }

  get hitRate(): number {
    const n = this.hits + this.misses;
    return n === 0 ? 0 : this.hits / n;
  }
}
