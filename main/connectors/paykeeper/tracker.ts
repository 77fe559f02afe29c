import type { Config } from '../../config/schema.ts';
import type { ModuleContext } from '../../core/module.ts';
import { DeliveryError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import type { Store } from '../../store/index.ts';
import type { PayKeeperClient, RemoteInvoice } from './client.ts';
import { invoiceKey, isOpen, type InvoiceRow, type Invoices } from './invoices.ts';
import { errorMessage } from '../../unknown.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * How soon to look at an open invoice again: often while it is fresh (the buyer is paying right
 * now), rarely once it has waited for days — thousands of old open invoices cost a few calls a
 * minute, not a storm. Jittered so invoices issued together do not poll together.
 */
export function checkDelay(ageMs: number, random = Math.random): number {
  const base = ageMs < 15 * MIN ? 30_000 : ageMs < 2 * HOUR ? 2 * MIN : ageMs < 24 * HOUR ? 10 * MIN : ageMs < 7 * 24 * HOUR ? HOUR : 6 * HOUR;
  return Math.round(base * (0.9 + 0.2 * random()));
}

/** At most this many status calls per round, at most `concurrency` at once; a full round is followed by a pause: ≤ 5 calls/s. */
const ROUND = 10;
const FULL_ROUND_PAUSE_MS = 2000;

/** What a round found: `full` when it had ROUND checks due (more may be waiting). */
interface RoundResult {
  full: boolean;
}

export interface Tracker {
  nextCheckAt(inv: InvoiceRow, now: number): number;
  /** Records what PayKeeper said (inside the caller's transaction when there is one). */
  apply(orderId: string, remote: RemoteInvoice | null, now: number, extra?: Partial<InvoiceRow>): InvoiceRow | undefined;
  /** Asks PayKeeper now (GET of one invoice older than 60 s); false when PayKeeper did not answer. */
  refresh(inv: InvoiceRow, timeoutMs?: number): Promise<boolean>;
  /** Settings changed: the next round is planned again (switched back on, its job is created again). */
  reschedule(): void;
}

