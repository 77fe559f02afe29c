import { z } from 'zod';
import type { Store } from '../../store/index.ts';
import { likeContains, searchKey, SEARCH_TEXT } from '../../store/search-text.ts';
import type { ArticleInfo, Order, OrderItem, Payment, User } from './client.ts';

export type OrderDoc = Order & { items: OrderItem[] };

// The documents this repository keeps as JSON, checked once where they are read. Keys in the order
// the client builds them: a parsed document comes out with its keys in the schema's order, so the
// feed's bytes stay as they were stored.
const orderItem = z.object({
  itemId: z.number(),
  orderId: z.number(),
  productType: z.number(),
  productId: z.number().nullable(),
  productName: z.string(),
  brand: z.string(),
  article: z.string(),
  count: z.number(),
  price: z.string(),
  amount: z.string(),
  statusId: z.number(),
  statusName: z.string(),
  termDays: z.number().nullable(),
  guaranteedTermDays: z.number().nullable(),
}) satisfies z.ZodType<OrderItem>;
const orderDoc = z.object({
  orderId: z.number(),
  time: z.number(),
  userId: z.number(),
  status: z.number(),
  paid: z.number(),
  amount: z.string(),
  obtainId: z.number(),
  obtainCaption: z.string(),
  officeId: z.number(),
  officeName: z.string(),
  items: z.array(orderItem),
}) satisfies z.ZodType<OrderDoc>;
const user = z.object({
  userId: z.number(),
  regVariant: z.number(),
  regField: z.string(),
  unlocked: z.boolean(),
  activated: z.boolean(),
  timeRegistered: z.number().nullable(),
  timeLastVisit: z.number().nullable(),
  fields: z.record(z.string(), z.string()),
}) satisfies z.ZodType<User>;
const payment = z.object({
  paymentId: z.number(),
  userId: z.number(),
  time: z.number(),
  income: z.boolean(),
  orderId: z.number(),
  amount: z.string(),
  operationCode: z.number(),
}) satisfies z.ZodType<Payment>;
const articleInfos = z.array(z.object({ manufacturer: z.string(), name: z.string() })) satisfies z.ZodType<ArticleInfo[]>;

