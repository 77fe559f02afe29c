import type { Config } from '../../config/schema.ts';
import { DeliveryError } from '../../errors.ts';
import type { HttpClient, OutboundResponse } from '../../http/client.ts';
import { moscowWall } from '../../time/moscow.ts';
import { isRecord, prop } from '../../unknown.ts';
import { bool, int, money, text, unixTime } from './values.ts';

/**
 * The Docpart "1C API" module (reference/docpart.md): one `POST <site><path>` per task, a
 * form-urlencoded body with `task` and `tech_key` first and arrays as repeated `name[]=`,
 * an answer `{status, message, data}` (status true/1/"1"; `Data` on some versions) that may be
 * preceded by a BOM or a PHP notice. PHP silently drops form fields past `max_input_vars`, so id
 * lists go in chunks and every chunk's answer is checked for what is missing.
 */

export interface Order {
  orderId: number;
  time: number;
  userId: number;
  status: number;
  paid: number;
  amount: string;
  obtainId: number;
  obtainCaption: string;
  officeId: number;
  officeName: string;
}

export interface OrderItem {
  itemId: number;
  orderId: number;
  productType: number;
  productId: number | null;
  productName: string;
  brand: string;
  article: string;
  count: number;
  price: string;
  amount: string;
  statusId: number;
  statusName: string;
  termDays: number | null;
  guaranteedTermDays: number | null;
}

export type User = { userId: number; regVariant: number; regField: string; unlocked: boolean; activated: boolean; timeRegistered: number | null; timeLastVisit: number | null; fields: Record<string, string> };

export interface Payment {
  paymentId: number;
  userId: number;
  time: number;
  income: boolean;
  orderId: number;
  amount: string;
  operationCode: number;
}

export interface ArticleInfo {
  manufacturer: string;
  name: string;
}

const USER_FIXED = new Set(['user_id', 'reg_variant', 'reg_field', 'unlocked', 'activated', 'time_registered', 'time_last_visit']);

export class DocpartClient {
  readonly #http: HttpClient;
  readonly #config: () => Config['docpart'];
  /** Ids per request: well under PHP's default max_input_vars (1000); halved for good when a drop is seen. */
  #chunk = 200;

  constructor(http: HttpClient, config: () => Config['docpart']) {
    this.#http = http;
    this.#config = config;
  }

  async checkConnection(): Promise<void> {
    await this.#call('check_connection', {});
  }

  /** Orders created from the day of `fromMs` (to the day of `toMs`, when given): the API filters by creation time only. */
  async orders(fromMs: number, signal?: AbortSignal, toMs?: number): Promise<Order[]> {
    const data = await this.#call('get_orders', { time_from: shopDay(fromMs), ...(toMs === undefined ? {} : { time_to: shopDay(toMs) }) }, signal);
    return list(data).map((o) => ({
      orderId: int(prop(o, 'order_id')),
      time: unixTime(prop(o, 'time')) ?? 0,
      userId: int(prop(o, 'user_id')),
      status: int(prop(o, 'status')),
      paid: int(prop(o, 'paid')),
      amount: money(prop(o, 'amount')),
      obtainId: int(prop(o, 'obtain_id')),
      obtainCaption: text(prop(o, 'obtain_caption')),
      officeId: int(prop(o, 'office_id')),
      officeName: text(prop(o, 'office_name')),
    }));
  }

