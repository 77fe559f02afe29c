import type { LoginThrottle, QuotaWindows } from './types.ts';

const MINUTE = 60_000;
const MAX_FAILURES = 10;

/** Quota windows of one gateway, in memory: a tenant's window starts with its first call after the last one ended. */
export class MemoryQuotaWindows implements QuotaWindows {
  readonly #windows = new Map<string, { startedAt: number; calls: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  hit(tenant: string, limit: number): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    const now = this.#now();
    let w = this.#windows.get(tenant);
    if (!w || now - w.startedAt >= MINUTE) this.#windows.set(tenant, (w = { startedAt: now, calls: 0 }));
    const allowed = ++w.calls <= limit;
    return Promise.resolve({ allowed, retryAfterSeconds: allowed ? 0 : Math.ceil((w.startedAt + MINUTE - now) / 1000) });
  }
}

/** Failed logins of one gateway, in memory, per client address. */
export class MemoryLoginThrottle implements LoginThrottle {
  readonly #failures = new Map<string, { at: number; n: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  check(ip: string): Promise<{ blocked: boolean; failures: number }> {
    return Promise.resolve(this.checkNow(ip));
  }

  checkNow(ip: string): { blocked: boolean; failures: number } {
    const f = this.#failures.get(ip);
    if (f && this.#now() - f.at >= MINUTE) this.#failures.delete(ip); // a minute quiet: forgotten
    const failures = f && this.#failures.has(ip) ? f.n : 0;
    return { blocked: failures >= MAX_FAILURES, failures };
  }

  failed(ip: string): Promise<void> {
    const now = this.#now();
    const f = this.#failures.get(ip);
    this.#failures.set(ip, { at: now, n: (f && now - f.at < MINUTE ? f.n : 0) + 1 });
    return Promise.resolve();
  }

  succeeded(ip: string): Promise<void> {
    this.#failures.delete(ip);
    return Promise.resolve();
  }
}
