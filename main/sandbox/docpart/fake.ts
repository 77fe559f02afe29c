/**
 * A fake Docpart "1C API" module (`POST <shop>/api/agent_1c/execute.php`) for honest tests, the
 * sandbox and the benchmark. Built on the shared fake-remote kit (../fake-server.ts).
 *
 * Fidelity notes (see shared/reference/docpart.md):
 * - FROM THE ARTICLE [A]: one POST entry point in a directory of the installer's choice;
 *   form-urlencoded `task` + `tech_key`; envelope `status`/`message`/`data`; «ОК» on success; the six
 *   tasks with their parameter and field names; `time_from` required for get_orders/get_payments;
 *   `order_id`, `user_id`, `article` accept a value or an array; optional Basic auth on the directory.
 * - FROM THE PLATFORM SOURCE [P]: order amount = Σ price×count over lines with `count_flag` 1;
 *   `paid` 0/1/2; times are Unix seconds in the DB; t2_* are day counts; payment rows in both
 *   directions; PDO hands every column over as a string (`numbersAsStrings`, default on).
 * - FROM PHP ITSELF: `$_POST` decoding (../passteam/php-form.ts); `$_POST` stays empty unless the
 *   Content-Type is form-urlencoded; `max_input_vars` drops every variable past the cap silently
 *   (PHP ≥ 5.6's POST handler counts after registering, so it keeps N+1 — `maxInputVarsKeepsOneMore`);
 *   json_encode escaping; notices/BOM printed before the JSON (`preamble`); a fatal error page with
 *   HTTP 200 (failure 'html200').
 * - ASSUMED (real behaviour unknown; switches where it matters, clients must not match on texts):
 *   the JSON time format (`timeFormat`), `time_to` exclusivity (`timeToInclusive`), `time_from`
 *   inclusive (`time >= midnight`), Latin/Cyrillic OK (`okMessage`), `Data` casing (`dataKey`), status
 *   type (`statusShape`), every error text (wrong key, unknown task, date/parameter errors, cross
 *   server down), that errors are HTTP 200 without a data key, that check_connection has no data key,
 *   that a non-form request is answered like a missing key (PHP sees an empty `$_POST`), that other
 *   methods reach PHP the same way, that an empty filter value means "no filter" (so `paid=0` filters),
 *   that non-integer ids/filters are an error, that get_user_info/get_orders_items without ids is an
 *   error, that results are sorted by id, that `get_article_info` matches articles ignoring case and
 *   punctuation and echoes the article as sent, the `text/html; charset=UTF-8` content type (PHP's
 *   default when a script sets none).
 */
import type { IncomingMessage } from 'node:http';
import { newPhpFormMap, parsePhpForm, type PhpFormMap, type PhpFormValue } from '../passteam/php-form.ts';
import { NGINX_502_HTML, phpJsonEncode, startFakeServer, type FakeLogOptions, type FakeHold, type FakeReply, type FakeRequest } from '../fake-server.ts';
import { fromMoscowWall, mskIso } from '../../time/moscow.ts';

export type { FakeRequest } from '../fake-server.ts';

export interface DocpartOrder {
  order_id: number;
  /** Unix seconds. */
  time: number;
  /** 0 = guest. */
  user_id: number;
  status: number;
  /** 0 unpaid, 1 paid, 2 partially paid. */
  paid: 0 | 1 | 2;
  obtain_id: number;
  obtain_caption: string;
  office_id: number;
  office_name: string;
}

export interface DocpartItem {
  item_id: number;
  order_id: number;
  /** 1 = catalogue item in stock, 2 = item from an article price search. */
  product_type: 1 | 2;
  product_id: number | null;
  product_name: string;
  brand: string;
  article: string;
  count: number;
  /** "1500.00" */
  price: string;
  status_id: number;
  status_name: string;
  /** 0 = cancelled: excluded from the order amount (not emitted on the wire). */
  count_flag: 0 | 1;
  /** Days. */
  t2_time_to_exe: number | null;
  t2_time_to_exe_guaranteed: number | null;
}