  /**
   * Lines of the given orders. Every order has lines: one that comes back without any was cut off
   * by the server's input cap (or really has none, which a request for it alone then shows).
   */
  async items(orderIds: number[], signal?: AbortSignal): Promise<Map<number, OrderItem[]>> {
    const out = new Map<number, OrderItem[]>();
    await this.#chunked(
      orderIds,
      async (ids) => {
        const data = await this.#call('get_orders_items', { order_id: ids }, signal);
        for (const raw of list(data)) {
          const it = toItem(raw);
          let lines = out.get(it.orderId);
          if (!lines) out.set(it.orderId, (lines = []));
          lines.push(it);
        }
        return ids.filter((id) => !out.has(id)); // every order has lines: none back means the request was cut
      },
    );
    for (const id of orderIds) if (!out.has(id)) out.set(id, []);
    for (const lines of out.values()) lines.sort((a, b) => a.itemId - b.itemId);
    return out;
  }

  /** Registration data of the given users; a user asked for and not returned is asked again on its own. */
  async users(ids: number[], signal?: AbortSignal): Promise<Map<number, User>> {
    const out = new Map<number, User>();
    await this.#chunked(ids, async (chunk) => {
      const data = await this.#call('get_user_info', { user_id: chunk }, signal);
      // A list of users, or one user's object; a row that is not an object says nothing of anyone.
      for (const raw of Array.isArray(data) ? list(data) : data && typeof data === 'object' ? [data] : []) {
        const u = toUser(raw);
        out.set(u.userId, u);
      }
      return chunk.filter((id) => !out.has(id));
    });
    return out;
  }

  async payments(fromMs: number, signal?: AbortSignal): Promise<Payment[]> {
    const data = await this.#call('get_payments', { time_from: shopDay(fromMs) }, signal);
    return list(data).map((p) => ({
      paymentId: int(prop(p, 'payment_id')),
      userId: int(prop(p, 'user_id')),
      time: unixTime(prop(p, 'time')) ?? 0,
      income: bool(prop(p, 'income')),
      orderId: int(prop(p, 'pay_orders')),
      amount: money(prop(p, 'amount')),
      operationCode: int(prop(p, 'operation_code')),
    }));
  }

  /** Manufacturers and names for an article from Docpart's cross server; empty = unknown article. */
  async article(article: string, signal?: AbortSignal): Promise<ArticleInfo[]> {
    const data = await this.#call('get_article_info', { article }, signal, 30_000);
    return list(data).map((a) => ({ manufacturer: text(prop(a, 'manufacturer')), name: text(prop(a, 'name')) }));
  }

  /**
   * Runs `fetch` over `ids` in chunks; it returns the ids whose answer looks cut off. Those are
   * asked again in halves, down to one id per request (which no input cap can cut).
   */
  async #chunked(ids: number[], fetch: (ids: number[]) => Promise<number[]>): Promise<void> {
    let queue = [...ids];
    let size = this.#chunk;
    while (queue.length > 0) {
      const missing: number[] = [];
      for (let i = 0; i < queue.length; i += size) {
        const chunk = queue.slice(i, i + size);
        const lost = await fetch(chunk);
        if (chunk.length > 1) missing.push(...lost);
      }
      if (missing.length === 0) return;
      size = Math.max(1, Math.floor(size / 2));
      this.#chunk = Math.min(this.#chunk, Math.max(size, 10)); // remember: this server cuts long forms
      queue = missing;
    }
  }

  async #call(task: string, params: Record<string, string | number | Array<string | number>>, signal?: AbortSignal, timeoutMs?: number): Promise<unknown> {
    const cfg = this.#config();
    const form = new URLSearchParams({ task, tech_key: cfg.techKey ?? '' });
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) for (const x of v) form.append(`${k}[]`, String(x));
      else form.append(k, String(v));
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8', Accept: 'application/json' };
    if (cfg.basicAuth.user) headers.Authorization = `Basic ${Buffer.from(`${cfg.basicAuth.user}:${cfg.basicAuth.password}`, 'utf8').toString('base64')}`;
    // Judged where it is journaled: a PHP error page or `status: false` in a 200 answer is a failed exchange.
    return this.#http.call(
      {
        system: 'docpart',
        method: 'POST',
        url: `${(cfg.baseUrl ?? '').replace(/\/+$/, '')}${cfg.path}`,
        headers,
        body: form.toString(),
        entity: `docpart:${task}`,
        signal,
        timeoutMs,
      },
      (res) => dataOf(res, task),
    );
  }
}

const TASKS: Readonly<Record<string, string>> = {
  check_connection: 'проверку связи',
  get_orders: 'запрос заказов',
  get_orders_items: 'запрос строк заказов',
  get_user_info: 'запрос покупателей',
  get_payments: 'запрос платежей',
  get_article_info: 'запрос артикула',
};

/** A PHP error printed instead of the answer (display_errors on): «Fatal error», «Parse error», an uncaught exception. */
const PHP_ERROR = /<b>(?:Fatal error|Parse error|Warning|Catchable fatal error)<\/b>|(?:^|\n)(?:PHP )?(?:Fatal error|Parse error):|Uncaught \w*(?:Exception|Error)/;

