/**
 * A fake PayKeeper JSON-API server (`https://NAME.server.paykeeper.ru`) for honest tests and the sandbox.
 *
 * Built on node:http only so the wire behaviour is under our control byte for byte.
 * Fidelity notes (see shared/reference/paykeeper.md):
 * - CONFIRMED by public SDKs: Basic auth of a ЛК user on every request; `GET /info/settings/token/`;
 *   every POST form-urlencoded with a `token` field; the stale-token body byte for byte (with and
 *   without `"error_code":67`, test/fixtures/conformance/paykeeper/); errors as HTTP 200
 *   `{"result":"fail","msg":…}`; `{"result":"success"}`; 17-digit string invoice ids; statuses
 *   created/sent/paid/expired; `paymentid` null until paid; byid field names; `Счёт не найден.`;
 *   payments/byid as a one-element array; PHP json_encode escaping (`\uXXXX`, `\/`).
 * - ASSUMED (real behaviour unknown; switches where it matters): token/byid/success wrapping,
 *   bad-credential answers, expiry and end_date boundaries, what a revoked invoice looks like,
 *   every Russian message other than the two above, accept-cash, search matching (orderid
 *   substring), list order (creation order), listcount shape, that missing list dates mean
 *   "unbounded", the plain-token content type, 404 for paths without the trailing slash.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { newPhpFormMap, parsePhpForm, type PhpFormMap } from '../passteam/php-form.ts';
import { NGINX_502_HTML, phpJsonEncode, startFakeServer, type FakeHold, type FakeLogOptions, type FakeReply, type FakeRequest } from '../fake-server.ts';
import { DAY_MS, mskDate, mskDateTime, mskIdDigits, parseMsk } from './msk.ts';

type InvoiceStatus = 'created' | 'sent' | 'paid' | 'expired';

export interface FakePayKeeperOptions extends FakeLogOptions {
  /** Basic-auth login, default 'sputnik'. */
  user?: string;
  /** Default 'pk-password'. */
  password?: string;
  host?: string;
  port?: number;
  /** How wrong/missing Basic credentials are answered: 'html401' (default: HTTP 401 + HTML page), 'html200' (HTTP 200 + HTML login page), 'redirect303' (303 Location: /login/ + HTML). */
  badAuth?: 'html401' | 'html200' | 'redirect303';
  /** {"token":"…"} (default) | [{"token":"…"}] | bare 32-hex text. */
  tokenShape?: 'object' | 'array' | 'plain';
  /** Stale-token fail includes "error_code":67 (default true). */
  tokenErrorCode?: boolean;
  /** /info/invoice/byid/ answer: object (default) or one-element array. */
  byidShape?: 'object' | 'array';
  /** {"result":"success"} (default) or [{"result":"success"}]. */
  successShape?: 'object' | 'array';
  /** PayKeeper's `expiry` is exclusive (default): an invoice with expiry 2026-12-01 is payable until 2026-11-30 23:59:59 MSK and becomes 'expired' at 2026-12-01 00:00:00 MSK. 'inclusive': payable through the whole expiry day. */
  expiry?: 'exclusive' | 'inclusive';
  /** /info/invoice/list/ end_date inclusive (default) or exclusive. */
  listEndDate?: 'inclusive' | 'exclusive';
  /** What byid says about a revoked invoice (real behaviour unknown): 'expired' (default: status expired) or 'notFound' ("Счёт не найден."). */
  revokedAs?: 'expired' | 'notFound';
  latencyMs?: number;
  /** Start of the fake's clock (ms epoch, default Date.now()); the clock then runs with real time plus advanceClock() offsets. */
  now?: number;
  seedInvoices?: Array<{
    orderid: string;
    pay_amount: string;
    status: InvoiceStatus;
    clientid?: string;
    client_email?: string;
    client_phone?: string;
    service_name?: string;
    /** YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (MSK) */
    expiry?: string;
    /** ms */
    created?: number;
    paymentid?: number;
    /** ms */
    paid?: number;
  }>;
}

