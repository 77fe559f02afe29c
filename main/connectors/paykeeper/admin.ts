import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { Store } from '../../store/index.ts';
import { PassThrough } from 'node:stream';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import { contentDisposition, EXPORT_CONTENT_TYPE, exportFileName, STATE_LABELS, writeInvoiceExport } from './export.ts';
import { describeFilter, filterQuery, InvoiceQuery, parseFilter } from './invoice-query.ts';
import { view, type InvoiceRow, type InvoiceState, type Invoices } from './invoices.ts';
import { exportRows } from './routes.ts';
import { INVOICE_JOB, invoiceKey } from './worker.ts';

const listQuery = filterQuery.extend({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const exportQuery = filterQuery.extend({ format: z.enum(['xlsx', 'csv']).default('xlsx') });

const adminView = (r: InvoiceRow) => ({
  ...view(r),
  email: r.email,
  clientId: r.client_id,
  phone: r.phone,
  serviceName: r.service_name,
  createdAt: toOnecDateTime(r.created_at),
  paymentId: r.payment_id,
});

/**
 * Invoices in the tray window: search by order, e-mail, client or invoice id, by state and period,
 * with the total of what is listed; the accountant's export of exactly those rows, with that total.
 */
export function invoicesAdmin(store: Store, invoices: Invoices) {
  const query = new InvoiceQuery(store.db);
  return (app: AdminApp) => {
    app.get('/api/invoices', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query as z.infer<typeof listQuery>;
      const filter = parseFilter(q, { periodRequired: false });
      const totals = query.totals(filter);
      return { invoices: query.page(filter, q.offset, q.limit).map(adminView), total: totals.count, totals };
    });

    app.get('/api/invoices/export', { schema: { querystring: exportQuery } }, async (req, reply) => {
      const q = req.query as z.infer<typeof exportQuery>;
      const filter = parseFilter(q, { periodRequired: true });
      const label = (s: InvoiceState) => STATE_LABELS[s].toLowerCase();
      const out = new PassThrough();
      writeInvoiceExport(exportRows(query.rows(filter)), q.format, out, { totals: { filter: describeFilter(filter, label) } }).catch((e) => out.destroy(e as Error));
      reply.header('Content-Type', EXPORT_CONTENT_TYPE[q.format]);
      reply.header('Content-Disposition', contentDisposition(exportFileName(filter.from!, filter.to!, q.format, filter.state ? label(filter.state) : undefined)));
      return reply.send(out);
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
