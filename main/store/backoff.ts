/** Retry delay for the n-th failed attempt (1-based): exponential from 1 s, capped, with "equal jitter". */
export function backoffMs(attempt: number, opts: { baseMs?: number; capMs?: number; random?: () => number } = {}): number {
  const base = opts.baseMs ?? 1000;
  const cap = opts.capMs ?? 3_600_000;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  const r = (opts.random ?? Math.random)();
  // Half fixed, half random: never a thundering herd, never an instant retry.
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}

/** A connector's probe interval while its remote is down: short cap so an outage ends within seconds of the remote's return. */
export const PROBE_CAP_MS = 30_000;
