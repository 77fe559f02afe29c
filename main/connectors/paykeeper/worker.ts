import type { Config } from '../../config/schema.ts';
import { DeliveryError } from '../../errors.ts';
import { prop } from '../../unknown.ts';
import type { Job, JobError } from '../../store/outbox.ts';
import type { Store } from '../../store/index.ts';
import type { JobContext, JobDone } from '../../store/worker-pool.ts';
import type { PayKeeperClient, RemoteInvoice } from './client.ts';
import { INVOICE_JOB, invoiceKey, isFinal, type InvoiceRow, type Invoices } from './invoices.ts';
import { nextDay } from './msk.ts';
import { mskDate } from '../../time/moscow.ts';
import type { Tracker } from './tracker.ts';


const DAY_MS = 86_400_000;

/**
 * Brings one order's invoice to the state the store asks for: created in PayKeeper (preview),
 * e-mailed when `send`, revoked when asked. A create whose answer was lost (timeout, reset after
 * PayKeeper processed it) leaves the invoice "unsure": before creating again the worker looks the
 * order up in PayKeeper and adopts the invoice it finds, so one order never gets two invoices;
 * where the lookup is impossible the invoice is marked for the operator instead of guessed.
 */
export function invoiceDeliverer(deps: { store: Store; invoices: Invoices; client: PayKeeperClient; tracker: Tracker; config: () => Config['paykeeper'] }) {
  const { store, invoices, client, tracker } = deps;
  const now = () => store.outbox.now();
  // Durable before the next remote call: what these record must survive a crash.
  const write = (orderId: string, patch: Partial<InvoiceRow>) => store.write(() => invoices.change(invoices.existing(orderId), patch, now()), { durability: 'durable' });

  /** Our own invoice for this order, found in PayKeeper (the create's answer was lost). Null: none; undefined: cannot tell. */
  async function lookup(inv: InvoiceRow, call: object): Promise<RemoteInvoice | null | undefined> {
    try {
      const found = await client.findByOrder(inv.order_id, { from: mskDate(inv.created_at - DAY_MS), to: mskDate(now() + DAY_MS) }, call);
      const mine = found.filter((f) => f.amount === null || Number(f.amount) === Number(inv.amount)).sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
      return mine[0] ?? null;
    } catch (e) {
      // An installation without the search method (a 404 page) or refusing it: impossible to tell, not "nothing found".
      const impossible = e instanceof DeliveryError && (e.code === 'paykeeper_refused' || (e.code === 'paykeeper_unavailable' && /HTTP 404/.test(e.message)));
      if (impossible) return undefined;
      throw e;
    }
  }

  const uncertain = () =>
    new DeliveryError(
      'refused',
      'create_uncertain',
      'Ответ PayKeeper на создание счёта потерялся, а найти счёт по номеру заказа PayKeeper не позволил: возможно, счёт уже создан. Проверьте заказ в личном кабинете PayKeeper, затем отзовите или выставьте счёт снова.',
      { status: 409 },
    );

  // A run's error is written with the job's outcome (one transaction), after what `failure.before` holds.
  return async function deliver(job: Job, ctx: JobContext): Promise<void | JobDone> {
    const cfg = deps.config();
    if (!cfg.enabled) throw new DeliveryError('auth', 'paykeeper_disabled', 'PayKeeper выключен в настройках: счета ждут включения');
    const orderId = prop(job.payload, 'orderId');
    // Sputnik enqueues `{ orderId }` itself: anything else is its own fault, retried like one.
    if (typeof orderId !== 'string') throw new Error(`${INVOICE_JOB} job ${job.id} has no order id`);
    let inv = invoices.get(orderId);
    if (!inv) return;
    const failure: Failure = { before: [] };
    ctx.onFailure((info, outcome) => {
      for (const record of failure.before) record();
      const current = invoices.get(orderId);
      const failed = outcome === 'failed' && !current?.invoice_id;
      invoices.update(orderId, { last_error: JSON.stringify(info), ...(failed ? { state: 'failed' as const } : {}), ...(failure.notCreated ? { create_unsure: 0 } : {}) }, now());
    });
    const call = { entity: invoiceKey(orderId), jobId: job.id, signal: ctx.signal };
    if (inv.revoke) return await revoke(inv, call, failure);
    if (isFinal(inv.state)) return;
    let invoiceId = inv.invoice_id;
    if (!invoiceId) {
      // What is known of the invoice: found in PayKeeper, or just created (its id, link and status).
      let found: Pick<RemoteInvoice, 'id' | 'url' | 'status'> | null | undefined = inv.create_unsure ? await lookup(inv, call) : null;
      if (found === undefined) throw uncertain();
      if (!found) {
        await write(orderId, { create_unsure: 1 });
        let created: { invoiceId: string; invoiceUrl: string };
        try {
          created = await client.preview(previewFields(inv), call);
        } catch (e) {
          if (e instanceof DeliveryError && e.outcome === 'refused') failure.notCreated = true; // definitely not created
          throw e;
        }
        found = { id: created.invoiceId, url: created.invoiceUrl, status: 'created' };
      }
      const at = inv;
      inv = await write(orderId, {
        invoice_id: found.id,
        invoice_url: found.url,
        state: found.status === 'sent' ? 'sent' : 'created',
        create_unsure: 0,
        last_error: null,
        next_check_at: tracker.nextCheckAt({ ...at, created_at: at.created_at }, now()),
      });
      invoiceId = found.id;
    }
    if (inv.send && inv.state === 'created') {
      try {
        await client.send(invoiceId, call);
      } catch (e) {
        // Paid or expired before it was e-mailed: nothing to send; the status poll says which.
        if (e instanceof DeliveryError && e.outcome === 'refused') {
          const r = await client.byId(invoiceId, call);
          if (r && r.status !== 'created' && r.status !== 'sent') return { record: () => void tracker.apply(orderId, r, now()), durability: 'relaxed' };
        }
        throw e;
      }
      // A repeated send after a power cut e-mails the link twice: harmless enough to skip the fsync.
      return { record: () => void invoices.update(orderId, { state: 'sent', last_error: null }, now()), durability: 'relaxed' };
    }
    return { record: () => void invoices.update(orderId, { last_error: null }, now()), durability: 'relaxed' };
  };

  async function revoke(inv: InvoiceRow, call: { entity: string; jobId: number; signal: AbortSignal }, failure: Failure): Promise<JobDone> {
    const orderId = inv.order_id;
    let id = inv.invoice_id;
    if (!id && inv.create_unsure) {
      const found = await lookup(inv, call);
      if (found === undefined) throw uncertain();
      id = found?.id ?? null;
    }
    const revoked = () => void invoices.update(orderId, { state: 'revoked', revoke: 0, last_error: null, create_unsure: 0, ...(id ? { invoice_id: id } : {}) }, now());
    if (!id) return { record: revoked, durability: 'relaxed' }; // never reached PayKeeper: nothing to cancel there
    try {
      await client.revoke(id, call);
      return { record: revoked, durability: 'relaxed' };
    } catch (e) {
      if (!(e instanceof DeliveryError) || e.outcome !== 'refused') throw e;
      if (e.code === 'paykeeper_not_found') return { record: revoked, durability: 'relaxed' }; // already gone
      const r = await client.byId(id, call);
      if (r?.status === 'paid') {
        failure.before.push(() => void tracker.apply(orderId, r, now(), { revoke: 0 })); // stored with the refusal
        throw new DeliveryError('refused', 'invoice_paid', `Счёт по заказу ${orderId} уже оплачен: отозвать его нельзя, нужен возврат платежа`, { status: 409 });
      }
      if (r?.status === 'expired') return { record: () => void tracker.apply(orderId, r, now(), { revoke: 0 }), durability: 'relaxed' };
      throw e;
    }
  }
}

/** What a failed run stores besides its error: PayKeeper's answer that explains it, and whether no invoice was made. */
interface Failure {
  before: Array<() => void>;
  notCreated?: boolean;
}

/** The preview form (reference/paykeeper.md 3.4): amount with a dot and two decimals; expiry exclusive. */
export function previewFields(inv: InvoiceRow): Record<string, string> {
  const f: Record<string, string> = { pay_amount: money(inv.amount), orderid: inv.order_id, client_email: inv.email };
  if (inv.client_id) f.clientid = inv.client_id;
  if (inv.service_name) f.service_name = inv.service_name;
  if (inv.phone) f.client_phone = inv.phone;
  if (inv.expiry) f.expiry = nextDay(inv.expiry);
  return f;
}

/** "1234.5" → "1234.50": exact decimal text, never through a float. */
export function money(amount: string): string {
  const [int, frac = ''] = amount.split('.');
  return `${int}.${(frac + '00').slice(0, 2)}`;
}