/** The answer's data, or the error it means, in staff wording (the page itself is journaled). */
export function dataOf(res: OutboundResponse, task: string): unknown {
  if (res.status === 401 || res.status === 403) {
    throw new DeliveryError('auth', 'docpart_auth', `Сайт Docpart не пустил Спутник (HTTP ${res.status}): впишите верные логин и пароль HTTP-авторизации в «Настройках» Спутника`, { status: 502 });
  }
  const body = parseAnswer(res.text);
  const what = TASKS[task] ?? task;
  if (body === undefined) {
    if (PHP_ERROR.test(res.text)) {
      throw new DeliveryError('retry', 'docpart_php_error', `Сайт Docpart ответил на ${what} страницей ошибки PHP вместо данных: это сбой на сайте — сообщите его администратору (текст ошибки — в «Подробнее»). Спутник повторит сам`, { status: 502 });
    }
    const page = res.text.trim() === '' ? 'пустым ответом' : 'не JSON, а веб-страницей';
    throw new DeliveryError('retry', 'docpart_unavailable', `Сайт Docpart ответил на ${what} ${page} (HTTP ${res.status}): сайт или модуль «1С API» сейчас не работает. Спутник повторит сам`, { status: 502 });
  }
  if (!bool(body.status)) {
    const msg = text(body.message) || 'без пояснения';
    if (/key|ключ/i.test(msg)) throw new DeliveryError('auth', 'docpart_auth', `Docpart не принял технический ключ: впишите ключ из настроек модуля «1С API» сайта в «Настройки» Спутника`, { status: 502 });
    throw new DeliveryError('retry', 'docpart_refused', `Docpart ответил ошибкой на ${what}: «${msg}». Спутник повторит сам; если ошибка держится, сообщите её администратору сайта`, { status: 502 });
  }
  return body.data ?? body.Data ?? [];
}

/** The JSON object in the answer: after a BOM, or after a PHP notice printed before it. */
export function parseAnswer(raw: string): Record<string, unknown> | undefined {
  const s = raw.replace(/^\uFEFF/, '').trim();
  const tryParse = (t: string) => {
    try {
      const v: unknown = JSON.parse(t);
      return isRecord(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const direct = tryParse(s);
  if (direct) return direct;
  // A notice ("<br />\n<b>Notice</b>: …") before the JSON: the answer starts at the last line that opens an object.
  for (let i = s.indexOf('{'); i >= 0; i = s.indexOf('{', i + 1)) {
    if (i > 0 && s[i - 1] !== '\n' && s[i - 1] !== '>') continue;
    const v = tryParse(s.slice(i));
    if (v) return v;
  }
  return undefined;
}

/** The rows of a list answer: its objects (their fields read with `prop`, a missing one as absent). */
function list(data: unknown): object[] {
  return Array.isArray(data) ? data.filter((x): x is object => typeof x === 'object' && x !== null) : [];
}

function shopDay(ms: number): string {
  const d = moscowWall(ms);
  return `${String(d.getUTCDate()).padStart(2, '0')}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${d.getUTCFullYear()}`;
}

function toItem(r: object): OrderItem {
  const orNull = (v: unknown) => (v === null || v === undefined || v === '' ? null : int(v));
  return {
    itemId: int(prop(r, 'item_id')),
    orderId: int(prop(r, 'order_id')),
    productType: int(prop(r, 'product_type')),
    productId: orNull(prop(r, 'product_id')),
    productName: text(prop(r, 'product_name')),
    brand: text(prop(r, 'brand')),
    article: text(prop(r, 'article')),
    count: int(prop(r, 'count')),
    price: money(prop(r, 'price')),
    amount: money(prop(r, 'amount')),
    statusId: int(prop(r, 'status_id')),
    statusName: text(prop(r, 'status_name')),
    termDays: orNull(prop(r, 't2_time_to_exe')),
    guaranteedTermDays: orNull(prop(r, 't2_time_to_exe_guaranteed')),
  };
}

function toUser(r: object): User {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (!USER_FIXED.has(k)) fields[k] = text(v);
  return {
    userId: int(prop(r, 'user_id')),
    regVariant: int(prop(r, 'reg_variant')),
    regField: text(prop(r, 'reg_field')),
    unlocked: bool(prop(r, 'unlocked')),
    activated: bool(prop(r, 'activated')),
    timeRegistered: unixTime(prop(r, 'time_registered')),
    timeLastVisit: unixTime(prop(r, 'time_last_visit')),
    fields,
  };
}