export interface FakeInvoice {
  /** 17 digits, YYYYMMDDhhmmss (MSK) + 3 digits, unique. */
  id: string;
  status: InvoiceStatus;
  revoked: boolean;
  /** As stored, "1234.50". */
  pay_amount: string;
  clientid: string | null;
  orderid: string | null;
  service_name: string | null;
  client_email: string | null;
  client_phone: string | null;
  /** What was sent ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'). */
  expiry: string | null;
  createdAt: number;
  paidAt: number | null;
  paymentid: number | null;
  /** How many times /send/ e-mailed it. */
  sentCount: number;
}

export type FakePayKeeperRequest = FakeRequest;

export type FakePayKeeperFailure = 'http500' | 'http502-html' | 'html200' | 'empty200' | 'reset' | 'hang' | 'processed-then-reset';

export interface FakePayKeeper {
  /** http://127.0.0.1:PORT (paths as PayKeeper's: /info/settings/token/ …). */
  url: string;
  /** Copies, in creation order. */
  invoices(): FakeInvoice[];
  /** Every request received (while not down), in order, including ones hit by injected failures. */
  requests(): FakePayKeeperRequest[];
  clearRequests(): void;
  /** The currently valid token. */
  token(): string;
  /** Issues a new token now (the 24 h rotation, or a forced expiry mid-test): POSTs with the old one get the stale-token fail. */
  rotateToken(): void;
  /** The buyer paid: status 'paid', paymentid (given or next small integer), paid_datetime = the fake's now. Throws for an unknown id or a revoked/expired invoice. */
  pay(invoiceId: string, opts?: { paymentId?: number }): FakeInvoice;
  /** Moves the fake's clock; invoices whose expiry has passed (per the `expiry` switch) become 'expired'. Token rotates every 24 h of fake time. */
  advanceClock(ms: number): void;
  now(): number;
  setLatency(ms: number): void;
  /** Applies `kind` to the next `count` requests, then normal again (calls queue up). */
  failNext(count: number, kind: FakePayKeeperFailure): void;
  /** While down every connection (new or kept alive) is reset immediately. */
  setDown(down: boolean): void;
  /** A gate for crash tests: see FakeServer.hold. */
  hold(match?: (req: FakeRequest) => boolean): FakeHold;
  /** Requests received and not answered yet. */
  inHand(): number;
  stop(): Promise<void>;
}

export const MSG_TOKEN_INVALID = 'Токен безопасности не верен.';
export const MSG_INVOICE_NOT_FOUND = 'Счёт не найден.';
// ASSUMED texts (real ones unknown): clients must not match on them.
export const MSG_BAD_AMOUNT = 'Неверно указана сумма счёта.';
export const MSG_BAD_EXPIRY = 'Неверный формат срока действия счёта.';
export const MSG_EXPIRY_PAST = 'Срок действия счёта должен быть в будущем.';
export const MSG_ALREADY_PAID = 'Счёт уже оплачен.';
export const MSG_EXPIRED = 'Срок действия счёта истёк.';
export const MSG_REVOKE_PAID = 'Нельзя отменить оплаченный счёт.';
export const MSG_REVOKE_EXPIRED = 'Нельзя отменить просроченный счёт.';
export const MSG_BAD_DATE = 'Неверный формат даты.';

export const TOKEN_ERROR_CODE = 67;
export const LIST_DEFAULT_LIMIT = 100;
const USER_ID = '1';

const html = (title: string, body: string): string =>
  `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n${body}\r\n</body>\r\n</html>\r\n`;
export const NGINX_404_HTML = html('404 Not Found', '<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>');
export const NGINX_500_HTML = html('500 Internal Server Error', '<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>');
export const NGINX_401_HTML = html('401 Authorization Required', '<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>');
export const LOGIN_PAGE_HTML =
  '<!DOCTYPE html>\n<html lang="ru">\n<head><meta charset="utf-8"><title>PayKeeper — вход в личный кабинет</title></head>\n<body>\n' +
  '<form method="post" action="/login/"><input name="login"><input name="password" type="password"><button>Войти</button></form>\n</body>\n</html>\n';
