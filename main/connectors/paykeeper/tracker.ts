import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { Store } from '../../store/index.ts';
import type { PayKeeperClient, RemoteInvoice } from './client.ts';
import { isOpen, type InvoiceRow, type InvoiceState, type Invoices } from './invoices.ts';
import { invoiceKey } from './worker.ts';

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

export interface Tracker {
  nextCheckAt(inv: InvoiceRow, now: number): number;
  /** Records what PayKeeper said (inside the caller's transaction when there is one). */
  apply(orderId: string, remote: RemoteInvoice | null, now: number, extra?: Partial<InvoiceRow>): InvoiceRow | undefined;
  /** Asks PayKeeper now (GET of one invoice older than 60 s); false when PayKeeper did not answer. */
  refresh(inv: InvoiceRow, timeoutMs?: number): Promise<boolean>;
  start(): () => void;
}

/** Follows every open invoice until it is paid, expired or revoked. */
export function createTracker(deps: { store: Store; invoices: Invoices; client: PayKeeperClient; config: () => Config['paykeeper']; log: Logger }): Tracker {
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
      if (inv.revoke) Object.assign(patch, { state: 'revoked' as InvoiceState, revoke: 0 });
      else patch.next_check_at = at + HOUR;
    } else if (remote.status === 'paid') {
      Object.assign(patch, { state: 'paid' as InvoiceState, paid_at: remote.paidAt ?? at, payment_id: remote.paymentId, last_error: null });
    } else if (remote.status === 'expired') {
      patch.state = inv.revoke || inv.state === 'revoked' ? 'revoked' : 'expired';
    } else if (remote.status === 'sent' || remote.status === 'created') {
      patch.state = remote.status;
    }
    const state = patch.state ?? inv.state;
    patch.next_check_at = isOpen(state) ? (patch.next_check_at ?? nextCheckAt(inv, at)) : null;
    return invoices.update(orderId, patch, at);
  };

  const refresh = async (inv: InvoiceRow, timeoutMs?: number): Promise<boolean> => {
    if (!inv.invoice_id) return false;
    try {
      const r = await client.byId(inv.invoice_id, { entity: invoiceKey(inv.order_id), timeoutMs });
      await store.write(() => apply(inv.order_id, r, now()), { durability: 'durable' });
      return true;
    } catch (e) {
      // Tried again later; the delivery path (outbox) is where connector health is decided. Losing this in a power cut only checks sooner.
      await store.write(() => invoices.update(inv.order_id, { next_check_at: now() + 2 * MIN }, now()), { durability: 'relaxed' });
      deps.log.debug({ orderId: inv.order_id, err: (e as Error).message }, 'invoice status check failed');
      return false;
    }
  };

  const start = () => {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const round = async () => {
      timer = undefined;
      let full = false;
      try {
        const cfg = deps.config();
        if (!cfg.enabled || store.outbox.connectorStatus('paykeeper').state === 'paused') return;
        const due = invoices.due(now(), ROUND);
        full = due.length === ROUND;
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(cfg.concurrency, due.length) }, async () => {
            while (!stopped && next < due.length) await refresh(due[next++], 30_000);
          }),
        );
      } catch (e) {
        deps.log.warn({ err: (e as Error).message }, 'invoice tracking round failed');
      } finally {
        if (!stopped) schedule(full);
      }
    };
    const schedule = (afterFullRound = false) => {
      const at = invoices.nextDueAt();
      // Re-reads the schedule at least every 2 s (one indexed MIN): new invoices need no wake-up call.
      const delay = afterFullRound ? FULL_ROUND_PAUSE_MS : at === null ? 2000 : Math.min(2000, Math.max(200, at - now()));
      timer = setTimeout(round, delay);
      timer.unref();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  };

  return { nextCheckAt, apply, refresh, start };
}
