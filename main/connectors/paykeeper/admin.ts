import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { Store } from '../../store/index.ts';
import { PassThrough } from 'node:stream';
import { toError } from '../../unknown.ts';
import { searchKey } from '../../store/search-text.ts';
import { parseOnecDate, toOnecDateTime } from '../../listener/onec-values.ts';
import { contentDisposition, EXPORT_CONTENT_TYPE, exportFileName, STATE_LABELS, writeInvoiceExport } from './export.ts';
import { InvoiceQuery, type InvoiceFilter } from './invoice-query.ts';
import { INVOICE_JOB, INVOICE_STATES, invoiceKey, type InvoiceRow, type InvoiceState, type Invoices } from './invoices.ts';
import { exportRows, view } from './routes.ts';
import { writeNow } from '../../store/write-now.ts';

/** The query as the window sends it: dates stay text here, so a bad one is refused naming the field the operator sees. */
export const filterQuery = z.object({
  q: z.string().max(200).optional(),
  state: z.enum(INVOICE_STATES).optional(),
  from: z.string().max(100).optional(),
  to: z.string().max(100).optional(),
});

const LABEL = { from: 'С', to: 'По' } as const;
const ru = (iso: string) => iso.split('-').reverse().join('.');

const unfilled = (field: 'from' | 'to') =>
  errors.invalid(field, `Поле «${LABEL[field]}» не заполнено: укажите ${field === 'from' ? 'первый' : 'последний'} день периода`);

/** A day of the period; absent is an open end (null: the list only), sent but empty is a field the operator cleared. */
function day(field: 'from' | 'to', text: string | undefined): string | null {
  if (text === undefined) return null;
  const v = parseOnecDate(text);
  if (v === undefined) throw errors.invalid(field, `Поле «${LABEL[field]}»: «${text.slice(0, 40)}» — не дата; введите ДД.ММ.ГГГГ, например 01.11.2026`);
  if (v === null) throw unfilled(field);
  return v.date;
}

/** A day the export needs: absent is refused like a cleared field. */
function requiredDay(field: 'from' | 'to', text: string | undefined): string {
  const v = day(field, text);
  if (v === null) throw unfilled(field);
  return v;
}

type FilterQuery = z.infer<typeof filterQuery>;

/** The window's list query; a bad date or a period that ends before it starts is a 422 naming the field. */
export function parseFilter(q: FilterQuery): InvoiceFilter {
  return filterOf(q, day('from', q.from), day('to', q.to));
}

/** The export's query: as the list's, and the period is required (the file names it). */
export function parsePeriodFilter(q: FilterQuery): InvoiceFilter & { from: string; to: string } {
  const from = requiredDay('from', q.from);
  const to = requiredDay('to', q.to);
  return { ...filterOf(q, from, to), from, to };
}

function filterOf(q: FilterQuery, from: string | null, to: string | null): InvoiceFilter {
  if (from && to && from > to) throw errors.invalid('to', `Поле «По»: конец периода ${ru(to)} раньше его начала ${ru(from)}`);
  return { from, to, state: q.state ?? null, q: searchKey(q.q ?? '') };
}

/** «01.11.2026 — 30.11.2026, состояние «оплачен», поиск «петров»» — what the file was filtered by. */
export function describeFilter(f: InvoiceFilter, stateLabel: (s: InvoiceState) => string): string {
  const period = f.from && f.to ? `${ru(f.from)} — ${ru(f.to)}` : f.from ? `с ${ru(f.from)}` : f.to ? `по ${ru(f.to)}` : 'за всё время';
  return [period, f.state && `состояние «${stateLabel(f.state)}»`, f.q && `поиск «${f.q}»`].filter(Boolean).join(', ');
}

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
  const query = new InvoiceQuery(store);
  return (app: AdminApp) => {
    app.get('/api/invoices', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query;
      const filter = parseFilter(q);
      const totals = query.totals(filter);
      return { invoices: query.page(filter, q.offset, q.limit).map(adminView), total: totals.count, totals };
    });

    app.get('/api/invoices/export', { schema: { querystring: exportQuery } }, async (req, reply) => {
      const q = req.query;
      const filter = parsePeriodFilter(q);
      const label = (s: InvoiceState) => STATE_LABELS[s].toLowerCase();
      const out = new PassThrough();
      writeInvoiceExport(exportRows(query.rows(filter)), q.format, out, { totals: { filter: describeFilter(filter, label) } }).catch((e: unknown) => out.destroy(toError(e)));
      reply.header('Content-Type', EXPORT_CONTENT_TYPE[q.format]);
      reply.header('Content-Disposition', contentDisposition(exportFileName(filter.from, filter.to, q.format, filter.state ? label(filter.state) : undefined)));
      return reply.send(out);
    });

    app.get<{ Params: { orderId: string } }>('/api/invoices/:orderId', async (req) => {
      const row = invoices.get(req.params.orderId);
      if (!row) throw errors.notFound('invoice_not_found', 'Такого счёта нет в Спутнике');
      return adminView(row);
    });
  };
}

/** «Повторить» for an invoice: a failed one (never created) is queued again; a waiting one is sent now. */
export function retryInvoice(store: Store, invoices: Invoices, entity: string): { state: string } | null {
  if (!entity.startsWith('invoice:')) return null;
  const orderId = entity.slice('invoice:'.length);
  return writeNow(store, () => {
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
    return { state: invoices.existing(orderId).state };
  });
}
