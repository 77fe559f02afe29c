import type { Store } from '../../store/index.ts';
import { MemoryLoginThrottle, MemoryQuotaWindows } from './memory-limits.ts';
import { SqliteIdempotency } from './sqlite-idempotency.ts';
import { SqliteWriteQueue } from './sqlite-queue.ts';
import type { IdempotencyRepo, LoginThrottle, QuotaWindows, WriteQueue } from './types.ts';

export type * from './types.ts';

/** Everything ReGate keeps beyond one request. */
export interface RegateRepos {
  idempotency: IdempotencyRepo;
  queue: WriteQueue;
  quota: QuotaWindows;
  logins: LoginThrottle;
}

/** One gateway on Sputnik's own store: keys and queued writes in SQLite, quota and logins in memory. */
export function localRepos(store: Store): RegateRepos {
  return { idempotency: new SqliteIdempotency(store), queue: new SqliteWriteQueue(store), quota: new MemoryQuotaWindows(), logins: new MemoryLoginThrottle() };
}
