/**
 * A 1C base's sessions as slots: how many calls may be in 1C at once (reference/regate.md §4.1).
 * The in-process implementation is ConcurrencyLimiter (limiter.ts), one per base in the upstream
 * thread; a cluster of gateways in front of one base will share its cap through another one.
 */
export type CallKind = 'read' | 'write';
/** How a call ended, for the limit: `overload` (a timeout, a 5xx, a lock conflict) backs it off. */
export type Outcome = 'ok' | 'overload';
/** Frees a slot; called once, with how the call ended. */
export type Release = (outcome: Outcome) => void;

export interface SessionSlots {
  /**
   * Waits for a slot (at most `waitMs`, then rejects with LimiterTimeout). Writes with the same
   * `key` (a client, an order) never hold slots side by side.
   */
  acquire(kind: CallKind, opts?: { key?: string; waitMs?: number }): Promise<Release>;
  /** The current limit (≤ the ceiling), calls in 1C now, calls waiting, the most ever in 1C at once. */
  readonly limit: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly maxInFlight: number;
}

/** No slot came free within the wait: a read answers 503, a write is queued. */
export class LimiterTimeout extends Error {
  readonly kind: CallKind;
  constructor(kind: CallKind) {
    super(`no 1C session for a ${kind} within the wait`);
    this.name = 'LimiterTimeout';
    this.kind = kind;
  }
}