export const MAINTENANCE_HTML =
  '<!DOCTYPE html>\n<html lang="ru">\n<head><meta charset="utf-8"><title>Технические работы</title></head>\n<body><h1>Ведутся технические работы</h1></body>\n</html>\n';

type Reply = FakeReply;

interface StoredInvoice extends FakeInvoice {
  /** Fake-clock moment the invoice stops being payable (per the `expiry` switch); null = never. */
  expiresAt: number | null;
}

/** "1234.5" → "1234.50"; null unless a positive decimal with a dot and at most 2 decimals. */
export function normalizeAmount(raw: string): string | null {
  const m = /^([0-9]+)(?:\.([0-9]{1,2}))?$/.exec(raw);
  if (!m) return null;
  const int = m[1].replace(/^0+(?=[0-9])/, '');
  const frac = (m[2] ?? '').padEnd(2, '0');
  if (/^0+$/.test(int + frac)) return null;
  return `${int}.${frac}`;
}

function escapeHtml(s: string): string {
  // & first, so the entities put in by the later ones stay as they are.
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A string field as PHP would see it; arrays (`f[]=…`) and absent fields → null. */
function str(map: PhpFormMap, key: string): string | null {
  const v = map[key];
  return typeof v === 'string' ? v : null;
}

export async function startFakePayKeeper(opts: FakePayKeeperOptions = {}): Promise<FakePayKeeper> {
  const user = opts.user ?? 'sputnik';
  const password = opts.password ?? 'pk-password';
  const badAuth = opts.badAuth ?? 'html401';
  const tokenShape = opts.tokenShape ?? 'object';
  const tokenErrorCode = opts.tokenErrorCode ?? true;
  const byidShape = opts.byidShape ?? 'object';
  const successShape = opts.successShape ?? 'object';
  const expiryMode = opts.expiry ?? 'exclusive';
  const listEndDate = opts.listEndDate ?? 'inclusive';
  const revokedAs = opts.revokedAs ?? 'expired';

  const invoices = new Map<string, StoredInvoice>();
  const payments = new Map<number, string>(); // paymentid → invoice id
  const usedIds = new Set<string>();
  let baseUrl = '';

  // The clock runs with real time so polling clients see time pass; advanceClock() adds on top.
  const realStart = Date.now();
  const clockStart = opts.now ?? realStart;
  let offset = 0;
  const now = (): number => clockStart + (Date.now() - realStart) + offset;

  const newToken = (): string => randomBytes(16).toString('hex');
  let token = newToken();
  let tokenIssuedAt = now();
  const currentToken = (): string => {
    const t = now();
    if (t - tokenIssuedAt >= DAY_MS) {
      let fresh = newToken();
      while (fresh === token) fresh = newToken();
      token = fresh;
      tokenIssuedAt += Math.floor((t - tokenIssuedAt) / DAY_MS) * DAY_MS;
    }
    return token;
  };

  // Expiry sweep is lazy: only walk the invoices when the earliest pending expiry has passed.
  let nextExpiry = Infinity;
  const tick = (): void => {
    const t = now();
    if (t < nextExpiry) return;
    nextExpiry = Infinity;
    for (const inv of invoices.values()) {
      if (inv.revoked || inv.expiresAt === null || (inv.status !== 'created' && inv.status !== 'sent')) continue;
      if (t >= inv.expiresAt) inv.status = 'expired';
      else nextExpiry = Math.min(nextExpiry, inv.expiresAt);
    }
  };

  /** Moment the invoice stops being payable: exclusive = at the given moment; inclusive = after the whole day / second. */
  const expiresAtOf = (parsed: { ms: number; dateOnly: boolean }): number =>
    expiryMode === 'exclusive' ? parsed.ms : parsed.ms + (parsed.dateOnly ? DAY_MS : 1000);

  // Id = MSK creation time to the millisecond; bumped forward by 1 ms on collision, so ids stay
  // 17 digits, unique and increasing even for thousands of invoices per second.
  let lastLiveIdMs = -Infinity;
  const freshId = (createdAt: number, live: boolean): string => {
    let t = live ? Math.max(createdAt, lastLiveIdMs + 1) : createdAt;
    let id = mskIdDigits(t);
    while (usedIds.has(id)) id = mskIdDigits(++t);
    if (live) lastLiveIdMs = t;
    usedIds.add(id);
    return id;
  };

  let nextPaymentId = 1;
  const markPaid = (inv: StoredInvoice, paymentId?: number): void => {
    let pid = paymentId;
    if (pid === undefined) {
      while (payments.has(nextPaymentId)) nextPaymentId++;
      pid = nextPaymentId++;
    } else if (!Number.isSafeInteger(pid) || pid <= 0 || payments.has(pid)) {
      throw new Error(`fake paykeeper: payment id ${pid} is invalid or taken`);
    }
    payments.set(pid, inv.id);
    inv.status = 'paid';
    inv.paymentid = pid;
    inv.paidAt = now();
  };

  const addInvoice = (inv: StoredInvoice): void => {
    invoices.set(inv.id, inv);
    if (inv.expiresAt !== null) nextExpiry = Math.min(nextExpiry, inv.expiresAt);
  };

  for (const seed of opts.seedInvoices ?? []) {
    const amount = normalizeAmount(seed.pay_amount);
    if (amount === null) throw new Error(`fake paykeeper seed: bad pay_amount ${seed.pay_amount}`);
    const parsed = seed.expiry === undefined ? null : parseMsk(seed.expiry);
    if (seed.expiry !== undefined && parsed === null) throw new Error(`fake paykeeper seed: bad expiry ${seed.expiry}`);
    const createdAt = seed.created ?? now();
    const inv: StoredInvoice = {
      id: freshId(createdAt, false),
      status: seed.status,
      revoked: false,
      pay_amount: amount,
      clientid: seed.clientid ?? null,
      orderid: seed.orderid,
      service_name: seed.service_name ?? null,
      client_email: seed.client_email ?? null,
      client_phone: seed.client_phone ?? null,
      expiry: seed.expiry ?? null,
      createdAt,
      paidAt: null,
      paymentid: null,
      sentCount: seed.status === 'sent' ? 1 : 0,
      expiresAt: parsed === null ? null : expiresAtOf(parsed),
    };
    if (seed.status === 'paid') {
      markPaid(inv, seed.paymentid);
      inv.paidAt = seed.paid ?? createdAt;
    }
    addInvoice(inv);
  }

  // ---- wire shapes ----

  const json = (value: unknown): Reply => ({ status: 200, contentType: 'application/json', body: phpJsonEncode(value) });
  const fail = (msg: string, errorCode?: number): Reply => json(errorCode === undefined ? { result: 'fail', msg } : { result: 'fail', msg, error_code: errorCode });
  const success = (): Reply => json(successShape === 'array' ? [{ result: 'success' }] : { result: 'success' });
  const tokenFail = (): Reply => fail(MSG_TOKEN_INVALID, tokenErrorCode ? TOKEN_ERROR_CODE : undefined);
  const notFound = (): Reply => fail(MSG_INVOICE_NOT_FOUND);

  /** Visible to the API: a revoked invoice is 'expired' or gone, per the switch. */
  const lookup = (id: string | null): StoredInvoice | undefined => {
    const inv = id === null ? undefined : invoices.get(id);
    if (!inv || (inv.revoked && revokedAs === 'notFound')) return undefined;
    return inv;
  };
  const wireStatus = (inv: StoredInvoice): InvoiceStatus => (inv.revoked ? 'expired' : inv.status);

  /** Date-only expiries are written at midnight: what was sent, not the switch's flip moment. */
  const expiryDatetime = (inv: StoredInvoice): string | null => (inv.expiry === null ? null : inv.expiry.length === 10 ? `${inv.expiry} 00:00:00` : inv.expiry);

  const invoiceRow = (inv: StoredInvoice) => ({
    id: inv.id,
    user_id: USER_ID,
    status: wireStatus(inv),
    pay_amount: inv.pay_amount,
    clientid: inv.clientid,
    orderid: inv.orderid,
    paymentid: inv.paymentid,
    service_name: inv.service_name,
    client_email: inv.client_email,
    client_phone: inv.client_phone,
    expiry_datetime: expiryDatetime(inv),
    created_datetime: mskDateTime(inv.createdAt),
    paid_datetime: inv.paidAt === null ? null : mskDateTime(inv.paidAt),
    user_login: user,
  });

  const invoiceHtml = (inv: StoredInvoice, url: string): string =>
    `<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Счёт № ${inv.id}</title></head><body>` +
    `<h1>Счёт на оплату № ${inv.id}</h1><p>Сумма: ${inv.pay_amount} руб.</p>` +
    (inv.service_name === null ? '' : `<p>Услуга: ${escapeHtml(inv.service_name)}</p>`) +
    `<p><a href="${url}">Оплатить</a></p></body></html>`;

  /** Period/status filter shared by list, listcount and search; a string is a fail message. */
  const filterInvoices = (params: PhpFormMap): StoredInvoice[] | string => {
    const start = str(params, 'start_date') ?? '';
    const end = str(params, 'end_date') ?? '';
    for (const d of [start, end]) if (d !== '' && parseMsk(d)?.dateOnly !== true) return MSG_BAD_DATE;
    const raw = params.status;
    const statuses = typeof raw === 'string' ? [raw] : typeof raw === 'object' ? Object.values(raw).filter((v): v is string => typeof v === 'string') : [];
    const out: StoredInvoice[] = [];
    for (const inv of invoices.values()) {
      if (lookup(inv.id) === undefined) continue;
      const day = mskDate(inv.createdAt);
      if (start !== '' && day < start) continue;
      if (end !== '' && (listEndDate === 'inclusive' ? day > end : day >= end)) continue;
      if (statuses.length > 0 && !statuses.includes(wireStatus(inv))) continue;
      out.push(inv);
    }
    return out;
  };

  const intParam = (params: PhpFormMap, key: string, dflt: number): number => {
    const v = str(params, key);
    return v !== null && /^[0-9]+$/.test(v) ? Number(v) : dflt;
  };
  const page = (rows: StoredInvoice[], params: PhpFormMap): Reply => {
    const from = intParam(params, 'from', 0);
    const limit = intParam(params, 'limit', LIST_DEFAULT_LIMIT);
    return json(rows.slice(from, from + limit).map(invoiceRow));
  };

  // ---- endpoints ----

  type Handler = (params: PhpFormMap) => Reply;
  /** `post`: the endpoint only acts on a form POST (so a GET lacks the token and fails like PHP's empty $_POST). */
  /** send / revoke / accept-cash: an invoice that exists and is neither paid nor closed, then `act`. */
  const onOpenInvoice = (paidMsg: string, closedMsg: string, act: (inv: StoredInvoice) => void): { post: boolean; handler: Handler } => ({
    post: true,
    handler: (p) => {
      const inv = lookup(str(p, 'id'));
      if (!inv) return notFound();
      if (inv.status === 'paid') return fail(paidMsg);
      if (inv.revoked || inv.status === 'expired') return fail(closedMsg);
      act(inv);
      return success();
    },
  });

  const routes: Record<string, { post: boolean; handler: Handler }> = {
    '/info/settings/token/': {
      post: false,
      handler: () => {
        const t = currentToken();
        if (tokenShape === 'plain') return { status: 200, contentType: 'text/plain; charset=utf-8', body: t };
        return json(tokenShape === 'array' ? [{ token: t }] : { token: t });
      },
    },
    '/change/invoice/preview/': {
      post: true,
      handler: (p) => {
        const amount = normalizeAmount((str(p, 'pay_amount') ?? '').trim());
        if (amount === null) return fail(MSG_BAD_AMOUNT);
        const expiry = str(p, 'expiry') || null;
        let expiresAt: number | null = null;
        if (expiry !== null) {
          const parsed = parseMsk(expiry);
          if (parsed === null) return fail(MSG_BAD_EXPIRY);
          expiresAt = expiresAtOf(parsed);
          if (now() >= expiresAt) return fail(MSG_EXPIRY_PAST);
        }
        const createdAt = now();
        // No dedupe by orderid: PayKeeper creates a new invoice for every preview.
        const inv: StoredInvoice = {
          id: freshId(createdAt, true),
          status: 'created',
          revoked: false,
          pay_amount: amount,
          clientid: str(p, 'clientid'),
          orderid: str(p, 'orderid'),
          service_name: str(p, 'service_name'),
          client_email: str(p, 'client_email'),
          client_phone: str(p, 'client_phone'),
          expiry,
          createdAt,
          paidAt: null,
          paymentid: null,
          sentCount: 0,
          expiresAt,
        };
        addInvoice(inv);
        const url = `${baseUrl}/bill/${inv.id}/`;
        return json({ invoice_id: inv.id, invoice_url: url, invoice: invoiceHtml(inv, url) });
      },
    },
    '/change/invoice/send/': onOpenInvoice(MSG_ALREADY_PAID, MSG_EXPIRED, (inv) => {
      inv.status = 'sent';
      inv.sentCount++;
    }),
    '/change/invoice/revoke/': onOpenInvoice(MSG_REVOKE_PAID, MSG_REVOKE_EXPIRED, (inv) => {
      inv.revoked = true;
    }),
    '/change/invoice/accept-cash/': onOpenInvoice(MSG_ALREADY_PAID, MSG_EXPIRED, (inv) => markPaid(inv)),
    '/info/invoice/byid/': {
      post: false,
      handler: (p) => {
        const inv = lookup(str(p, 'id'));
        if (!inv) return notFound();
        return json(byidShape === 'array' ? [invoiceRow(inv)] : invoiceRow(inv));
      },
    },
    '/info/invoice/list/': {
      post: false,
      handler: (p) => {
        const rows = filterInvoices(p);
        return typeof rows === 'string' ? fail(rows) : page(rows, p);
      },
    },
    '/info/invoice/listcount/': {
      post: false,
      handler: (p) => {
        const rows = filterInvoices(p);
        if (typeof rows === 'string') return fail(rows);
        // Like SQL GROUP BY: only statuses that occur; counts are strings as PHP reads them from MySQL.
        const statuses = (['created', 'sent', 'paid', 'expired'] as const)
          .map((status) => ({ status, count: rows.filter((r) => wireStatus(r) === status).length }))
          .filter((s) => s.count > 0)
          .map((s) => ({ status: s.status, count: String(s.count) }));
        return json({ statuses, fullcount: [{ count: String(rows.length) }] });
      },
    },
    '/info/invoice/search/': {
      post: false,
      handler: (p) => {
        const rows = filterInvoices(p);
        if (typeof rows === 'string') return fail(rows);
        const query = str(p, 'query') ?? '';
        return page(query === '' ? rows : rows.filter((r) => r.orderid !== null && r.orderid.includes(query)), p);
      },
    },
    '/info/payments/byid/': {
      post: false,
      handler: (p) => {
        const id = str(p, 'id');
        const invoiceId = id !== null && /^[0-9]+$/.test(id) ? payments.get(Number(id)) : undefined;
        const inv = invoiceId === undefined ? undefined : invoices.get(invoiceId);
        if (!inv || inv.paidAt === null) return json([]); // ASSUMED: unknown payment = no rows
        const paid = mskDateTime(inv.paidAt);
        return json([
          {
            id: inv.paymentid,
            pay_amount: inv.pay_amount,
            refund_amount: null,
            clientid: inv.clientid,
            orderid: inv.orderid,
            payment_system_id: 30,
            unique_id: null,
            status: 'success',
            repeat_counter: 0,
            pending_datetime: paid,
            obtain_datetime: paid,
            success_datetime: paid,
          },
        ]);
      },
    },
  };

  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && decoded.slice(0, colon) === user && decoded.slice(colon + 1) === password;
  };

  const authReply = (): Reply => {
    switch (badAuth) {
      case 'html200':
        return { status: 200, contentType: 'text/html; charset=UTF-8', body: LOGIN_PAGE_HTML };
      case 'redirect303':
        return { status: 303, contentType: 'text/html; charset=UTF-8', body: LOGIN_PAGE_HTML, headers: { Location: '/login/' } };
      default:
        return { status: 401, contentType: 'text/html', body: NGINX_401_HTML, headers: { 'WWW-Authenticate': 'Basic realm="PayKeeper"' } };
    }
  };

  const dispatch = (req: IncomingMessage, form: PhpFormMap, isForm: boolean): Reply => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
    if (!route) return { status: 404, contentType: 'text/html', body: NGINX_404_HTML };
    if (!authorized(req)) return authReply();
    tick();
    const isPost = req.method === 'POST';
    const query = parsePhpForm(q < 0 ? '' : target.slice(q + 1));
    if (pathname === '/info/settings/token/') return route.handler(query);
    if (isPost || route.post) {
      // Every POST needs the token in $_POST; a JSON body leaves $_POST empty.
      const sent = isPost && isForm ? str(form, 'token') : null;
      if (sent === null || sent !== currentToken()) return tokenFail();
    }
    // $_REQUEST order: POST fields override query fields.
    const params = Object.assign(newPhpFormMap(), query, isPost ? form : {});
    return route.handler(params);
  };

  const server = await startFakeServer<FakePayKeeperFailure>({
    name: 'fake paykeeper',
    keepRequests: opts.keepRequests,
    host: opts.host,
    port: opts.port,
    latencyMs: opts.latencyMs,
    answer: dispatch,
    failurePages: {
      http500: { status: 500, contentType: 'text/html', body: NGINX_500_HTML },
      'http502-html': { status: 502, contentType: 'text/html', body: NGINX_502_HTML },
      html200: { status: 200, contentType: 'text/html; charset=UTF-8', body: MAINTENANCE_HTML },
      empty200: { status: 200, contentType: 'text/html; charset=UTF-8', body: '' },
    },
    internalError: { status: 500, contentType: 'text/html', body: NGINX_500_HTML },
  });
  baseUrl = server.url;

  const copy = (inv: StoredInvoice): FakeInvoice => {
    const { expiresAt: _unused, ...rest } = inv;
    return rest;
  };

  return {
    url: baseUrl,
    invoices: () => {
      tick();
      return [...invoices.values()].map(copy);
    },
    requests: server.requests,
    clearRequests: server.clearRequests,
    token: () => currentToken(),
    rotateToken() {
      let fresh = newToken();
      while (fresh === token) fresh = newToken();
      token = fresh;
      tokenIssuedAt = now();
    },
    pay(invoiceId, o = {}) {
      tick();
      const inv = invoices.get(invoiceId);
      if (!inv) throw new Error(`fake paykeeper: no invoice ${invoiceId}`);
      if (inv.revoked) throw new Error(`fake paykeeper: invoice ${invoiceId} is revoked`);
      if (inv.status === 'expired') throw new Error(`fake paykeeper: invoice ${invoiceId} is expired`);
      if (inv.status === 'paid') throw new Error(`fake paykeeper: invoice ${invoiceId} is already paid`);
      markPaid(inv, o.paymentId);
      return copy(inv);
    },
    advanceClock(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error('fake paykeeper: the clock only moves forward');
      offset += ms;
      tick();
      currentToken();
    },
    now,
    setLatency: server.setLatency,
    failNext: server.failNext,
    setDown: server.setDown,
    hold: server.hold,
    inHand: server.inHand,
    stop: server.stop,
  };
}
