import type { Config } from '../../config/schema.ts';
import { DeliveryError } from '../../errors.ts';
import type { HttpClient, OutboundResponse } from '../../http/client.ts';
import { prop } from '../../unknown.ts';
import { parseMsk } from './msk.ts';

/**
 * The PayKeeper JSON API (reference/paykeeper.md): Basic auth of a cabinet user on every call;
 * GETs with query parameters; POSTs form-encoded with the security `token` from
 * `/info/settings/token/`. Errors are HTTP 200 `{"result":"fail","msg":…}`. The token is cached
 * in memory; a stale-token answer refreshes it once (concurrent refreshes share one request) and
 * the POST is retried once. Invoice ids are 17-digit strings and stay strings.
 */

export interface RemoteInvoice {
  id: string;
  status: string;
  amount: string | null;
  orderId: string | null;
  paymentId: string | null;
  paidAt: number | null;
  createdAt: number | null;
  url: string | null;
}

export interface CallContext {
  entity?: string;
  jobId?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const TOKEN_STALE = /Токен.*не\s*вер/i;
const NOT_FOUND = /не\s*найден/i;

export class PayKeeperClient {
  readonly #http: HttpClient;
  readonly #config: () => Config['paykeeper'];
  #token: TokenEntry | null = null;

  constructor(http: HttpClient, config: () => Config['paykeeper']) {
    this.#http = http;
    this.#config = config;
  }