/** Follows every open invoice until it is paid, expired or revoked: rounds of status checks as the recurring outbox job `paykeeper:track`. */
export function createTracker(deps: {
  store: Store;
  invoices: Invoices;
  client: PayKeeperClient;
  config: () => Config['paykeeper'];
  log: Logger;
  recurring: ModuleContext['recurring'];
}): Tracker {
  const { store, invoices, client } = deps;
  const now = () => store.outbox.now();

  const nextCheckAt = (inv: InvoiceRow, at: number) => {
    let delay = checkDelay(at - inv.created_at);
    // The last payable day is over: confirm "expired" soon instead of hours later.
    if (inv.expiry && new Date(at).toISOString().slice(0, 10) > inv.expiry) delay = Math.min(delay, 10 * MIN);
    return at + delay;
  };

  const apply: Tracker['apply'] = (orderId, remote, at, extra = {}) => {
    const inv = invoices.get(orderId);
    if (!inv) return undefined;
    const patch: Partial<InvoiceRow> = { checked_at: at, ...extra };
    if (remote === null) {
      // PayKeeper no longer knows it: after our revoke that is what a revoked invoice looks like.
      if (inv.revoke) Object.assign(patch, { state: 'revoked', revoke: 0 } satisfies Partial<InvoiceRow>);
      else patch.next_check_at = at + HOUR;
    } else if (remote.status === 'paid') {
      Object.assign(patch, { state: 'paid', paid_at: remote.paidAt ?? at, payment_id: remote.paymentId, last_error: null } satisfies Partial<InvoiceRow>);
    } else if (remote.status === 'expired') {
      patch.state = inv.revoke || inv.state === 'revoked' ? 'revoked' : 'expired';
    } else if (remote.status === 'sent' || remote.status === 'created') {
      patch.state = remote.status;
    }
    const state = patch.state ?? inv.state;
    patch.next_check_at = isOpen(state) ? (patch.next_check_at ?? nextCheckAt(inv, at)) : null;
    return invoices.update(orderId, patch, at);
  };

  /** One status check: null when PayKeeper answered (whatever it said), else why not. Never throws. */
  const check = async (orderId: string, invoiceId: string, ctx: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> => {
    try {
      const r = await client.byId(invoiceId, { entity: invoiceKey(orderId), ...ctx });
      await store.write(() => apply(orderId, r, now()), { durability: 'durable' });
      return null;
    } catch (e) {
      // Tried again later. Losing this in a power cut only checks sooner.
      await store.write(() => invoices.update(orderId, { next_check_at: now() + 2 * MIN }, now()), { durability: 'relaxed' });
      deps.log.debug({ orderId, err: errorMessage(e) }, 'invoice status check failed');
      return e;
    }
  };

  const refresh = async (inv: InvoiceRow, timeoutMs?: number): Promise<boolean> => {
    if (!inv.invoice_id) return false;
    return (await check(inv.order_id, inv.invoice_id, { timeoutMs })) === null;
  };

  /**
   * One round: the due checks, at most ROUND, `concurrency` at once. Its outcome is the connector's
   * health like a delivery's (the round is a job in PayKeeper's lane): it fails when PayKeeper
   * answered none of its calls (refused credentials pause the connector), so a round that only
   * postponed checks does not count as PayKeeper being up. A round that is the failing connector's
   * probe and has nothing due asks for a token instead, so it is a real probe, not a false recovery.
   */
  const round = async (signal: AbortSignal): Promise<RoundResult> => {
    const due = invoices.due(now(), ROUND);
    if (due.length === 0) {
      if (store.outbox.connectorStatus('paykeeper').state === 'failing') await client.checkCredentials({ signal });
      return { full: false };
    }
    let next = 0;
    let answered = 0;
    let failure: unknown = null;
    await Promise.all(
      Array.from({ length: Math.min(deps.config().concurrency, due.length) }, async () => {
        while (!signal.aborted && next < due.length) {
          const inv = due[next++];
          const error = await check(inv.order_id, inv.invoice_id, { timeoutMs: 30_000, signal });
          if (error === null) answered++;
          else if (!(failure instanceof DeliveryError && failure.outcome === 'auth')) failure = error;
        }
      }),
    );
    if (signal.aborted) return { full: false }; // stopping: the calls cut short say nothing of PayKeeper
    if (failure instanceof DeliveryError && failure.outcome === 'auth') throw failure;
    if (answered === 0 && failure !== null) throw failure;
    return { full: due.length === ROUND };
  };

  /**
   * Milliseconds from a round's end to the next: a full round is followed by a pause (≤ 5 calls/s);
   * otherwise when the soonest check is due, but the schedule is re-read at least every 2 s (one
   * indexed MIN): new invoices need no wake-up call. Not knowing the last round (a settings change
   * replans from it) counts as a full one, so the limit holds then too.
   */
  const pause = (last: RoundResult | undefined): number => {
    if (!last || last.full) return FULL_ROUND_PAUSE_MS;
    const at = invoices.nextDueAt();
    return at === null ? 2000 : Math.min(2000, Math.max(200, at - now()));
  };

  // The recurring outbox job (main/core/recurring.ts): in PayKeeper's lane, so a paused connector
  // (refused credentials, the operator) runs no rounds; its plan is in the store, so a restart keeps
  // the pause after a full round. The first run (first start, or switched on) after a full pause.
  const job = deps.recurring<RoundResult>({
    connector: 'paykeeper',
    key: 'paykeeper:track',
    every: pause,
    firstAt: (at) => at + FULL_ROUND_PAUSE_MS,
    run: ({ signal }) => round(signal),
    enabled: () => deps.config().enabled,
  });

  return { nextCheckAt, apply, refresh, reschedule: () => job.reschedule() };
}
