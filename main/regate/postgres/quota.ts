import type { QuotaWindows } from '../repos/types.ts';
import type { PgStore } from './connection.ts';

/**
 * A tenant's calls per minute (`quotaPerMinute`) counted by every instance together: three
 * instances behind a balancer must not allow three times the quota. One row per tenant and window,
 * incremented atomically (INSERT … ON CONFLICT DO UPDATE … RETURNING); windows are aligned on
 * PostgreSQL's clock, so every instance agrees where a minute starts.
 */
export interface QuotaHit {
  allowed: boolean;
  /** Calls in this window, this one included. */
  calls: number;
  /** Until the window ends (at least 1) when refused, the 429's Retry-After; 0 when allowed. */
  retryAfterSeconds: number;
}

const ms = (n: number) => `($${n}::double precision * interval '1 millisecond')`;

export class PgQuota implements QuotaWindows {
  readonly windowMs: number;
  readonly #store: PgStore;

  constructor(store: PgStore, opts: { windowMs?: number } = {}) {
    this.#store = store;
    this.windowMs = opts.windowMs ?? 60_000;
  }

  /** Counts one call of `tenant` and says whether it is within `limit` for the current window. */
  async hit(tenant: string, limit: number): Promise<QuotaHit> {
    const { rows } = await this.#store.query<{ calls: number; left_ms: number }>(
      `INSERT INTO regate_quota AS q (tenant, window_start, calls)
       VALUES ($1, date_bin(${ms(2)}, clock_timestamp(), timestamptz '2000-01-01 00:00:00+00'), 1)
       ON CONFLICT (tenant, window_start) DO UPDATE SET calls = q.calls + 1
       RETURNING q.calls, extract(epoch FROM (q.window_start + ${ms(2)} - clock_timestamp())) * 1000 AS left_ms`,
      [tenant, this.windowMs],
    );
    const { calls, left_ms } = rows[0];
    const allowed = calls <= limit;
    return { allowed, calls, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(Number(left_ms) / 1000)) };
  }

  /** Forgets windows that ended (housekeeping). */
  async prune(): Promise<number> {
    const r = await this.#store.query(`DELETE FROM regate_quota WHERE window_start < clock_timestamp() - ${ms(1)}`, [this.windowMs]);
    return r.rowCount ?? 0;
  }
}
