import type { Store } from '../../store/index.ts';
import { likeContains } from '../../store/search-text.ts';
import { rubles } from './export.ts';
import type { InvoiceRow, InvoiceState } from './invoices.ts';
import { localDayStart, nextDay } from './msk.ts';

/**
 * The window's filter over invoices (period, state, search), shared by the list, its total and
 * the accountant's export: the file holds exactly the rows the screen lists. The window's query
 * is parsed into an InvoiceFilter by the admin routes (admin.ts).
 */

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
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** One page of the list, newest first. */
  page(f: InvoiceFilter, offset: number, limit: number): InvoiceRow[] {
    const w = where(f);
    return this.#store.sql.all<InvoiceRow>(`SELECT * FROM invoices WHERE ${w.sql} ORDER BY created_at DESC, order_id LIMIT @limit OFFSET @offset`, { ...w.params, limit, offset });
  }

  totals(f: InvoiceFilter): InvoiceTotals {
    const w = where(f);
    const r = this.#store.sql.one<{ count: number; kop: number; paidCount: number; paidKop: number }>(
      `SELECT COUNT(*) AS count, COALESCE(SUM(${KOPECKS}), 0) AS kop,
         COALESCE(SUM(state = 'paid'), 0) AS paidCount, COALESCE(SUM(CASE WHEN state = 'paid' THEN ${KOPECKS} END), 0) AS paidKop
       FROM invoices WHERE ${w.sql}`,
      w.params,
    );
    return { count: r.count, amount: rubles(r.kop), paid: { count: r.paidCount, amount: rubles(r.paidKop) } };
  }

  /**
   * The matching invoices oldest first, a page at a time: no statement stays open across the
   * caller's awaits (an export streams for seconds while 1C keeps writing).
   */
  async *rows(f: InvoiceFilter): AsyncGenerator<InvoiceRow> {
    const w = where(f);
    const text = `SELECT * FROM invoices WHERE ${w.sql} AND (created_at, order_id) > (@afterAt, @afterId) ORDER BY created_at, order_id LIMIT 1000`;
    let afterAt = Number.MIN_SAFE_INTEGER;
    let afterId = '';
    for (;;) {
      const rows = this.#store.sql.all<InvoiceRow>(text, { ...w.params, afterAt, afterId });
      yield* rows;
      if (rows.length < 1000) return;
      afterAt = rows[rows.length - 1].created_at;
      afterId = rows[rows.length - 1].order_id;
    }
  }
}
