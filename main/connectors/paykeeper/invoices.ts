import type { Store } from '../../store/index.ts';
import { SEARCH_TEXT } from '../../store/search-text.ts';
import { parseStoredError, type StoredError } from '../stored-error.ts';

/** The outbox job that creates, re-sends and revokes an invoice, keyed by its order. */
export const INVOICE_JOB = 'invoice.sync';
export const invoiceKey = (orderId: string) => `invoice:${orderId}`;

export const INVOICE_STATES = ['queued', 'created', 'sent', 'paid', 'expired', 'revoked', 'failed'] as const;
export type InvoiceState = (typeof INVOICE_STATES)[number];

const STATES: ReadonlySet<string> = new Set(INVOICE_STATES);
/** Is this text (a query's, 1C's) one of the invoice states? */
export const isInvoiceState = (s: string): s is InvoiceState => STATES.has(s);

export interface InvoiceRow {
  order_id: string;
  amount: string;
  email: string;
  phone: string | null;
  client_id: string | null;
  service_name: string | null;
  expiry: string | null;
  send: number;
  state: InvoiceState;
  invoice_id: string | null;
  invoice_url: string | null;
  paid_at: number | null;
  payment_id: string | null;
  last_error: string | null;
  create_unsure: number;
  revoke: number;
  checked_at: number | null;
  next_check_at: number | null;
  seq: number;
  changed_at: number;
  created_at: number;
  updated_at: number;
}

/** The invoice's last delivery error; null when there is none. */
export const invoiceError = (row: Pick<InvoiceRow, 'last_error'>): StoredError | null => parseStoredError(row.last_error);

/** What 1C sends for one invoice, validated and normalised (amount "1234.50", expiry = last payable day). */
export interface InvoiceInput {
  orderId: string;
  amount: string;
  email: string;
  phone: string | null;
  clientId: string | null;
  serviceName: string | null;
  expiry: string | null;
  send: boolean;
}

/** A final state: nothing more will happen to the invoice in PayKeeper. */
export const isFinal = (s: InvoiceState) => s === 'paid' || s === 'expired' || s === 'revoked';
/** Invoices PayKeeper may still change (the buyer pays, the expiry passes): tracked. */
export const isOpen = (s: InvoiceState) => s === 'created' || s === 'sent';

// PayKeeper's answers can arrive out of order (a status poll and a send): a state never goes back.
const RANK: Record<InvoiceState, number> = { queued: 0, failed: 0, created: 1, sent: 2, paid: 3, expired: 3, revoked: 3 };

const COLUMNS = [
  'order_id', 'amount', 'email', 'phone', 'client_id', 'service_name', 'expiry', 'send', 'state',
  'invoice_id', 'invoice_url', 'paid_at', 'payment_id', 'last_error', 'create_unsure', 'revoke',
  'checked_at', 'next_check_at', 'seq', 'changed_at', 'created_at', 'updated_at',
] as const satisfies ReadonlyArray<keyof InvoiceRow>;
/** Every field of InvoiceRow is a column written: one added to the row and not to COLUMNS fails to compile here. */
const everyColumnListed: [Exclude<keyof InvoiceRow, (typeof COLUMNS)[number]>] extends [never] ? true : false = true;
void everyColumnListed;
const UPSERT = `INSERT INTO invoices (${COLUMNS.join(', ')}, search) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')}, @search)
  ON CONFLICT (order_id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'order_id').map((c) => `${c} = excluded.${c}`).join(', ')}, search = excluded.search`;

/** Invoice rows in the store; every change 1C reads back (state, invoiceId, invoiceUrl, paidAt) takes a new feed seq. */
export class Invoices {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Invoices PayKeeper refused (never created), newest first, and how many there are. */
  failed(limit: number): { rows: InvoiceRow[]; total: number } {
    return {
      rows: this.#store.sql.all<InvoiceRow>(`SELECT * FROM invoices WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?`, limit),
      total: this.#store.sql.number(`SELECT COUNT(*) FROM invoices WHERE state = 'failed'`),
    };
  }

  get(orderId: string): InvoiceRow | undefined {
    return this.#store.sql.get<InvoiceRow>(`SELECT * FROM invoices WHERE order_id = ?`, orderId);
  }

  /** An invoice the caller has seen stored (invoices are never deleted); an Error naming it if it is not. */
  existing(orderId: string): InvoiceRow {
    const row = this.get(orderId);
    if (!row) throw new Error(`invoice ${orderId} is not in the store`);
    return row;
  }