/** A stored document: only Sputnik writes these columns, so another shape is a damaged store, not something to guess at. */
function stored<T>(schema: z.ZodType<T>, column: string, text: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${column} is not the document Sputnik stores: ${z.prettifyError(parsed.error).slice(0, 300)}`);
  return parsed.data;
}
const orderOf = (text: string): OrderDoc => stored(orderDoc, 'docpart_orders.doc', text);
const userOf = (text: string | null): User | null => (text ? stored(user, 'docpart_users.doc', text) : null);

/**
 * What the pulls found. An order or payment takes a new feed seq only when its stored document
 * changes (status, paid flag, amount, any line…): a re-pull of the same data writes no change.
 */
export class DocpartRepo {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Inside a transaction: stores the order; whether it is new or changed (a feed entry), false when it is as stored. */
  putOrder(doc: OrderDoc, now: number): 'new' | 'changed' | false {
    const sql = this.#store.sql;
    const text = JSON.stringify(doc);
    const stored = sql.value<string>(`SELECT doc FROM docpart_orders WHERE order_id = ?`, doc.orderId);
    if (stored === text) {
      sql.run(`UPDATE docpart_orders SET seen_at = ? WHERE order_id = ?`, now, doc.orderId);
      return false;
    }
    sql.run(
      `INSERT INTO docpart_orders (order_id, time, user_id, doc, seq, changed_at, seen_at, search) VALUES (@id, @time, @user, @doc, @seq, @now, @now, @search)
        ON CONFLICT (order_id) DO UPDATE SET time = excluded.time, user_id = excluded.user_id, doc = excluded.doc, seq = excluded.seq, changed_at = excluded.changed_at, seen_at = excluded.seen_at, search = excluded.search`,
      { id: doc.orderId, time: doc.time, user: doc.userId, doc: text, seq: this.#store.nextSeq(), now, search: SEARCH_TEXT.docpartOrder(doc) },
    );
    return stored === undefined ? 'new' : 'changed';
  }

  putUser(user: User, now: number): void {
    const sql = this.#store.sql;
    const text = JSON.stringify(user);
    if (sql.value<string>(`SELECT doc FROM docpart_users WHERE user_id = ?`, user.userId) === text) return;
    sql.run(
      `INSERT INTO docpart_users (user_id, doc, updated_at, search) VALUES (?, ?, ?, ?)
        ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, search = excluded.search`,
      user.userId,
      text,
      now,
      SEARCH_TEXT.docpartUser(user),
    );
  }

  putPayment(p: Payment, now: number): boolean {
    const sql = this.#store.sql;
    const text = JSON.stringify(p);
    if (sql.value<string>(`SELECT doc FROM docpart_payments WHERE payment_id = ?`, p.paymentId) === text) return false;
    sql.run(
      `INSERT INTO docpart_payments (payment_id, doc, seq, changed_at) VALUES (@id, @doc, @seq, @now)
        ON CONFLICT (payment_id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq, changed_at = excluded.changed_at`,
      { id: p.paymentId, doc: text, seq: this.#store.nextSeq(), now },
    );
    return true;
  }

  ordersAfter(seq: number, limit: number): Array<{ seq: number; order: OrderDoc; user: User | null }> {
    const rows = this.#store.sql.all<{ seq: number; doc: string; user: string | null }>(
      `SELECT o.seq, o.doc, u.doc AS user FROM docpart_orders o LEFT JOIN docpart_users u ON u.user_id = o.user_id WHERE o.seq > ? ORDER BY o.seq LIMIT ?`,
      seq,
      limit,
    );
    return rows.map((r) => ({ seq: r.seq, order: orderOf(r.doc), user: userOf(r.user) }));
  }

  paymentsAfter(seq: number, limit: number): Array<{ seq: number; payment: Payment }> {
    const rows = this.#store.sql.all<{ seq: number; doc: string }>(`SELECT seq, doc FROM docpart_payments WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit);
    return rows.map((r) => ({ seq: r.seq, payment: stored(payment, 'docpart_payments.doc', r.doc) }));
  }

  /** The window's list: newest orders first; `q` matches the order number, the buyer's data or an article, in any case, ё as е. */
  search(q: string, offset: number, limit: number): { rows: Array<{ order: OrderDoc; user: User | null; changedAt: number }>; total: number } {
    const key = searchKey(q);
    // Two texts (with and without a search), each kept prepared by the store.
    const where = key ? `WHERE o.search LIKE @q ESCAPE '\\' OR u.search LIKE @q ESCAPE '\\'` : '';
    const params = { q: likeContains(key), offset, limit };
    const from = `FROM docpart_orders o LEFT JOIN docpart_users u ON u.user_id = o.user_id ${where}`;
    return this.#store.read(() => {
      const rows = this.#store.sql.all<{ doc: string; user: string | null; changed_at: number }>(
        `SELECT o.doc, u.doc AS user, o.changed_at ${from} ORDER BY o.time DESC, o.order_id DESC LIMIT @limit OFFSET @offset`,
        params,
      );
      const total = this.#store.sql.value<number>(`SELECT COUNT(*) ${from}`, params) ?? 0;
      return { rows: rows.map((r) => ({ order: orderOf(r.doc), user: userOf(r.user), changedAt: r.changed_at })), total };
    });
  }

  order(orderId: number): { order: OrderDoc; user: User | null; changedAt: number } | undefined {
    const r = this.#store.sql.get<{ doc: string; user: string | null; changed_at: number }>(
      `SELECT o.doc, u.doc AS user, o.changed_at FROM docpart_orders o LEFT JOIN docpart_users u ON u.user_id = o.user_id WHERE o.order_id = ?`,
      orderId,
    );
    return r && { order: orderOf(r.doc), user: userOf(r.user), changedAt: r.changed_at };
  }

  article(article: string): { items: ArticleInfo[]; fetchedAt: number } | undefined {
    const r = this.#store.sql.get<{ doc: string; fetched_at: number }>(`SELECT doc, fetched_at FROM docpart_articles WHERE article = ?`, article);
    return r && { items: stored(articleInfos, 'docpart_articles.doc', r.doc), fetchedAt: r.fetched_at };
  }

  /** Inside a transaction: keeps the cross server's answer for an article. */
  putArticle(article: string, items: ArticleInfo[], now: number): void {
    this.#store.sql.run(
      `INSERT INTO docpart_articles (article, doc, fetched_at) VALUES (?, ?, ?) ON CONFLICT (article) DO UPDATE SET doc = excluded.doc, fetched_at = excluded.fetched_at`,
      article,
      JSON.stringify(items),
      now,
    );
  }

  /** Drops cached articles fetched before `before` (housekeeping; a lost deletion is redone next run, so relaxed). */
  pruneArticles(before: number): Promise<number> {
    return this.#store.write(() => this.#store.sql.run(`DELETE FROM docpart_articles WHERE fetched_at < ?`, before).changes, { durability: 'relaxed' });
  }

  counts(): { orders: number; payments: number } {
    return this.#store.sql.one<{ orders: number; payments: number }>(`SELECT (SELECT COUNT(*) FROM docpart_orders) AS orders, (SELECT COUNT(*) FROM docpart_payments) AS payments`);
  }
}