export interface DocpartUser {
  user_id: number;
  reg_variant: number;
  reg_field: string;
  unlocked: 0 | 1;
  activated: 0 | 1;
  time_registered: number;
  time_last_visit: number;
  /** Dynamic registration fields, emitted as top-level keys after the fixed ones (a fixed key wins). */
  fields: Record<string, string>;
}

export interface DocpartPayment {
  payment_id: number;
  user_id: number;
  time: number;
  income: 0 | 1;
  /** Order id or 0. */
  pay_orders: number;
  amount: string;
  operation_code: number;
}

export interface DocpartData {
  orders: DocpartOrder[];
  items: DocpartItem[];
  users: DocpartUser[];
  payments: DocpartPayment[];
  /** Cross data keyed by article; looked up ignoring case and punctuation. */
  articles: Record<string, Array<{ manufacturer: string; name: string }>>;
}

export interface FakeDocpartOptions extends FakeLogOptions {
  techKey: string;
  /** Full path of the entry point, default '/api/agent_1c/execute.php'; a directory ('/api/1c') gets '/execute.php' appended. */
  path?: string;
  /** Optional gate on the module directory: without these credentials HTTP 401 + nginx HTML. */
  basicAuth?: { user: string; password: string };
  /** PHP's max_input_vars, default 1000: variables past it are silently dropped before the task runs. */
  maxInputVars?: number;
  /** PHP ≥ 5.6 registers the variable that trips the limit (N+1 kept; default true); false = PHP ≤ 5.5 (N kept, empty pieces not counted). */
  maxInputVarsKeepsOneMore?: boolean;
  /** Default true (PDO): every number and flag a JSON string ("10", "1500.00", "0"); false: JSON numbers. */
  numbersAsStrings?: boolean;
  /** ASSUMED. Default 'formatted' = 'dd.MM.yyyy HH:mm:ss' shop-local (Europe/Moscow); 'unix' = seconds. */
  timeFormat?: 'unix' | 'formatted';
  /** «ОК» in Cyrillic (default) or Latin 'OK'. */
  okMessage?: 'cyrillic' | 'latin';
  /** Default 'data'. */
  dataKey?: 'data' | 'Data';
  /** status true/false (default 'boolean'), 1/0, "1"/"0". */
  statusShape?: 'boolean' | 'number' | 'string';
  /** Bytes before every JSON answer: none (default), a UTF-8 BOM, or a PHP notice (NOTICE_PREAMBLE). */
  preamble?: '' | 'bom' | 'notice';
  /** ASSUMED. Default false: `time < midnight of time_to` (the platform's strict compare); true: the whole time_to day. */
  timeToInclusive?: boolean;
  /** ASSUMED text, default 'Wrong key' (also for a missing key and a non-form request). */
  wrongKeyMessage?: string;
  /** Extra latency of get_article_info (the remote cross server), on top of latencyMs. */
  articleLatencyMs?: number;
  /** get_article_info answers status false MSG_CROSS_DOWN (ASSUMED text). */
  articleFailure?: boolean;
  latencyMs?: number;
  host?: string;
  port?: number;
  /** Seed (deep-copied); default empty. See seed.ts. */
  data?: DocpartData;
}

export type FakeDocpartFailure = 'http500' | 'http502-html' | 'html200' | 'reset' | 'hang' | 'processed-then-reset';