  /** A new invoice, or a re-issue of one that ended without payment (expired, revoked, failed). Inside a transaction. */
  issue(input: InvoiceInput, now: number): InvoiceRow {
    const row: InvoiceRow = {
      order_id: input.orderId,
      amount: input.amount,
      email: input.email,
      phone: input.phone,
      client_id: input.clientId,
      service_name: input.serviceName,
      expiry: input.expiry,
      send: input.send ? 1 : 0,
      state: 'queued',
      invoice_id: null,
      invoice_url: null,
      paid_at: null,
      payment_id: null,
      last_error: null,
      create_unsure: 0,
      revoke: 0,
      checked_at: null,
      next_check_at: null,
      seq: this.#store.nextSeq(),
      changed_at: now,
      created_at: now,
      updated_at: now,
    };
    this.#store.sql.run(UPSERT, { ...row, search: SEARCH_TEXT.invoice(row) });
    return row;
  }

  /**
   * Applies a change (inside a transaction). A state never moves back (a late `sent` after `paid`
   * is ignored); a change 1C reads back takes a new feed seq.
   */
  update(orderId: string, patch: Partial<InvoiceRow>, now: number): InvoiceRow | undefined {
    const before = this.get(orderId);
    return before ? this.change(before, patch, now) : undefined;
  }

  /** `update` of a row just read in the same transaction. */
  change(before: InvoiceRow, patch: Partial<InvoiceRow>, now: number): InvoiceRow {
    const after: InvoiceRow = { ...before, ...patch, updated_at: now };
    if (patch.state && RANK[patch.state] < RANK[before.state] && before.state !== 'failed') after.state = before.state;
    if (
      before.state !== after.state ||
      before.invoice_id !== after.invoice_id ||
      before.invoice_url !== after.invoice_url ||
      before.paid_at !== after.paid_at ||
      before.last_error !== after.last_error
    ) {
      after.seq = this.#store.nextSeq();
      after.changed_at = now;
    }
    this.#store.sql.run(UPSERT, { ...after, search: SEARCH_TEXT.invoice(after) });
    return after;
  }

  changed(afterSeq: number, sinceMs: number, limit: number): InvoiceRow[] {
    return this.#store.sql.all<InvoiceRow>(`SELECT * FROM invoices WHERE seq > @after AND changed_at >= @since ORDER BY seq LIMIT @limit`, { after: afterSeq, since: sinceMs, limit });
  }

  /** The feed's newest seq. */
  head(): number {
    return this.#store.sql.number(`SELECT COALESCE(MAX(seq), 0) FROM invoices`);
  }

  /**
   * Invoices created in [from, to), oldest first, fetched a page at a time: no statement stays
   * open across the caller's awaits (an export streams for seconds while 1C keeps writing).
   */
  async *period(from: number, to: number, filter?: (r: InvoiceRow) => boolean): AsyncGenerator<InvoiceRow> {
    let afterAt = -Infinity;
    let afterId = '';
    for (;;) {
      const rows = this.#store.sql.all<InvoiceRow>(
        `SELECT * FROM invoices WHERE created_at >= @from AND created_at < @to AND (created_at, order_id) > (@afterAt, @afterId)
        ORDER BY created_at, order_id LIMIT @limit`,
        { from, to, afterAt: afterAt === -Infinity ? from - 1 : afterAt, afterId, limit: 1000 },
      );
      for (const r of rows) if (!filter || filter(r)) yield r;
      if (rows.length < 1000) return;
      afterAt = rows[rows.length - 1].created_at;
      afterId = rows[rows.length - 1].order_id;
    }
  }

  /** Open invoices whose status check is due, soonest first (created in PayKeeper: they have its id). */
  due(now: number, limit: number): Array<InvoiceRow & { invoice_id: string }> {
    return this.#store.sql.all<InvoiceRow & { invoice_id: string }>(
      `SELECT * FROM invoices WHERE state IN ('created', 'sent') AND invoice_id IS NOT NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?`,
      now,
      limit,
    );
  }

  nextDueAt(): number | null {
    return this.#store.sql.value<number | null>(`SELECT MIN(next_check_at) FROM invoices WHERE state IN ('created', 'sent') AND invoice_id IS NOT NULL`) ?? null;
  }

  openCount(): number {
    return this.#store.sql.number(`SELECT COUNT(*) FROM invoices WHERE state IN ('created', 'sent')`);
  }
}
