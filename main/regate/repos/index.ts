import type { Store } from '../../store/index.ts';
import { MemoryLoginThrottle, MemoryQuotaWindows } from './memory-limits.ts';
import { SqliteIdempotency } from './sqlite-idempotency.ts';
import { SqliteWriteQueue } from './sqlite-queue.ts';
import type { CacheChanges, ClusterSpec, IdempotencyRepo, InstanceInfo, LoginThrottle, QuotaWindows, StoreHealth, WriteQueue } from './types.ts';

export type * from './types.ts';

/** Everything ReGate keeps beyond one request. */
export interface RegateRepos {
  idempotency: IdempotencyRepo;
  queue: WriteQueue;
  quota: QuotaWindows;
  logins: LoginThrottle;
  changes: CacheChanges;
  /** The cluster-wide session cap the upstream thread opens; absent for one gateway (its own limiter is the whole cap). */
  cluster?: ClusterSpec;
  store(): StoreHealth;
  /** The instances sharing the store, as it knows them (PostgreSQL); absent for one gateway (it is the only one). */
  instances?(): Promise<InstanceInfo[]>;
  /** Ages out what the store keeps beyond the keys (quota windows, failed logins); rows removed per table. */
  housekeeping?(): Promise<Record<string, number>>;
  /** Lets go of the store (a clean stop): what this gateway holds goes back for the others. */
  close?(): Promise<void>;
}

/** Cache changes within one gateway: told to its own caches at once. */
export class LocalCacheChanges implements CacheChanges {
  readonly #subscribers = new Set<{ stale(tenant: string, paths: string[]): void; all(): void }>();

  publish(tenant: string, paths: string[]): Promise<void> {
    if (paths.length > 0) for (const s of this.#subscribers) s.stale(tenant, paths);
    return Promise.resolve();
  }

  subscribe(on: { stale(tenant: string, paths: string[]): void; all(): void }): () => void {
    this.#subscribers.add(on);
    return () => void this.#subscribers.delete(on);
  }
}

const SQLITE_UP: StoreHealth = { kind: 'sqlite', state: 'up', since: null, reason: null };

/** One gateway on Sputnik's own store: keys and queued writes in SQLite, quota and logins in memory. */
export function localRepos(store: Store): RegateRepos {
  return {
    idempotency: new SqliteIdempotency(store),
    queue: new SqliteWriteQueue(store),
    quota: new MemoryQuotaWindows(),
    logins: new MemoryLoginThrottle(),
    changes: new LocalCacheChanges(),
    store: () => SQLITE_UP,
  };
}