export interface FakeDocpart {
  /** Base: http://127.0.0.1:PORT (the module path is appended by the client). */
  url: string;
  /** A deep copy of the shop's current data. */
  data(): DocpartData;
  /** Test hook: change the shop between syncs (returns the changed order); amount is always recomputed from its lines. */
  updateOrder(orderId: number, patch: Partial<Pick<DocpartOrder, 'status' | 'paid'>>): DocpartOrder;
  updateItem(itemId: number, patch: Partial<Pick<DocpartItem, 'count' | 'price' | 'status_id' | 'status_name' | 'count_flag'>>): DocpartItem;
  addOrder(order: DocpartOrder, items: DocpartItem[]): void;
  addPayment(p: DocpartPayment): void;
  /** Every request received (while not down), in order; `form` is `$_POST` after the max_input_vars cut. */
  requests(): FakeRequest[];
  clearRequests(): void;
  setLatency(ms: number): void;
  /** Applies `kind` to the next `count` requests, then normal again (calls queue up). */
  failNext(count: number, kind: FakeDocpartFailure): void;
  /** While down every connection (new or kept alive) is reset immediately. */
  setDown(down: boolean): void;
  /** A request matching `match` waits at the gate until released: see FakeServer.hold. */
  hold(match?: (req: FakeRequest) => boolean): FakeHold;
  /** Requests received and not answered yet. */
  inHand(): number;
  stop(): Promise<void>;
}

export const DEFAULT_PATH = '/api/agent_1c/execute.php';
export const OK_CYRILLIC = 'ОК';
// ASSUMED texts (real ones unknown): clients must not match on them.
export const MSG_WRONG_KEY = 'Wrong key';
export const MSG_UNKNOWN_TASK = 'Unknown task';
export const MSG_CROSS_DOWN = 'Сервер кроссов недоступен';
export const msgMissing = (param: string): string => `Не указан обязательный параметр ${param}`;
export const msgBadDate = (param: string): string => `Неверный формат даты в параметре ${param}, ожидается дд.мм.гггг`;
export const msgBadValue = (param: string): string => `Неверное значение параметра ${param}`;

export const BOM = '\uFEFF';
export const noticePreamble = (path: string): string =>
  `<br />\n<b>Notice</b>:  Undefined index: x in /var/www/html${path} on line <b>12</b><br />\n`;

const html = (title: string, body: string): string =>
  `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n${body}\r\n</body>\r\n</html>\r\n`;
const nginxPage = (code: string): string => html(code, `<center><h1>${code}</h1></center>\r\n<hr><center>nginx</center>`);
export const NGINX_401_HTML = nginxPage('401 Authorization Required');
export const NGINX_404_HTML = nginxPage('404 Not Found');
export const NGINX_500_HTML = nginxPage('500 Internal Server Error');
/** What a PHP fatal error looks like with display_errors on: HTTP 200, HTML, no JSON. */
export const PHP_FATAL_HTML =
  "<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [1040] Too many connections in /var/www/html/core/dp_db.php:14\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/core/dp_db.php</b> on line <b>14</b><br />\n";

const PHP_CONTENT_TYPE = 'text/html; charset=UTF-8';
const DAY_S = 86_400;

// ---- helpers ----

