import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { DB } from '../../store/db.ts';
import { likeContains, searchKey } from '../../store/search-text.ts';
import { parseOnecDate } from '../../listener/onec-values.ts';
import { rubles } from './export.ts';
import { INVOICE_STATES, type InvoiceRow, type InvoiceState } from './invoices.ts';
import { localDayStart, nextDay } from './msk.ts';

/**
 * The window's filter over invoices (period, state, search), shared by the list, its total and
 * the accountant's export: the file holds exactly the rows the screen lists.
 */

/** The query as the window sends it: dates stay text here, so a bad one is refused naming the field the operator sees. */
export const filterQuery = z.object({
  q: z.string().max(200).optional(),
  state: z.enum(INVOICE_STATES as [InvoiceState, ...InvoiceState[]]).optional(),
  from: z.string().max(100).optional(),
  to: z.string().max(100).optional(),
});

export interface InvoiceFilter {
  /** 'YYYY-MM-DD', the first day (inclusive). */
  from: string | null;
  /** 'YYYY-MM-DD', the last day (inclusive). */
  to: string | null;
  state: InvoiceState | null;
  /** The search key (searchKey), '' for none. */
  q: string;
}

/** Totals of the listed invoices; money is exact decimal text ("1234.50"). */
export interface InvoiceTotals {
  count: number;
  amount: string;
  paid: { count: number; amount: string };
}

const LABEL = { from: 'С', to: 'По' } as const;
const ru = (iso: string) => iso.split('-').reverse().join('.');

/** A day of the period; absent is an open end (the list only), sent but empty is a field the operator cleared. */
function day(field: 'from' | 'to', text: string | undefined, required: boolean): string | null {
  const v = text === undefined ? null : parseOnecDate(text);
  if (v === undefined) throw errors.invalid(field, `Поле «${LABEL[field]}»: «${text!.slice(0, 40)}» — не дата; введите ДД.ММ.ГГГГ, например 01.11.2026`);
  if (v === null && (required || text !== undefined)) throw errors.invalid(field, `Поле «${LABEL[field]}» не заполнено: укажите ${field === 'from' ? 'первый' : 'последний'} день периода`);
  return v?.date ?? null;
}

/** Checks the window's query; a bad date or a period that ends before it starts is a 422 naming the field. */
export function parseFilter(q: z.infer<typeof filterQuery>, opts: { periodRequired: boolean }): InvoiceFilter {
  const from = day('from', q.from, opts.periodRequired);
  const to = day('to', q.to, opts.periodRequired);
  if (from && to && from > to) throw errors.invalid('to', `Поле «По»: конец периода ${ru(to)} раньше его начала ${ru(from)}`);
  return { from, to, state: q.state ?? null, q: searchKey(q.q ?? '') };
}

/** «01.11.2026 — 30.11.2026, состояние «оплачен», поиск «петров»» — what the file was filtered by. */
export function describeFilter(f: InvoiceFilter, stateLabel: (s: InvoiceState) => string): string {
  const period = f.from && f.to ? `${ru(f.from)} — ${ru(f.to)}` : f.from ? `с ${ru(f.from)}` : f.to ? `по ${ru(f.to)}` : 'за всё время';
  return [period, f.state && `состояние «${stateLabel(f.state)}»`, f.q && `поиск «${f.q}»`].filter(Boolean).join(', ');
}

function where(f: InvoiceFilter): { sql: string; params: Record<string, string | number> } {
  const parts: string[] = [];
  const params: Record<string, string | number> = {};
  if (f.state) (parts.push('state = @state'), (params.state = f.state));
  if (f.from) (parts.push('created_at >= @from'), (params.from = localDayStart(f.from)));
  if (f.to) (parts.push('created_at < @to'), (params.to = localDayStart(nextDay(f.to))));
  // Order, e-mail, client, invoice id in any case, ё as е (the search column, see SEARCH_TEXT.invoice).
  if (f.q) (parts.push(`search LIKE @q ESCAPE '\\'`), (params.q = likeContains(f.q)));
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

// Amounts are decimal text with at most two decimals: ×100 rounded is the exact kopeck count.
const KOPECKS = `CAST(ROUND(amount * 100) AS INTEGER)`;

export class InvoiceQuery {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  /** One page of the list, newest first. */
  page(f: InvoiceFilter, offset: number, limit: number): InvoiceRow[] {
    const w = where(f);
    return this.#db.prepare(`SELECT * FROM invoices WHERE ${w.sql} ORDER BY created_at DESC, order_id LIMIT @limit OFFSET @offset`).all({ ...w.params, limit, offset }) as InvoiceRow[];
  }

  totals(f: InvoiceFilter): InvoiceTotals {
    const w = where(f);
    const r = this.#db
      .prepare(
        `SELECT COUNT(*) AS count, COALESCE(SUM(${KOPECKS}), 0) AS kop,
           COALESCE(SUM(state = 'paid'), 0) AS paidCount, COALESCE(SUM(CASE WHEN state = 'paid' THEN ${KOPECKS} END), 0) AS paidKop
         FROM invoices WHERE ${w.sql}`,
      )
      .get(w.params) as { count: number; kop: number; paidCount: number; paidKop: number };
    return { count: r.count, amount: rubles(r.kop), paid: { count: r.paidCount, amount: rubles(r.paidKop) } };
  }

  /**
   * The matching invoices oldest first, a page at a time: no statement stays open across the
   * caller's awaits (an export streams for seconds while 1C keeps writing).
   */
  async *rows(f: InvoiceFilter): AsyncGenerator<InvoiceRow> {
    const w = where(f);
    const stmt = this.#db.prepare(`SELECT * FROM invoices WHERE ${w.sql} AND (created_at, order_id) > (@afterAt, @afterId) ORDER BY created_at, order_id LIMIT 1000`);
    let afterAt = Number.MIN_SAFE_INTEGER;
    let afterId = '';
    for (;;) {
      const rows = stmt.all({ ...w.params, afterAt, afterId }) as InvoiceRow[];
      yield* rows;
      if (rows.length < 1000) return;
      afterAt = rows[rows.length - 1].created_at;
      afterId = rows[rows.length - 1].order_id;
    }
  }
}