  /** `/change/invoice/preview/`: a payable invoice (status created) → its id and link. */
  async preview(fields: Record<string, string>, ctx: CallContext = {}): Promise<{ invoiceId: string; invoiceUrl: string }> {
    const r = one(await this.#post('/change/invoice/preview/', fields, ctx));
    const id = idText(prop(r, 'invoice_id'));
    if (!id) throw new DeliveryError('retry', 'paykeeper_bad_answer', 'PayKeeper ответил без invoice_id', { status: 502 });
    const link = prop(r, 'invoice_url');
    const url = typeof link === 'string' && link ? link : `${this.#base()}/bill/${id}/`;
    return { invoiceId: id, invoiceUrl: url };
  }

  /** `/change/invoice/send/`: PayKeeper e-mails the invoice to the buyer. */
  async send(invoiceId: string, ctx: CallContext = {}): Promise<void> {
    success(await this.#post('/change/invoice/send/', { id: invoiceId }, ctx));
  }

  /** `/change/invoice/revoke/`: cancels an unpaid invoice. */
  async revoke(invoiceId: string, ctx: CallContext = {}): Promise<void> {
    success(await this.#post('/change/invoice/revoke/', { id: invoiceId }, ctx));
  }

  /** `/info/invoice/byid/`; null when PayKeeper does not know the id. */
  async byId(invoiceId: string, ctx: CallContext = {}): Promise<RemoteInvoice | null> {
    try {
      const r = one(await this.#get('/info/invoice/byid/', { id: invoiceId }, ctx));
      if (typeof r !== 'object' || r === null) return null; // an empty array: no such invoice
      if (typeof prop(r, 'status') !== 'string') throw new DeliveryError('retry', 'paykeeper_bad_answer', `PayKeeper ответил о счёте ${invoiceId} без статуса`, { status: 502 });
      return remoteInvoice({ id: invoiceId, ...r }, this.#base());
    } catch (e) {
      if (e instanceof DeliveryError && e.code === 'paykeeper_not_found') return null;
      throw e;
    }
  }

  /** `/info/invoice/search/` by order number within a date range (how a create whose answer was lost is found). */
  async findByOrder(orderId: string, range: { from: string; to: string }, ctx: CallContext = {}): Promise<RemoteInvoice[]> {
    const r = await this.#get('/info/invoice/search/', { query: orderId, start_date: range.from, end_date: range.to }, ctx);
    const list = Array.isArray(r) ? r : r && typeof r === 'object' ? [r] : [];
    return list
      .filter((x): x is object => typeof x === 'object' && x !== null)
      .map((x) => remoteInvoice(x, this.#base()))
      .filter((x) => x.orderId === orderId);
  }

  /** Fetches a token (used by `sputnik check` and "test connection": proves the login and password). */
  async checkCredentials(ctx: CallContext = {}): Promise<void> {
    this.#token = null;
    await this.#currentToken(ctx);
  }

  #base(): string {
    return (this.#config().baseUrl ?? '').replace(/\/+$/, '');
  }

  #headers(): Record<string, string> {
    const cfg = this.#config();
    return {
      Authorization: `Basic ${Buffer.from(`${cfg.user ?? ''}:${cfg.password ?? ''}`, 'utf8').toString('base64')}`,
      Accept: 'application/json',
    };
  }

  async #get(path: string, query: Record<string, string>, ctx: CallContext): Promise<unknown> {
    const qs = new URLSearchParams(query).toString();
    return this.#http.call(
      {
        system: 'paykeeper',
        method: 'GET',
        url: `${this.#base()}${path}${qs ? `?${qs}` : ''}`,
        headers: this.#headers(),
        entity: ctx.entity,
        jobId: ctx.jobId,
        signal: ctx.signal,
        timeoutMs: ctx.timeoutMs,
      },
      (res) => answerOf(res, path),
    );
  }

  async #post(path: string, fields: Record<string, string>, ctx: CallContext): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.#currentToken(ctx);
      try {
        // Judged where it is journaled: PayKeeper's `result: fail` in a 200 answer is a failed exchange.
        return await this.#http.call(
          {
            system: 'paykeeper',
            method: 'POST',
            url: `${this.#base()}${path}`,
            headers: { ...this.#headers(), 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
            // URLSearchParams encodes `+`, `&`, `=`, Cyrillic; the token goes last, like the SDKs append it.
            body: new URLSearchParams({ ...fields, token }).toString(),
            entity: ctx.entity,
            jobId: ctx.jobId,
            signal: ctx.signal,
            timeoutMs: ctx.timeoutMs,
          },
          (res) => answerOf(res, path),
        );
      } catch (e) {
        if (!(e instanceof DeliveryError) || e.code !== 'paykeeper_token_stale') throw e;
        if (attempt > 0) throw new DeliveryError('retry', 'paykeeper_token_stale', 'PayKeeper не принимает свежий токен безопасности. Спутник повторит позже сам', { status: 502 });
        this.#invalidate(token);
      }
    }
  }

  /** The cached token, fetched once for everyone waiting on it; a new login or password means a new token. */
  #currentToken(ctx: CallContext): Promise<string> {
    const cfg = this.#config();
    const who = `${cfg.baseUrl}\u0000${cfg.user}\u0000${cfg.password}`;
    if (this.#token && this.#token.who === who) return this.#token.promise;
    const entry: TokenEntry = {
      who,
      promise: this.#get('/info/settings/token/', {}, ctx).then((r) => {
        const t = tokenOf(r);
        if (!t) throw new DeliveryError('retry', 'paykeeper_bad_answer', 'PayKeeper не выдал токен безопасности', { status: 502 });
        entry.value = t;
        return t;
      }),
    };
    entry.promise.catch(() => {
      if (this.#token === entry) this.#token = null; // the next call tries again
    });
    this.#token = entry;
    return entry.promise;
  }

  /** Forget `stale` — unless it was already replaced: then everyone uses the one fresh token. */
  #invalidate(stale: string): void {
    if (this.#token?.value === stale) this.#token = null;
  }
}

interface TokenEntry {
  who: string;
  promise: Promise<string>;
  value?: string;
}

/** Big integers (17-digit ids) quoted before JSON.parse: a float cannot hold them. */
export function parseLossless(text: string): unknown {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

/** An answer's JSON, or the error it means. */
export function answerOf(res: OutboundResponse, path: string): unknown {
  const text = res.text.replace(/^\uFEFF/, '');
  let body: unknown;
  let json = true;
  try {
    body = text.trim() === '' ? undefined : parseLossless(text);
  } catch {
    json = false;
  }
  if (res.status === 401 || res.status === 403 || (res.status >= 300 && res.status < 400) || (!json && /type=["']?password|логин|авториз/i.test(text))) {
    throw new DeliveryError('auth', 'paykeeper_auth', 'PayKeeper не принял логин и пароль личного кабинета: впишите верные в «Настройках» Спутника. Отправка счетов приостановлена до этого', { status: 502 });
  }
  if (!json && /^[0-9a-f]{32}$/i.test(text.trim())) return text.trim(); // a bare token, as some installations answer
  if (!json || body === undefined) {
    const what = text.trim() === '' ? 'пустой ответ' : 'ответ не JSON';
    throw new DeliveryError('retry', 'paykeeper_unavailable', `PayKeeper недоступен: ${what} (HTTP ${res.status}). Спутник повторит сам`, { status: 502 });
  }
  if (res.status >= 500) throw new DeliveryError('retry', 'paykeeper_unavailable', `PayKeeper недоступен: ошибка на его стороне (HTTP ${res.status}). Спутник повторит сам`, { status: 502 });
  const first = one(body);
  if (prop(first, 'result') === 'fail') {
    const said = prop(first, 'msg');
    const msg = typeof said === 'string' ? said : 'без пояснения';
    if (Number(prop(first, 'error_code')) === 67 || TOKEN_STALE.test(msg)) throw new DeliveryError('retry', 'paykeeper_token_stale', `PayKeeper: ${msg}. Спутник возьмёт новый токен безопасности и повторит сам`, { status: 502 });
    if (NOT_FOUND.test(msg)) throw new DeliveryError('refused', 'paykeeper_not_found', `PayKeeper: ${msg}`, { status: 404 });
    throw new DeliveryError('refused', 'paykeeper_refused', `PayKeeper отказал: ${msg}. Исправьте данные счёта в 1С и отправьте его ещё раз`, { status: 422 });
  }
  if (res.status >= 400) throw new DeliveryError('retry', 'paykeeper_unavailable', `PayKeeper недоступен: HTTP ${res.status}. Спутник повторит сам`, { status: 502 });
  return body;
}

/** Single-entity answers come as an object or a one-element array. */
function one(body: unknown): unknown {
  return Array.isArray(body) ? body[0] : body;
}

function success(body: unknown): void {
  if (prop(one(body), 'result') !== 'success') throw new DeliveryError('retry', 'paykeeper_bad_answer', 'PayKeeper не подтвердил операцию. Спутник повторит сам', { status: 502 });
}

function tokenOf(body: unknown): string | null {
  if (typeof body === 'string') return /^[0-9a-f]{16,}$/i.test(body.trim()) ? body.trim() : null;
  const token = prop(one(body), 'token');
  return typeof token === 'string' && token ? token : null;
}

function idText(v: unknown): string | null {
  if (typeof v === 'string' && v) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return null;
}

/** An invoice in an answer: its fields read one by one, a missing one as absent. */
function remoteInvoice(r: object, base: string): RemoteInvoice {
  const id = idText(prop(r, 'id')) ?? '';
  const payAmount = prop(r, 'pay_amount');
  const amount = payAmount === null || payAmount === undefined ? null : String(payAmount);
  const status = prop(r, 'status');
  const orderId = prop(r, 'orderid');
  const paymentId = prop(r, 'paymentid');
  return {
    id,
    status: typeof status === 'string' ? status : 'unknown',
    amount,
    orderId: orderId === null || orderId === undefined ? null : String(orderId),
    paymentId: paymentId === null || paymentId === undefined || paymentId === '' ? null : String(paymentId),
    paidAt: parseMsk(prop(r, 'paid_datetime')),
    createdAt: parseMsk(prop(r, 'created_datetime')),
    url: id ? `${base}/bill/${id}/` : null,
  };
}