/** "1500" / "1500.5" / "1500.50" → kopecks; null when not a non-negative decimal with ≤ 2 decimals. */
function kopecksOf(price: string): number | null {
  const m = /^([0-9]+)(?:\.([0-9]{1,2}))?$/.exec(price);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

function moneyText(kopecks: number): string {
  const sign = kopecks < 0 ? '-' : '';
  const abs = Math.abs(kopecks);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Kopecks of money the fake holds: normalizeMoney made it "1500.00" on the way in. */
function storedKopecks(money: string): number {
  const k = kopecksOf(money);
  if (k === null) throw new Error(`fake docpart: stored money ${JSON.stringify(money)} is not "1500.00"`);
  return k;
}

function normalizeMoney(value: string, what: string): string {
  const k = typeof value === 'string' ? kopecksOf(value) : null;
  if (k === null) throw new Error(`fake docpart: bad ${what} ${JSON.stringify(value)} (want "1500.00")`);
  return moneyText(k);
}

/** 'dd.MM.yyyy HH:mm:ss' in Moscow time. */
export function mskFormat(sec: number): string {
  const iso = mskIso(sec * 1000);
  return `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)} ${iso.slice(11, 19)}`;
}

/** 'dd.MM.yyyy' (1–2 digit day/month) → Unix seconds of Moscow midnight; null when malformed or not a calendar day. */
export function parseShopDate(text: string): number | null {
  const m = /^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$/.exec(text);
  if (!m) return null;
  const d = Number(m[1]);
  const mo = Number(m[2]);
  const y = Number(m[3]);
  const utc = Date.UTC(y, mo - 1, d);
  const back = new Date(utc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return fromMoscowWall(y, mo, d) / 1000;
}

/** Article key as the cross lookup sees it: upper case, letters and digits only. */
export function articleKey(article: string): string {
  return article.toUpperCase().replace(/[^0-9A-ZА-ЯЁ]/g, '');
}

const isInt = (s: string): boolean => /^\s*-?[0-9]{1,15}\s*$/.test(s);

/** Leaf values of a (possibly nested) PHP array, in PHP-ish order. */
function leaves(v: PhpFormValue): string[] {
  if (typeof v === 'string') return [v];
  const out: string[] = [];
  for (const x of Object.values(v)) out.push(...leaves(x));
  return out;
}

class TaskError extends Error {}

function scalarInt(form: PhpFormMap, name: string): number | undefined {
  const v = form[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !isInt(v)) throw new TaskError(msgBadValue(name));
  return Number(v);
}

/** A value or an array of values (`name[]=`, `name[0]=`); empty entries skipped; none → missing. */
function intList(form: PhpFormMap, name: string): number[] {
  const v = form[name];
  const raw = v === undefined ? [] : leaves(v).filter((s) => s !== '');
  if (raw.length === 0) throw new TaskError(msgMissing(name));
  if (typeof v === 'object' && Object.values(v).some((x) => typeof x === 'object')) throw new TaskError(msgBadValue(name));
  return raw.map((s) => {
    if (!isInt(s)) throw new TaskError(msgBadValue(name));
    return Number(s);
  });
}

function dateParam(form: PhpFormMap, name: string): number | undefined {
  const v = form[name];
  if (v === undefined || v === '') return undefined;
  const t = typeof v === 'string' ? parseShopDate(v) : null;
  if (t === null) throw new TaskError(msgBadDate(name));
  return t;
}

function requiredDateParam(form: PhpFormMap, name: string): number {
  const t = dateParam(form, name);
  if (t === undefined) throw new TaskError(msgMissing(name));
  return t;
}

/**
 * What survives PHP's max_input_vars in a form-urlencoded body: the first `keep` `&`-pieces.
 * PHP ≥ 5.6 (php_std_post_handler → add_post_vars) counts every piece, empty ones included, after
 * registering it, so N+1 survive; PHP ≤ 5.5 (php_default_treat_data, strtok) skips empty pieces and
 * stops before the (N+1)-th.
 */
export function cutToMaxInputVars(raw: string, maxVars: number, keepsOneMore: boolean): string | null {
  let pieces = raw.split('&');
  if (pieces.length > 0 && pieces[pieces.length - 1] === '') pieces.pop(); // a trailing '&' is not a variable
  if (!keepsOneMore) pieces = pieces.filter((p) => p !== '');
  const keep = keepsOneMore ? maxVars + 1 : maxVars;
  if (pieces.length <= keep) return null;
  return pieces.slice(0, keep).join('&');
}

const clone = <T>(v: T): T => structuredClone(v);

// ---- the fake ----

export async function startFakeDocpart(opts: FakeDocpartOptions): Promise<FakeDocpart> {
  let path = opts.path ?? DEFAULT_PATH;
  if (!path.startsWith('/')) path = `/${path}`;
  if (!/\.php$/i.test(path)) path = `${path.replace(/\/+$/, '')}/execute.php`;
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const maxVars = Math.max(0, Math.floor(opts.maxInputVars ?? 1000));
  const keepsOneMore = opts.maxInputVarsKeepsOneMore ?? true;
  const strings = opts.numbersAsStrings ?? true;
  const timeFormat = opts.timeFormat ?? 'formatted';
  const okText = (opts.okMessage ?? 'cyrillic') === 'cyrillic' ? OK_CYRILLIC : 'OK';
  const dataKey = opts.dataKey ?? 'data';
  const statusShape = opts.statusShape ?? 'boolean';
  const preamble = opts.preamble === 'bom' ? BOM : opts.preamble === 'notice' ? noticePreamble(path) : '';
  const timeToInclusive = opts.timeToInclusive ?? false;
  const wrongKey = opts.wrongKeyMessage ?? MSG_WRONG_KEY;
  const articleLatencyMs = opts.articleLatencyMs ?? 0;
  const articleFailure = opts.articleFailure ?? false;
  const expectedAuth = opts.basicAuth ? `${opts.basicAuth.user}:${opts.basicAuth.password}` : null;

  // ---- state ----
  const orders = new Map<number, DocpartOrder>();
  /** The same orders by id, for the lists (sorted when asked). */
  const orderList: DocpartOrder[] = [];
  let orderListSorted = true;
  const itemsById = new Map<number, DocpartItem>();
  const itemsByOrder = new Map<number, DocpartItem[]>();
  const users = new Map<number, DocpartUser>();
  const payments = new Map<number, DocpartPayment>();
  const paymentList: DocpartPayment[] = [];
  let paymentListSorted = true;
  const articles = new Map<string, Array<{ manufacturer: string; name: string }>>();
  const articleSource: DocpartData['articles'] = {};

  const checkPaid = (paid: unknown): 0 | 1 | 2 => {
    if (paid !== 0 && paid !== 1 && paid !== 2) throw new Error(`fake docpart: paid must be 0, 1 or 2, got ${String(paid)}`);
    return paid;
  };
  const storeOrder = (o: DocpartOrder, its: DocpartItem[]): void => {
    if (!Number.isSafeInteger(o.order_id) || orders.has(o.order_id)) throw new Error(`fake docpart: order id ${o.order_id} is invalid or taken`);
    const order = { ...clone(o), paid: checkPaid(o.paid) };
    const lines: DocpartItem[] = [];
    for (const it of its) {
      if (it.order_id !== o.order_id) throw new Error(`fake docpart: item ${it.item_id} belongs to order ${it.order_id}, not ${o.order_id}`);
      if (!Number.isSafeInteger(it.item_id) || itemsById.has(it.item_id) || lines.some((l) => l.item_id === it.item_id)) throw new Error(`fake docpart: item id ${it.item_id} is invalid or taken`);
      lines.push({ ...clone(it), price: normalizeMoney(it.price, `price of item ${it.item_id}`) });
    }
    orders.set(order.order_id, order);
    if (orderList.length > 0 && orderList[orderList.length - 1].order_id > order.order_id) orderListSorted = false;
    orderList.push(order);
    lines.sort((a, b) => a.item_id - b.item_id);
    itemsByOrder.set(order.order_id, lines);
    for (const l of lines) itemsById.set(l.item_id, l);
  };
  const storePayment = (p: DocpartPayment): void => {
    if (!Number.isSafeInteger(p.payment_id) || payments.has(p.payment_id)) throw new Error(`fake docpart: payment id ${p.payment_id} is invalid or taken`);
    const payment = { ...clone(p), amount: normalizeMoney(p.amount, `amount of payment ${p.payment_id}`) };
    payments.set(p.payment_id, payment);
    if (paymentList.length > 0 && paymentList[paymentList.length - 1].payment_id > p.payment_id) paymentListSorted = false;
    paymentList.push(payment);
  };

  const seed = opts.data;
  if (seed) {
    const byOrder = new Map<number, DocpartItem[]>();
    for (const it of seed.items) {
      let list = byOrder.get(it.order_id);
      if (!list) byOrder.set(it.order_id, (list = []));
      list.push(it);
    }
    for (const o of seed.orders) storeOrder(o, byOrder.get(o.order_id) ?? []);
    for (const orderId of byOrder.keys()) if (!orders.has(orderId)) throw new Error(`fake docpart seed: items of unknown order ${orderId}`);
    for (const u of seed.users) {
      if (users.has(u.user_id)) throw new Error(`fake docpart seed: duplicate user ${u.user_id}`);
      users.set(u.user_id, clone(u));
    }
    for (const p of seed.payments) storePayment(p);
    for (const [article, list] of Object.entries(seed.articles)) {
      articleSource[article] = clone(list);
      const key = articleKey(article);
      articles.set(key, [...(articles.get(key) ?? []), ...clone(list)]);
    }
  }

  const sortedOrders = (): DocpartOrder[] => {
    if (!orderListSorted) {
      orderList.sort((a, b) => a.order_id - b.order_id);
      orderListSorted = true;
    }
    return orderList;
  };
  const sortedPayments = (): DocpartPayment[] => {
    if (!paymentListSorted) {
      paymentList.sort((a, b) => a.payment_id - b.payment_id);
      paymentListSorted = true;
    }
    return paymentList;
  };

  const orderKopecks = (orderId: number): number => {
    let sum = 0;
    for (const l of itemsByOrder.get(orderId) ?? []) if (l.count_flag === 1) sum += storedKopecks(l.price) * l.count;
    return sum;
  };

  // ---- wire values ----
  const scalar = (v: number): number | string => (strings ? String(v) : v);
  const num = (v: number | null): number | string | null => (v === null ? null : scalar(v));
  const money = (kopecks: number): number | string => (strings ? moneyText(kopecks) : kopecks / 100);
  const time = (sec: number): number | string => (timeFormat === 'formatted' ? mskFormat(sec) : scalar(sec));
  const statusValue = (ok: boolean): boolean | number | string => (statusShape === 'boolean' ? ok : statusShape === 'number' ? (ok ? 1 : 0) : ok ? '1' : '0');

  const reply = (body: Record<string, unknown>): FakeReply => ({ status: 200, contentType: PHP_CONTENT_TYPE, body: preamble + phpJsonEncode(body) });
  const success = (data?: unknown): FakeReply => reply(data === undefined ? { status: statusValue(true), message: okText } : { status: statusValue(true), message: okText, [dataKey]: data });
  const failure = (message: string): FakeReply => reply({ status: statusValue(false), message });

  // ---- tasks ----
  const getOrders = (form: PhpFormMap): unknown[] => {
    const from = requiredDateParam(form, 'time_from');
    const toDay = dateParam(form, 'time_to');
    const to = toDay === undefined ? Infinity : timeToInclusive ? toDay + DAY_S : toDay;
    const orderId = scalarInt(form, 'order_id');
    const status = scalarInt(form, 'status');
    const paid = scalarInt(form, 'paid');
    const one = orderId === undefined ? undefined : orders.get(orderId);
    const list = orderId === undefined ? sortedOrders() : one ? [one] : [];
    const out: unknown[] = [];
    for (const o of list) {
      if (o.time < from || o.time >= to) continue;
      if (status !== undefined && o.status !== status) continue;
      if (paid !== undefined && o.paid !== paid) continue;
      out.push({
        order_id: num(o.order_id),
        time: time(o.time),
        user_id: num(o.user_id),
        amount: money(orderKopecks(o.order_id)),
        paid: num(o.paid),
        status: num(o.status),
        obtain_id: num(o.obtain_id),
        obtain_caption: o.obtain_caption,
        office_id: num(o.office_id),
        office_name: o.office_name,
      });
    }
    return out;
  };

  const getOrdersItems = (form: PhpFormMap): unknown[] => {
    const wanted = new Set(intList(form, 'order_id'));
    const lines: DocpartItem[] = [];
    for (const id of wanted) lines.push(...(itemsByOrder.get(id) ?? []));
    lines.sort((a, b) => a.item_id - b.item_id);
    return lines.map((l) => ({
      order_id: num(l.order_id),
      item_id: num(l.item_id),
      product_name: l.product_name,
      brand: l.brand,
      article: l.article,
      count: num(l.count),
      price: strings ? l.price : storedKopecks(l.price) / 100,
      amount: money(storedKopecks(l.price) * l.count),
      product_type: num(l.product_type),
      product_id: num(l.product_id),
      t2_time_to_exe: num(l.t2_time_to_exe),
      t2_time_to_exe_guaranteed: num(l.t2_time_to_exe_guaranteed),
      status_id: num(l.status_id),
      status_name: l.status_name,
    }));
  };

  const getUserInfo = (form: PhpFormMap): unknown[] => {
    const wanted = [...new Set(intList(form, 'user_id'))].sort((a, b) => a - b);
    const out: unknown[] = [];
    for (const id of wanted) {
      const u = users.get(id);
      if (!u) continue;
      const row: Record<string, unknown> = {
        user_id: num(u.user_id),
        reg_variant: num(u.reg_variant),
        reg_field: u.reg_field,
        unlocked: num(u.unlocked),
        activated: num(u.activated),
        time_registered: time(u.time_registered),
        time_last_visit: time(u.time_last_visit),
      };
      for (const [k, v] of Object.entries(u.fields)) if (!(k in row)) row[k] = v;
      out.push(row);
    }
    return out;
  };

  const getPayments = (form: PhpFormMap): unknown[] => {
    const from = requiredDateParam(form, 'time_from');
    const toDay = dateParam(form, 'time_to');
    const to = toDay === undefined ? Infinity : timeToInclusive ? toDay + DAY_S : toDay;
    const paymentId = scalarInt(form, 'payment_id');
    const code = scalarInt(form, 'operation_code');
    const income = scalarInt(form, 'income');
    const one = paymentId === undefined ? undefined : payments.get(paymentId);
    const list = paymentId === undefined ? sortedPayments() : one ? [one] : [];
    const out: unknown[] = [];
    for (const p of list) {
      if (p.time < from || p.time >= to) continue;
      if (code !== undefined && p.operation_code !== code) continue;
      if (income !== undefined && p.income !== income) continue;
      out.push({
        payment_id: num(p.payment_id),
        user_id: num(p.user_id),
        time: time(p.time),
        income: num(p.income),
        pay_orders: num(p.pay_orders),
        amount: strings ? p.amount : storedKopecks(p.amount) / 100,
        operation_code: num(p.operation_code),
      });
    }
    return out;
  };

  const getArticleInfo = (form: PhpFormMap): unknown[] => {
    const v = form.article;
    const wanted = v === undefined ? [] : leaves(v).filter((s) => s.trim() !== '');
    if (wanted.length === 0) throw new TaskError(msgMissing('article'));
    if (articleFailure) throw new TaskError(MSG_CROSS_DOWN);
    const out: unknown[] = [];
    const seen = new Set<string>();
    for (const article of wanted) {
      const key = articleKey(article);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const c of articles.get(key) ?? []) out.push({ article, manufacturer: c.manufacturer, name: c.name });
    }
    return out;
  };

  // ---- $_POST after max_input_vars ----
  const applyInputVarsCap = (req: IncomingMessage, form: PhpFormMap): void => {
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length < maxVars) return; // too short to hold more pieces than the cap
    const log = server.requests();
    let raw: string | undefined;
    for (let i = log.length - 1; i >= 0; i--) {
      if (log[i].form === form) {
        raw = log[i].rawBody;
        break;
      }
    }
    if (raw === undefined) return;
    const cut = cutToMaxInputVars(raw, maxVars, keepsOneMore);
    if (cut === null) return;
    const kept = parsePhpForm(cut);
    for (const k of Object.keys(form)) delete form[k];
    Object.assign(form, kept); // the logged request shows what PHP saw
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (expectedAuth === null) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    return m !== null && Buffer.from(m[1], 'base64').toString('utf8') === expectedAuth;
  };

  const answer = (req: IncomingMessage, form: PhpFormMap, isForm: boolean): FakeReply => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (!authorized(req) && (pathname === path || pathname.startsWith(dir))) {
      return { status: 401, contentType: 'text/html', body: NGINX_401_HTML, headers: { 'WWW-Authenticate': 'Basic realm="Restricted"' } };
    }
    if (pathname !== path) return { status: 404, contentType: 'text/html', body: NGINX_404_HTML };
    if (req.method === 'POST' && isForm) applyInputVarsCap(req, form);
    // PHP fills $_POST only for a form-urlencoded POST; anything else arrives without a key.
    const post: PhpFormMap = req.method === 'POST' && isForm ? form : newPhpFormMap();
    if (typeof post.tech_key !== 'string' || post.tech_key !== opts.techKey) return failure(wrongKey);
    const task = post.task;
    const reply = runTask(task, post);
    // The cross server's answer (or its refusal) is held back; the kit answers the rest at once.
    return task === 'get_article_info' ? { ...reply, holdMs: articleLatencyMs } : reply;
  };

  const runTask = (task: PhpFormValue | undefined, post: PhpFormMap): FakeReply => {
    try {
      switch (task) {
        case 'check_connection':
          return success();
        case 'get_orders':
          return success(getOrders(post));
        case 'get_orders_items':
          return success(getOrdersItems(post));
        case 'get_user_info':
          return success(getUserInfo(post));
        case 'get_payments':
          return success(getPayments(post));
        case 'get_article_info':
          return success(getArticleInfo(post));
        default:
          return failure(MSG_UNKNOWN_TASK);
      }
    } catch (e) {
      if (e instanceof TaskError) return failure(e.message);
      throw e;
    }
  };

  const server = await startFakeServer<FakeDocpartFailure>({
    name: 'fake docpart',
    keepRequests: opts.keepRequests,
    host: opts.host,
    port: opts.port,
    latencyMs: opts.latencyMs,
    answer,
    failurePages: {
      http500: { status: 500, contentType: 'text/html', body: NGINX_500_HTML },
      'http502-html': { status: 502, contentType: 'text/html', body: NGINX_502_HTML },
      html200: { status: 200, contentType: PHP_CONTENT_TYPE, body: PHP_FATAL_HTML },
    },
    internalError: { status: 500, contentType: 'text/html', body: NGINX_500_HTML },
  });

  const snapshot = (): DocpartData => ({
    orders: sortedOrders().map(clone),
    items: [...itemsById.values()].sort((a, b) => a.item_id - b.item_id).map(clone),
    users: [...users.values()].sort((a, b) => a.user_id - b.user_id).map(clone),
    payments: sortedPayments().map(clone),
    articles: clone(articleSource),
  });

  return {
    url: server.url,
    data: snapshot,
    hold: server.hold,
    inHand: server.inHand,
    updateOrder(orderId, patch) {
      const o = orders.get(orderId);
      if (!o) throw new Error(`fake docpart: no order ${orderId}`);
      if (patch.status !== undefined) {
        if (!Number.isSafeInteger(patch.status)) throw new Error(`fake docpart: bad status ${patch.status}`);
        o.status = patch.status;
      }
      if (patch.paid !== undefined) o.paid = checkPaid(patch.paid);
      return clone(o);
    },
    updateItem(itemId, patch) {
      const it = itemsById.get(itemId);
      if (!it) throw new Error(`fake docpart: no item ${itemId}`);
      if (patch.count !== undefined) {
        if (!Number.isSafeInteger(patch.count) || patch.count < 0) throw new Error(`fake docpart: bad count ${patch.count}`);
        it.count = patch.count;
      }
      if (patch.price !== undefined) it.price = normalizeMoney(patch.price, 'price');
      if (patch.status_id !== undefined) it.status_id = patch.status_id;
      if (patch.status_name !== undefined) it.status_name = patch.status_name;
      if (patch.count_flag !== undefined) {
        if (patch.count_flag !== 0 && patch.count_flag !== 1) throw new Error(`fake docpart: bad count_flag ${String(patch.count_flag)}`);
        it.count_flag = patch.count_flag;
      }
      return clone(it);
    },
    addOrder(order, items) {
      storeOrder(order, items);
    },
    addPayment(p) {
      storePayment(p);
    },
    requests: server.requests,
    clearRequests: server.clearRequests,
    setLatency: server.setLatency,
    failNext: server.failNext,
    setDown: server.setDown,
    stop: server.stop,
  };
}
