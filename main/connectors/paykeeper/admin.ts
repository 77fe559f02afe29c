import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { Store } from '../../store/index.ts';
import { likeContains, searchKey } from '../../store/search-text.ts';
import { onecDate, toOnecDateTime } from '../../listener/onec-values.ts';
import { INVOICE_STATES, view, type InvoiceRow, type Invoices } from './invoices.ts';
import { localDayStart, nextDay } from './msk.ts';
import { sendExport } from './routes.ts';
import { INVOICE_JOB, invoiceKey } from './worker.ts';

const listQuery = z.object({
  q: z.string().max(200).optional(),
  state: z.enum(INVOICE_STATES as [string, ...string[]]).optional(),
  from: onecDate().optional(),
  to: onecDate().optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const adminView = (r: InvoiceRow) => ({
  ...view(r),
  email: r.email,
  clientId: r.client_id,
  phone: r.phone,
  serviceName: r.service_name,
  createdAt: toOnecDateTime(r.created_at),
  paymentId: r.payment_id,
});

/** Invoices in the tray window: search by order, e-mail, client or invoice id; the accountant's export. */
export function invoicesAdmin(store: Store, invoices: Invoices) {
  const db = store.db;
  return (app: AdminApp) => {
    app.get('/api/invoices', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query as z.infer<typeof listQuery>;
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
      if (q.state) (where.push('state = @state'), (params.state = q.state));
      if (q.from) (where.push('created_at >= @from'), (params.from = localDayStart(q.from)));
      if (q.to) (where.push('created_at < @to'), (params.to = localDayStart(nextDay(q.to))));
      const key = searchKey(q.q ?? '');
      if (key) {
        // Order, e-mail, client, invoice id in any case, ё as е (the search column, see SEARCH_TEXT.invoice).
        params.q = likeContains(key);
        where.push(`search LIKE @q ESCAPE '\\'`);
      }
      const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const rows = db.prepare(`SELECT * FROM invoices ${w} ORDER BY created_at DESC, order_id LIMIT @limit OFFSET @offset`).all(params) as InvoiceRow[];
      const total = db.prepare(`SELECT COUNT(*) FROM invoices ${w}`).pluck().get(params) as number;
      return { invoices: rows.map(adminView), total };
    });

    const exportQuery = z.object({ from: onecDate().pipe(z.string()), to: onecDate().pipe(z.string()), format: z.enum(['xlsx', 'csv']).default('xlsx') });
    app.get('/api/invoices/export', { schema: { querystring: exportQuery } }, async (req, reply) => {
      const { from, to, format } = req.query as z.infer<typeof exportQuery>;
      return sendExport(reply, invoices, from, to, format);
    });

    app.get('/api/invoices/:orderId', async (req) => {
      const row = invoices.get((req.params as { orderId: string }).orderId);
      if (!row) throw errors.notFound('invoice_not_found', 'Такого счёта нет в Спутнике');
      return adminView(row);
    });
  };
}

/** «Повторить» for an invoice: a failed one (never created) is queued again; a waiting one is sent now. */
export function retryInvoice(store: Store, invoices: Invoices, entity: string): { state: string } | null {
  if (!entity.startsWith('invoice:')) return null;
  const orderId = entity.slice('invoice:'.length);
  return store.db.transaction(() => {
    const row = invoices.get(orderId);
    if (!row) return null;
    const now = store.outbox.now();
    const requeue = () => store.outbox.enqueue({ connector: 'paykeeper', kind: INVOICE_JOB, key: invoiceKey(orderId), payload: { orderId } });
    if (row.state === 'failed') {
      invoices.update(orderId, { state: row.invoice_id ? 'created' : 'queued', last_error: null }, now);
      requeue();
    } else if (!store.outbox.retryNow(invoiceKey(orderId)) && (row.state === 'queued' || row.revoke)) {
      requeue();
    }
    return { state: invoices.get(orderId)!.state };
  })();
}
