import type { LoginThrottle } from '../repos/types.ts';
import type { PgStore } from './connection.ts';

/**
 * Wrong ReGate logins per client address, counted by every instance together (a guesser spreading
 * tries over the balancer's instances meets one counter). The rule is the single gateway's (it was
 * in main/regate/gateway.ts; LoginThrottle in main/regate/repos/ now): failures count up while each comes less than a window (a minute) after
 * the previous one; from the 10th on the address gets 429 until a window has passed since its last
 * counted failure; a successful login clears the count. Times are PostgreSQL's.
 */
export interface LoginState {
  blocked: boolean;
  failures: number;
  /** Until the block ends (at least 1 while blocked). */
  retryAfterSeconds: number;
}

const ms = (n: number) => `($${n}::double precision * interval '1 millisecond')`;

export class PgLoginThrottle implements LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #store: PgStore;

  constructor(store: PgStore, opts: { maxFailures?: number; windowMs?: number } = {}) {
    this.#store = store;
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
  }

  /** Before authenticating: whether the address is blocked, and its failures so far (0: `succeeded` need not be called). */
  async check(ip: string): Promise<LoginState> {
    const { rows } = await this.#store.query<{ failures: number; left_ms: number }>(
      `SELECT failures, extract(epoch FROM (last_at + ${ms(2)} - clock_timestamp())) * 1000 AS left_ms
         FROM regate_failed_logins WHERE ip = $1 AND last_at > clock_timestamp() - ${ms(2)}`,
      [ip, this.windowMs],
    );
    const row = rows[0];
    if (!row) return { blocked: false, failures: 0, retryAfterSeconds: 0 };
    const blocked = row.failures >= this.maxFailures;
    return { blocked, failures: row.failures, retryAfterSeconds: blocked ? Math.max(1, Math.ceil(Number(row.left_ms) / 1000)) : 0 };
  }

  /** Never known without asking PostgreSQL (repos/pg.ts keeps recent answers in front of this). */
  checkNow(_ip: string): undefined {
    return undefined;
  }

  /** A wrong login from `ip`: counted atomically across instances. */
  async failed(ip: string): Promise<void> {
    await this.recordFailure(ip);
  }

  /** `failed`, returning the address's count of failures now. */
  async recordFailure(ip: string): Promise<number> {
    const { rows } = await this.#store.query<{ failures: number }>(
      `INSERT INTO regate_failed_logins AS f (ip, failures, first_at, last_at) VALUES ($1, 1, clock_timestamp(), clock_timestamp())
       ON CONFLICT (ip) DO UPDATE SET
         failures = CASE WHEN f.last_at > clock_timestamp() - ${ms(2)} THEN f.failures + 1 ELSE 1 END,
         first_at = CASE WHEN f.last_at > clock_timestamp() - ${ms(2)} THEN f.first_at ELSE clock_timestamp() END,
         last_at = clock_timestamp()
       RETURNING f.failures`,
      [ip, this.windowMs],
    );
    return rows[0].failures;
  }

  /** A good login from `ip` clears its count. */
  async succeeded(ip: string): Promise<void> {
    await this.#store.query('DELETE FROM regate_failed_logins WHERE ip = $1', [ip]);
  }

  /** Forgets addresses quiet for longer than the window (housekeeping). */
  async prune(): Promise<number> {
    const r = await this.#store.query(`DELETE FROM regate_failed_logins WHERE last_at < clock_timestamp() - ${ms(1)}`, [this.windowMs]);
    return r.rowCount ?? 0;
  }
}
