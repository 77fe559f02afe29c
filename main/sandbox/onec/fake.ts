/**
 * A fake 1C HTTP service `ReGate` (УТ 11.5 extension published on Apache) for tests, the sandbox
 * and the benchmark: the routes of shared/specs/regate.md under `/<base>/hs/regate/v1/...`, with
 * every point of reference/regate.md §7 as a switch.
 *
 * It needs its own node:http server rather than ../fake-server.ts (whose answer is synchronous with
 * one fixed latency): a session pool, per-route latency, locks and hung handlers are asynchronous.
 * It keeps the kit's interface style (url, requests(), failNext(), setDown(), stop()) and reuses
 * its socket reset.
 *
 * Fidelity notes:
 * - FROM 1C / REFERENCE [C]: Basic auth of an infobase user; one session per call, a pool of
 *   `poolSize` with reuse (`reuseSessions`) and a start cost of ~270 ms vs ~30 ms reused; 1C's own
 *   services answer business errors as HTTP 200 + Russian text and exceptions as HTTP 500 + plain
 *   text `{ОбщийМодуль.X.Модуль(N)}:` (`businessErrorsAs200`, failure 'text500'); `ЗаписатьJSON`
 *   writes a line break after every token and `": "` (`lineBreaks`), Cyrillic raw, `/` unescaped;
 *   `УстановитьТелоИзСтроки` adds a BOM (`bom`); `Формат()` numbers with NBSP groups, comma
 *   decimals and "" for zero (`sloppyNumbers`); dates without a zone and `0001-01-01T00:00:00` for
 *   empty (`onecDates`), empty refs as zero UUIDs (`emptyRefs`); extension services unpublished →
 *   web-server 404; a mis-cased publication name → redirect that turns POST into GET.
 * - ASSUMED (real behaviour unknown; switches where it matters, clients must not match on texts):
 *   what happens when the pool is exhausted (`overflow`: 406 + XML «Истекло время ожидания сеанса»,
 *   500 text, Apache 503, or a hang), that `sessionMaxAgeMs` is idle time on the fake's clock, the
 *   Apache pages and `Server` header, the 401 realm, 403 «Нарушение прав доступа!» as text, a 404
 *   text for an unknown template and 405 for a known template with another method, the JSON error
 *   shape `{code, message, details?}` and its codes/statuses (400/404/409/422), every Russian text,
 *   that the request-id register replays the first 2xx answer for the id whatever the body
 *   (failed writes are rolled back and not registered), that a retry with an id still running
 *   waits for it, that locks are taken per client (ensure/patch/booking) and per order
 *   (payments/refunds) and that without `lockConflicts` such writes simply queue, that `hang`
 *   frees its session when the client disconnects, that limit > 500 is a 400, that a refund is a
 *   prepared draft (status 7 only after `postRefund`), that booking reserves stock, that
 *   `by-external` finds the first order with that id, price breaks inclusive, Moscow time (+03:00).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { requestLog, resetSocket, sleeper, type FakeLogOptions } from '../fake-server.ts';
import { prng } from '../random.ts';
import { MSK_OFFSET_MS } from '../../time/moscow.ts';
import { isRecord, prop } from '../../unknown.ts';
import {
  UNLIMITED_LABEL,
  generateCompany,
  priceFor,
  uuid,
  type Company,
  type CompanyClient,
  type CompanyItem,
  type CompanyOrder,
  type CompanyPayment,
  type PriceBreak,
} from './seed.ts';

export type { Company } from './seed.ts';

export type RouteKind = 'catalogue' | 'assortment' | 'write';
export type Overflow = '406-xml' | '500-text' | '503' | 'hang';
export type Publication = 'ok' | '404' | '403' | 'redirect';
export type ContentTypeMode = 'standard' | 'odd-case' | 'double-space' | 'text-plain' | 'none';

/** Everything that can be changed while running (`configure`). */
export interface Fake1CSwitches {
  /** Concurrent sessions (handlers), default 10. */
  poolSize: number;
  /** How long a request waits for a free session before `overflow`, default 5000. */
  poolTimeoutMs: number;
  overflow: Overflow;
  /** reuseSessions="autouse" (default true); false = dontuse: every call starts a session. */
  reuseSessions: boolean;
  /** Start cost of a new session, default 270 (× latencyScale). */
  sessionStartMs: number;
  /** An idle pooled session dies after this long on the fake's clock, default 20 000. */
  sessionMaxAgeMs: number;
  /** Medians of the lognormal handler time per route kind (ms). */
  latencyMedianMs: Record<RouteKind, number>;
  /** σ of the lognormal, default 0.6. */
  latencySigma: number;
  /** Multiplies every random latency and the session start cost (0 = instant tests), default 1. */
  latencyScale: number;
  /** When set, every handler takes exactly this long (benchmarks); not scaled. */
  fixedLatencyMs: number | null;
  /** Occasional spikes ("закрытие месяца"): with `probability` a call takes `extraMs` more (× latencyScale). */
  spikes: { probability: number; extraMs: number } | null;
  /** Parallel writes to a locked client/order fail with a 500 «Конфликт блокировок» after `lockTimeoutMs`; false = they queue. */
  lockConflicts: boolean;
  /** Default 0 (conflict at once); real 1C waits 20 s. */
  lockTimeoutMs: number;
  publication: Publication;
  /** X-ReGate-Request-Id register (default true); false = every retried write runs again. */
  requestIdRegister: boolean;
  /** UTF-8 BOM before JSON and 1C error texts. */
  bom: boolean;
  contentType: ContentTypeMode;
  /** ЗаписатьJSON's default format: a line break after every token. */
  lineBreaks: boolean;
  /** Business errors as HTTP 200 + Russian text instead of JSON 4xx. */
  businessErrorsAs200: boolean;
  /** Money and quantities as Формат() strings: "1 234,50" (NBSP), "" for zero. */
  sloppyNumbers: boolean;
  /** Dates without zone, empty = "0001-01-01T00:00:00" (default: +03:00 offset, empty = null). */
  onecDates: boolean;
  /** Empty refs as 00000000-0000-0000-0000-000000000000 instead of null. */
  emptyRefs: boolean;
  /** GET /state with Cyrillic keys (a developer's Структура). */
  cyrillicKeys: boolean;
}

/** A partial change of the switches; latency medians merge per route kind. */
export type Fake1CSwitchPatch = Omit<Partial<Fake1CSwitches>, 'latencyMedianMs'> & { latencyMedianMs?: Partial<Record<RouteKind, number>> };

export interface Fake1COptions extends Fake1CSwitchPatch, FakeLogOptions {
  host?: string;
  port?: number;
  /** Default '/base/hs/regate/v1'. */
  basePath?: string;
  /** Technical user, default 'regate'. */
  user?: string;
  /** Default 'regate-password'. */
  password?: string;
  /** Data (mutated in place by writes); default generateCompany({ seed, items }). */
  company?: Company;
  /** Seed for the company and the latency draws, default 1. */
  seed?: number;
  /** Items of the generated company, default 3000. */
  items?: number;
  /** Clock hook (ms epoch), default Date.now; advanceClock() adds on top. */
  clock?: () => number;
  /**
   * Requests answered beside 1C (the standalone fake's `/_sandbox/stats`): called first; true =
   * answered here. They are not 1C calls: not logged, counted or authenticated.
   */
  sideRoute?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export type Fake1CFailure =
  /** Connection reset at arrival. */
  | 'reset'
  /** Never answered (holds a session until the client disconnects). */
  | 'hang'
  /** The write is done, then the connection is reset (lost answer). */
  | 'processed-then-reset'
  /** Apache 502 HTML at once (1C cluster down). */
  | 'html502'
  /** 500 text/plain with a 1C exception (ПодробноеПредставлениеОшибки). */
  | 'text500'
  /** Processed; the header and half of the JSON, then the connection closes (no Content-Length). */
  | 'truncated'
  /** 503 text «Начало сеанса с информационной базой запрещено» (update in progress). */
  | 'session-prohibited'
  /** 500 text «Не обнаружена свободная лицензия». */
  | 'no-licence';

export interface Fake1CRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** Status answered (null: hung, reset or still running). */
  status: number | null;
}

/** An answer as the wire gets it. */
interface Rendered {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Fake1CStats {
  requests: number;
  /** Max handlers running at once (sessions in use): never above poolSize. */
  maxInFlight: number;
  /** Max requests at the publication at once (running + waiting for a session + hung): what a gateway cap must bound. */
  maxConcurrent: number;
  sessionsStarted: number;
  sessionsReused: number;
  overflows: number;
  lockConflicts: number;
  /** Writes answered from the request-id register. */
  replays: number;
  /** Calls that had a session, and the ms they held it in all (handler latency + the fake's own work): capacity = sessions / mean. */
  sessionCalls: number;
  sessionMs: number;
}

export interface Fake1C {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + basePath: http://127.0.0.1:PORT/base/hs/regate/v1 */
  baseUrl: string;
  basePath: string;
  user: string;
  password: string;
  /** `Basic …` for the technical user. */
  authorization: string;
  /** The live data (writes mutate it). */
  company(): Company;
  orders(): CompanyOrder[];
  clients(): CompanyClient[];
  requests(): Fake1CRequest[];
  clearRequests(): void;
  stats(): Fake1CStats;
  maxInFlight(): number;
  resetStats(): void;
  /** Sessions alive in the pool (idle + busy). */
  sessions(): number;
  configure(patch: Fake1CSwitchPatch): void;
  switches(): Fake1CSwitches;
  /** Applies `kind` to the next `count` requests, then normal again. */
  failNext(count: number, kind: Fake1CFailure): void;
  /** true/'reset': every connection reset; 'refused': the port stops listening; false: back up. */
  setDown(mode: boolean | 'reset' | 'refused'): Promise<void>;
  now(): number;
  advanceClock(ms: number): void;
  setStock(storeId: string, itemId: string, qty: number | null): void;
  setPrices(itemId: string, prices: PriceBreak[]): void;
  /** The scheduled job: a bank payment recognised by the client's ИНН → status 2. */
  payByBank(orderId: string): CompanyOrder;
  setOrderStatus(orderId: string, orderStatus: number): CompanyOrder;
  /** The refund document is posted → order status 7. */
  postRefund(refundId: string): CompanyOrder;
  /**
   * Test hook (a gate): from now on a call that has its session (and, for a write, its locks)
   * waits before its handler time until the returned release is called (or stop()). Tests count
   * what arrived, queued for a session or conflicted while the sessions are held, instead of
   * racing a latency. The held time counts in `sessionMs`.
   */
  hold(): () => void;
  stop(): Promise<void>;
}

export const DEFAULT_BASE_PATH = '/base/hs/regate/v1';
export const BOM = '\ufeff';
export const EMPTY_REF = '00000000-0000-0000-0000-000000000000';
export const EMPTY_DATE_1C = '0001-01-01T00:00:00';
export const NBSP = '\u00a0';
export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 100;
const APACHE = 'Apache/2.4.58 (Win64) OpenSSL/3.1.3';

const apachePage = (code: number, title: string, text: string): string =>
  `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${code} ${title}</title>\n</head><body>\n<h1>${title}</h1>\n<p>${text}</p>\n</body></html>\n`;
export const APACHE_401_HTML = apachePage(
  401,
  'Unauthorized',
  "This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.",
);
export const APACHE_404_HTML = apachePage(404, 'Not Found', 'The requested URL was not found on this server.');
export const APACHE_502_HTML = apachePage(502, 'Bad Gateway', 'The proxy server received an invalid\nresponse from an upstream server.<br />');
export const APACHE_503_HTML = apachePage(503, 'Service Unavailable', 'The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.');
export const XML_406_SESSION_TIMEOUT =
  '<?xml version="1.0" encoding="UTF-8"?>\n<exception xmlns="http://v8.1c.ru/v8/core/exception" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" clsid="580392e6-ba49-4280-ac67-fcd6f2180121" reason="406">\n<descr>Истекло время ожидания сеанса</descr>\n</exception>\n';
export const TEXT_POOL_TIMEOUT = 'Ошибка при получении сеанса из пула: истекло время ожидания свободного сеанса (poolTimeout).';
export const TEXT_FORBIDDEN = 'Нарушение прав доступа!';
export const TEXT_SESSION_PROHIBITED =
  'Начало сеанса с информационной базой запрещено.\nВыполняется обновление конфигурации. Повторите попытку позже.\nКод разрешения: ';
export const TEXT_NO_LICENCE = 'Не обнаружена свободная лицензия!\nИспользуются все доступные лицензии.';

/** ПодробноеПредставлениеОшибки as 1C prints an exception in a common module. */
export function onecErrorText(line: number, statement: string, reason: string): string {
  return `{ОбщийМодуль.ReGate.Модуль(${line})}: Ошибка при вызове метода контекста (${statement})\n\tОбъект.${statement}(РежимЗаписиДокумента.Проведение);\nпо причине:\n${reason}`;
}
export const TEXT_INTERNAL = onecErrorText(
  123,
  'Записать',
  'Поле объекта не обнаружено (ВидЦены)\n{Документ.ЗаказКлиента.МодульОбъекта(418)}: ЦенаНоменклатуры = СтрокаТовары.ВидЦены.Цена;',
);
export const TEXT_LOCK_CONFLICT = onecErrorText(
  412,
  'Записать',
  'Конфликт блокировок при выполнении транзакции:\nПревышено максимальное время ожидания предоставления блокировки',
);

// ---- wire values: rendered per switches ----

class Money {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}
class Qty {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}
class When {
  readonly ms: number | null;
  constructor(ms: number | null) {
    this.ms = ms;
  }
}
class Ref {
  readonly id: string | null;
  constructor(id: string | null) {
    this.id = id;
  }
}
const money = (v: number): Money => new Money(v);
const qty = (v: number): Qty => new Qty(v);
const when = (ms: number | null): When => new When(ms);
const ref = (id: string | null): Ref => new Ref(id);

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const groupThousands = (intPart: string): string => intPart.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);

/** Формат(x, "ЧДЦ=2") in the ru locale: NBSP groups, comma, "" for zero. */
export function sloppyMoney(v: number): string {
  if (round2(v) === 0) return '';
  const [i, f] = Math.abs(round2(v)).toFixed(2).split('.');
  return `${v < 0 ? '-' : ''}${groupThousands(i)},${f}`;
}
/** Формат(x) in the ru locale: NBSP groups, comma, fraction as needed, "" for zero. */
export function sloppyQty(v: number): string {
  if (round3(v) === 0) return '';
  const [i, f] = String(Math.abs(round3(v))).split('.');
  return `${v < 0 ? '-' : ''}${groupThousands(i)}${f ? `,${f}` : ''}`;
}

export function mskIso(ms: number): string {
  return new Date(ms + MSK_OFFSET_MS).toISOString().slice(0, 19);
}

interface Format {
  lineBreaks: boolean;
  sloppyNumbers: boolean;
  onecDates: boolean;
  emptyRefs: boolean;
}

/** A string as ЗаписатьJSON writes it: Cyrillic raw, `/` unescaped, controls as \u00XX except \n \r. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\]/;
function quote1C(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`; // most strings: nothing to escape, no regex replace per string
  return `"${s.replace(/[\u0000-\u001f"\\]/g, (c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
}

export function writeJson1C(value: unknown, f: Format): string {
  const nl = f.lineBreaks ? '\n' : '';
  const colon = f.lineBreaks ? ': ' : ':';
  const w = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (v instanceof Money) return f.sloppyNumbers ? quote1C(sloppyMoney(v.v)) : String(round2(v.v));
    if (v instanceof Qty) return f.sloppyNumbers ? quote1C(sloppyQty(v.v)) : String(round3(v.v));
    if (v instanceof When) return v.ms === null ? (f.onecDates ? quote1C(EMPTY_DATE_1C) : 'null') : quote1C(mskIso(v.ms) + (f.onecDates ? '' : '+03:00'));
    if (v instanceof Ref) return v.id === null ? (f.emptyRefs ? quote1C(EMPTY_REF) : 'null') : quote1C(v.id);
    if (typeof v === 'string') return quote1C(v);
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (Array.isArray(v)) return v.length === 0 ? `[${nl}]` : `[${nl}${v.map(w).join(`,${nl}`)}${nl}]`;
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return entries.length === 0 ? `{${nl}}` : `{${nl}${entries.map(([k, x]) => `${quote1C(k)}${colon}${w(x)}`).join(`,${nl}`)}${nl}}`;
  };
  return w(value);
}

// ---- logical replies ----

type Logical =
  | { kind: 'json'; status: number; value: unknown; headers?: Record<string, string> }
  | { kind: 'text'; status: number; text: string; contentType?: string | null }
  | { kind: 'raw'; status: number; contentType: string | null; body: string; headers?: Record<string, string> };

class BusinessError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const DEFAULT_SWITCHES: Fake1CSwitches = {
  poolSize: 10,
  poolTimeoutMs: 5000,
  overflow: '406-xml',
  reuseSessions: true,
  sessionStartMs: 270,
  sessionMaxAgeMs: 20_000,
  latencyMedianMs: { catalogue: 400, assortment: 2000, write: 1500 },
  latencySigma: 0.6,
  latencyScale: 1,
  fixedLatencyMs: null,
  spikes: null,
  lockConflicts: false,
  lockTimeoutMs: 0,
  publication: 'ok',
  requestIdRegister: true,
  bom: false,
  contentType: 'standard',
  lineBreaks: false,
  businessErrorsAs200: false,
  sloppyNumbers: false,
  onecDates: false,
  emptyRefs: false,
  cyrillicKeys: false,
};

const CONTENT_TYPES: Record<ContentTypeMode, string | null> = {
  standard: 'application/json; charset=utf-8',
  'odd-case': 'Application/JSON;Charset=UTF-8',
  'double-space': 'application/json;  charset=utf-8',
  'text-plain': 'text/plain; charset=utf-8',
  none: null,
};

interface Session {
  id: number;
  lastUsedAt: number;
}

interface Route {
  kind: RouteKind;
  /** Lock keys of a write (taken for the transaction). */
  locks?: string[];
  run(): Logical;
}

const METHOD_CODES: Record<string, { orderStatus: number; method: CompanyPayment['method'] }> = {
  card: { orderStatus: 1, method: 'card' },
  bank: { orderStatus: 2, method: 'bank' },
  cash: { orderStatus: 3, method: 'cash' },
  emoney: { orderStatus: 4, method: 'emoney' },
};

export async function startFake1C(opts: Fake1COptions = {}): Promise<Fake1C> {
  const sw: Fake1CSwitches = { ...DEFAULT_SWITCHES, latencyMedianMs: { ...DEFAULT_SWITCHES.latencyMedianMs } };
  const configure = (patch: Fake1CSwitchPatch): void => {
    const { latencyMedianMs, ...flat } = patch;
    if (latencyMedianMs !== undefined) Object.assign(sw.latencyMedianMs, latencyMedianMs);
    Object.assign(sw, Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== undefined)));
  };
  const { host, port, basePath: bp, user: u, password: pw, company: c, seed: sd, items: it, clock: ck, sideRoute, ...initial } = opts;
  configure(initial);
  const basePath = (bp ?? DEFAULT_BASE_PATH).replace(/\/+$/, '');
  const user = u ?? 'regate';
  const password = pw ?? 'regate-password';
  const seed = sd ?? 1;
  const company = c ?? generateCompany({ seed, items: it });
  const rand = prng(seed ^ 0x1c1c1c);
  const clock = ck ?? Date.now;
  let clockOffset = 0;
  const now = (): number => clock() + clockOffset;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

  // The redirect fault: the real publication name differs in letter case from what clients call.
  const firstSeg = basePath.split('/')[1] ?? 'base';
  const flipped = firstSeg[0] === firstSeg[0].toUpperCase() ? firstSeg[0].toLowerCase() + firstSeg.slice(1) : firstSeg[0].toUpperCase() + firstSeg.slice(1);
  const altBasePath = basePath.replace(`/${firstSeg}`, `/${flipped}`);

  // ---- indexes ----
  const cityById = new Map(company.cities.map((x) => [x.id, x]));
  const storeById = new Map(company.stores.map((x) => [x.id, x]));
  const itemById = new Map(company.items.map((x) => [x.id, x]));
  const groupById = new Map(company.groups.map((x) => [x.id, x]));
  const childrenOf = new Map<string | null, string[]>();
  for (const grp of company.groups) {
    const list = childrenOf.get(grp.parentId) ?? [];
    list.push(grp.id);
    childrenOf.set(grp.parentId, list);
  }
  const subtree = (groupId: string): Set<string> => {
    const out = new Set<string>();
    const stack = [groupId];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      out.add(id);
      stack.push(...(childrenOf.get(id) ?? []));
    }
    return out;
  };
  // Clients by external id, as 1C's catalogue looks one up by an indexed attribute: kept up to date as
  // clients are added (the list only grows) rather than rebuilt from every client on each call — after
  // thousands of client writes that rebuild cost the fake more CPU per call than the call itself.
  const clientIndex = new Map<string, number>();
  let clientsIndexed = 0;
  const clientOf = (ext: string): CompanyClient | undefined => {
    for (; clientsIndexed < company.clients.length; clientsIndexed++) clientIndex.set(company.clients[clientsIndexed].externalId, clientsIndexed);
    const at = clientIndex.get(ext);
    const cl = at === undefined ? undefined : company.clients[at];
    if (at === undefined || cl?.externalId === ext) return cl;
    // The list was changed other than by adding (a test's own edit): indexed again from scratch.
    clientIndex.clear();
    clientsIndexed = 0;
    return clientOf(ext);
  };
  const findOrder = (id: string): CompanyOrder | undefined => company.orders.find((o) => o.id === id);
  let orderSeq = company.orders.reduce((m, o) => Math.max(m, Number(/(\d+)$/.exec(o.number)?.[1] ?? 0)), 0);
  const idRand = prng(seed ^ 0x5eed);

  // ---- state ----
  const log = requestLog<Fake1CRequest>(opts.keepRequests);
  const failures: Fake1CFailure[] = [];
  const sockets = new Set<Socket>();
  const hangs = new Set<() => void>();
  let down: false | 'reset' | 'refused' = false;
  let stopped = false;
  const zeroStats = (): Fake1CStats => ({ requests: 0, maxInFlight: 0, maxConcurrent: 0, sessionsStarted: 0, sessionsReused: 0, overflows: 0, lockConflicts: 0, replays: 0, sessionCalls: 0, sessionMs: 0 });
  let stats = zeroStats();
  let concurrent = 0;

  const sleeps = sleeper();
  const sleep = (ms: number): Promise<void> => (stopped ? Promise.resolve() : sleeps.sleep(ms));

  // ---- the test gate (hold) ----
  let gate: { opened: Promise<void>; open: () => void } | null = null;
  const hold = (): (() => void) => {
    if (gate === null) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { opened, open };
    }
    const mine = gate;
    return () => {
      if (gate === mine) gate = null;
      mine.open();
    };
  };

  // ---- session pool ----
  const idle: Session[] = [];
  let busy = 0;
  let sessionSeq = 0;
  const waiters: Array<(granted: boolean) => void> = [];

  /** Resolves true when a slot is ours, false on pool timeout. */
  const acquireSlot = (): Promise<boolean> => {
    if (busy < sw.poolSize && waiters.length === 0) {
      busy++;
      stats.maxInFlight = Math.max(stats.maxInFlight, busy);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let done = false;
      const grant = (granted: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const i = waiters.indexOf(grant);
        if (i >= 0) waiters.splice(i, 1);
        if (granted) {
          busy++;
          stats.maxInFlight = Math.max(stats.maxInFlight, busy);
        }
        resolve(granted);
      };
      const timer = setTimeout(() => grant(false), sw.poolTimeoutMs);
      waiters.push(grant);
    });
  };
  const pump = (): void => {
    while (busy < sw.poolSize && waiters.length > 0) waiters[0](true);
  };
  /** A session for the slot: a live idle one (reuse) or a new one. */
  const takeSession = (): { session: Session; fresh: boolean } => {
    const t = now();
    if (sw.reuseSessions) {
      for (let s = idle.pop(); s !== undefined; s = idle.pop()) {
        if (t - s.lastUsedAt <= sw.sessionMaxAgeMs) {
          stats.sessionsReused++;
          return { session: s, fresh: false };
        }
      }
    }
    stats.sessionsStarted++;
    return { session: { id: ++sessionSeq, lastUsedAt: t }, fresh: true };
  };
  const releaseSlot = (session: Session | null): void => {
    busy--;
    if (session && sw.reuseSessions && !stopped) {
      session.lastUsedAt = now();
      idle.push(session);
      while (idle.length + busy > sw.poolSize && idle.length > 0) idle.shift();
    }
    pump();
  };

  // ---- latency ----
  const gauss = (): number => {
    const u1 = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
  };
  const handlerMs = (kind: RouteKind): number => {
    if (sw.fixedLatencyMs !== null) return sw.fixedLatencyMs;
    let ms = sw.latencyMedianMs[kind] * Math.exp(sw.latencySigma * gauss());
    if (sw.spikes && rand() < sw.spikes.probability) ms += sw.spikes.extraMs;
    return ms * sw.latencyScale;
  };

  // ---- locks ----
  const locks = new Map<string, { released: Promise<void> }>();
  /** Takes every key; on conflict (lockConflicts) returns false having taken none. */
  const takeLocks = async (keys: string[]): Promise<(() => void) | false> => {
    const deadline = performance.now() + sw.lockTimeoutMs;
    for (;;) {
      const held = keys.map((k) => locks.get(k)).filter((x) => x !== undefined);
      if (held.length === 0) break;
      if (sw.lockConflicts) {
        const left = deadline - performance.now();
        if (left <= 0) return false;
        await Promise.race([Promise.all(held.map((h) => h.released)), sleep(left)]);
      } else await Promise.all(held.map((h) => h.released));
      if (stopped) return false;
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    for (const k of keys) locks.set(k, { released });
    return () => {
      for (const k of keys) if (locks.get(k)?.released === released) locks.delete(k);
      release();
    };
  };

  // ---- request-id register ----
  type Registered = { done: Promise<Logical | null>; result: Logical | null };
  const register = new Map<string, Registered>();

  // ---- rendering ----
  const format = (): Format => ({ lineBreaks: sw.lineBreaks, sloppyNumbers: sw.sloppyNumbers, onecDates: sw.onecDates, emptyRefs: sw.emptyRefs });
  const json = (status: number, value: unknown, headers?: Record<string, string>): Logical => ({ kind: 'json', status, value, headers });
  const text = (status: number, t: string): Logical => ({ kind: 'text', status, text: t });
  const raw = (status: number, contentType: string | null, body: string, headers?: Record<string, string>): Logical => ({ kind: 'raw', status, contentType, body, headers });

  const render = (l: Logical): Rendered => {
    const headers: Record<string, string> = { Server: APACHE };
    if (l.kind === 'raw') {
      if (l.contentType !== null) headers['Content-Type'] = l.contentType;
      return { status: l.status, headers: { ...headers, ...l.headers }, body: l.body };
    }
    if (l.kind === 'text') {
      if (l.contentType !== null) headers['Content-Type'] = l.contentType ?? 'text/plain; charset=utf-8';
      return { status: l.status, headers, body: (sw.bom ? BOM : '') + l.text };
    }
    const ct = CONTENT_TYPES[sw.contentType];
    if (ct !== null) headers['Content-Type'] = ct;
    return { status: l.status, headers: { ...headers, ...l.headers }, body: (sw.bom ? BOM : '') + writeJson1C(l.value, format()) };
  };

  const businessReply = (e: BusinessError): Logical =>
    sw.businessErrorsAs200 ? text(200, e.message) : json(e.status, e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details });

  // ---- shapes ----
  const clientWire = (cl: CompanyClient) => ({
    id: cl.id,
    externalId: cl.externalId,
    type: cl.type,
    name: cl.name,
    fullName: cl.fullName,
    inn: cl.inn,
    kpp: cl.kpp,
    phone: cl.phone,
    email: cl.email,
    createdAt: when(cl.createdAt),
    updatedAt: when(cl.updatedAt),
  });
  const balanceWire = (cl: CompanyClient) => ({ debt: money(cl.debt), advance: money(cl.advance), currency: 'RUB' });
  const orderStateWire = (o: CompanyOrder) => ({
    orderId: o.id,
    number: o.number,
    richestOrderId: o.richestOrderId,
    date: when(o.date),
    orderStatus: o.orderStatus,
    paymentCode: o.paymentCode,
    paidAmount: money(o.paidAmount),
    sum: money(o.sum),
    paidAt: when(o.paidAt),
    updatedAt: when(o.updatedAt),
  });
  const itemWire = (item: CompanyItem, st: { qty: number | null; updatedAt: number }) => ({
    id: item.id,
    sku: item.sku,
    name: item.name,
    fullName: item.fullName,
    countryOfOrigin: item.countryOfOrigin,
    brand: item.brand,
    manufacturer: item.manufacturer,
    barcodes: item.barcodes,
    shortDescription: item.shortDescription,
    description: item.description,
    images: item.images,
    unit: item.unit,
    portion: item.portion === null ? null : { qty: qty(item.portion.qty), unit: item.portion.unit },
    minQty: qty(item.minQty),
    qtyStep: qty(item.qtyStep),
    stock: st.qty === null ? { qty: null, unlimited: true, label: UNLIMITED_LABEL } : { qty: qty(st.qty), unlimited: false, label: null },
    prices: item.prices.map((p) => ({ fromQty: qty(p.fromQty), price: money(p.price) })),
    vatRate: item.vatRate,
    groupId: item.groupId,
    updatedAt: when(Math.max(item.updatedAt, st.updatedAt)),
  });

  const parseBody = (rawBody: string): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(rawBody.replace(/^\ufeff/, ''));
      if (isRecord(v)) return v;
    } catch {
      // fall through
    }
    throw new BusinessError(400, 'BAD_JSON', 'Тело запроса не является объектом JSON');
  };
  const parseDate = (s: string): number | null => {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
    if (!m) return null;
    const ms = Date.parse(m[7] ? s : `${s}+03:00`);
    return Number.isNaN(ms) ? null : ms;
  };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

  // ---- handlers ----
  const stateRoute = (): Logical => {
    const o = company.organization;
    if (sw.cyrillicKeys)
      return json(200, {
        ВерсияПлатформы: company.platformVersion,
        Конфигурация: { Имя: company.configuration.name, Синоним: company.configuration.synonym, Версия: company.configuration.version },
        Организация: { Ссылка: o.id, Наименование: o.name, НаименованиеПолное: o.fullName, ИНН: o.inn, КПП: o.kpp, ОГРН: o.ogrn, ЮридическийАдрес: o.address },
        ВремяСервера: when(now()),
      });
    return json(200, {
      platformVersion: company.platformVersion,
      configuration: company.configuration,
      organization: { id: o.id, name: o.name, fullName: o.fullName, inn: o.inn, kpp: o.kpp, ogrn: o.ogrn, address: o.address },
      serverTime: when(now()),
    });
  };

  const assortmentRoute = (storeId: string, q: URLSearchParams, ifNoneMatch: string | undefined): Logical => {
    const store = storeById.get(storeId);
    if (!store) throw new BusinessError(404, 'STORE_NOT_FOUND', `Склад не найден: ${storeId}`);
    const limitRaw = q.get('limit');
    const limit = limitRaw === null || limitRaw === '' ? DEFAULT_LIMIT : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new BusinessError(400, 'BAD_LIMIT', `Параметр limit должен быть от 1 до ${MAX_LIMIT}`);
    const groupId = q.get('groupId') || null;
    if (groupId !== null && !groupById.has(groupId)) throw new BusinessError(404, 'GROUP_NOT_FOUND', `Группа не найдена: ${groupId}`);
    const inGroup = groupId === null ? null : subtree(groupId);
    const sinceRaw = q.get('updatedSince') || null;
    const since = sinceRaw === null ? null : parseDate(sinceRaw);
    if (sinceRaw !== null && since === null) throw new BusinessError(400, 'BAD_DATE', `Неверная дата updatedSince: ${sinceRaw}`);
    let start = 0;
    const cursor = q.get('cursor') || null;
    if (cursor !== null) {
      const m = /^([^:]+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!m || m[1] !== storeId) throw new BusinessError(400, 'BAD_CURSOR', 'Неверный курсор');
      start = Number(m[2]);
    }
    const rows = company.stock[storeId] ?? {};
    const items: unknown[] = [];
    let i = start;
    for (; i < company.items.length && items.length < limit; i++) {
      const item = company.items[i];
      const st = rows[item.id];
      if (!st) continue;
      if (inGroup && !inGroup.has(item.groupId)) continue;
      if (since !== null && Math.max(item.updatedAt, st.updatedAt) <= since) continue;
      items.push(itemWire(item, st));
    }
    // Look ahead so the last page has no cursor.
    let more = false;
    for (let j = i; j < company.items.length; j++) {
      const item = company.items[j];
      const st = rows[item.id];
      if (!st || (inGroup && !inGroup.has(item.groupId)) || (since !== null && Math.max(item.updatedAt, st.updatedAt) <= since)) continue;
      more = true;
      break;
    }
    const value = { stockAsOf: when(now()), items, nextCursor: more ? Buffer.from(`${storeId}:${i}`, 'utf8').toString('base64url') : null };
    // The ETag covers the page without stockAsOf (which moves every call).
    const etag = `"${createHash('sha1').update(JSON.stringify({ items, nextCursor: value.nextCursor })).digest('base64url').slice(0, 20)}"`;
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return raw(304, null, '', { ETag: etag });
    return json(200, value, { ETag: etag });
  };

  const ensureClient = (ext: string, body: Record<string, unknown>): Logical => {
    const existing = clientOf(ext);
    if (existing) return json(200, { found: true, client: clientWire(existing), balance: balanceWire(existing) });
    const name = str(body.name)?.trim() ?? '';
    if (name === '') throw new BusinessError(422, 'CLIENT_NAME_REQUIRED', 'Не заполнено наименование клиента');
    const inn = str(body.inn);
    if (inn !== null && !/^(\d{10}|\d{12})$/.test(inn)) throw new BusinessError(422, 'BAD_INN', `Неверный ИНН: ${inn}`);
    const t = now();
    const type = body.type === 'company' || body.type === 'entrepreneur' ? body.type : 'person';
    const cl: CompanyClient = {
      id: uuid(idRand),
      externalId: ext,
      type,
      name,
      fullName: str(body.fullName) ?? name,
      inn,
      kpp: str(body.kpp),
      phone: str(body.phone),
      email: str(body.email),
      createdAt: t,
      updatedAt: t,
      debt: 0,
      advance: 0,
    };
    company.clients.push(cl);
    return json(201, { created: true, client: clientWire(cl), balance: balanceWire(cl) });
  };

  const patchClient = (ext: string, body: Record<string, unknown>): Logical => {
    const cl = clientOf(ext);
    if (!cl) throw new BusinessError(404, 'CLIENT_NOT_FOUND', `Клиент не найден: ${ext}`);
    for (const k of ['name', 'fullName', 'inn', 'kpp', 'phone', 'email'] as const) {
      if (!(k in body)) continue;
      const v = body[k];
      if (v !== null && typeof v !== 'string') throw new BusinessError(422, 'BAD_FIELD', `Неверное значение поля ${k}`);
      if (k === 'inn' && v !== null && !/^(\d{10}|\d{12})$/.test(v)) throw new BusinessError(422, 'BAD_INN', `Неверный ИНН: ${v}`);
      if (k === 'name' || k === 'fullName') {
        if (v === null || v.trim() === '') throw new BusinessError(422, 'CLIENT_NAME_REQUIRED', 'Не заполнено наименование клиента');
        cl[k] = v;
      } else cl[k] = v;
    }
    cl.updatedAt = now();
    return json(200, { updated: true, client: clientWire(cl) });
  };

  const createOrder = (body: Record<string, unknown>, requestId: string | null): Logical => {
    const richestOrderId = str(body.richestOrderId);
    if (!richestOrderId) throw new BusinessError(422, 'RICHEST_ORDER_ID_REQUIRED', 'Не указан номер заказа Richest.store');
    const ext = str(prop(body.client, 'externalId'));
    const cl = ext === null ? undefined : clientOf(ext);
    if (!cl) throw new BusinessError(404, 'CLIENT_NOT_FOUND', `Клиент не найден: ${ext ?? ''}`);
    const storeId = str(body.storeId) ?? '';
    const store = storeById.get(storeId);
    if (!store) throw new BusinessError(404, 'STORE_NOT_FOUND', `Склад не найден: ${storeId}`);
    const linesIn: unknown[] = Array.isArray(body.lines) ? body.lines : [];
    if (linesIn.length === 0) throw new BusinessError(422, 'NO_LINES', 'В заказе нет товаров');
    const rows = company.stock[storeId] ?? {};
    const problems: Array<Record<string, unknown>> = [];
    const priceDiffs: Array<{ item: CompanyItem; clientPrice: Money; price: Money }> = [];
    const lines: CompanyOrder['lines'] = [];
    const want = new Map<string, { item: CompanyItem; q: number }>();
    for (const line of linesIn) {
      const itemId = str(prop(line, 'itemId')) ?? '';
      const q = num(prop(line, 'qty'));
      const item = itemById.get(itemId);
      const st = rows[itemId];
      if (!item || !st) {
        problems.push({ itemId, problem: 'NOT_IN_ASSORTMENT', message: `Товар не продаётся на складе: ${itemId}` });
        continue;
      }
      if (q === null || q <= 0 || q + 1e-9 < item.minQty || Math.abs(q / item.qtyStep - Math.round(q / item.qtyStep)) > 1e-6) {
        problems.push({ itemId, problem: 'BAD_QTY', message: `Количество должно быть не меньше ${item.minQty} и кратно ${item.qtyStep}`, minQty: qty(item.minQty), qtyStep: qty(item.qtyStep) });
        continue;
      }
      const wanted = want.get(itemId);
      if (wanted) wanted.q += q;
      else want.set(itemId, { item, q });
      const price = priceFor(item, q);
      const linePrice = prop(line, 'price');
      const clientPrice = linePrice === undefined || linePrice === null ? null : num(linePrice);
      if (clientPrice !== null && Math.abs(clientPrice - price) > 0.005) priceDiffs.push({ item, clientPrice: money(clientPrice), price: money(price) });
      lines.push({ itemId, qty: round3(q), price, sum: round2(q * price) });
    }
    for (const [itemId, { item, q }] of want) {
      const st = rows[itemId];
      if (st.qty !== null && st.qty + 1e-9 < q) problems.push({ itemId, problem: 'INSUFFICIENT_STOCK', message: `Недостаточно товара на складе: ${item.name}`, available: qty(st.qty) });
    }
    if (problems.length > 0) throw new BusinessError(422, 'BAD_LINES', `Заказ не может быть принят:\n${problems.map((p) => p.message).join('\n')}`, problems);
    if (priceDiffs.length > 0)
      throw new BusinessError(
        422,
        'PRICE_MISMATCH',
        `Цены изменились:\n${priceDiffs.map((d) => `${d.item.name}: ${d.clientPrice.v} → ${d.price.v}`).join('\n')}`,
        priceDiffs.map(({ item, clientPrice, price }) => ({ itemId: item.id, clientPrice, price })),
      );
    const t = now();
    for (const [itemId, { q }] of want) {
      const st = rows[itemId];
      if (st.qty !== null) st.qty = round3(st.qty - q);
      st.updatedAt = t;
    }
    const delivery = body.delivery;
    const order: CompanyOrder = {
      id: uuid(idRand),
      number: `ТД00-${String(++orderSeq).padStart(6, '0')}`,
      date: t,
      richestOrderId,
      clientExternalId: cl.externalId,
      storeId,
      delivery: { address: str(prop(delivery, 'address')) ?? '', comment: str(prop(delivery, 'comment')), from: str(prop(delivery, 'from')), to: str(prop(delivery, 'to')) },
      lines,
      sum: round2(lines.reduce((s, x) => s + x.sum, 0)),
      orderStatus: 0,
      paymentCode: 0,
      paidAmount: 0,
      paidAt: null,
      updatedAt: t,
      comment: str(body.comment),
      requestId,
      payments: [],
      refunds: [],
    };
    company.orders.push(order);
    return json(201, {
      orderId: order.id,
      number: order.number,
      date: when(order.date),
      sum: money(order.sum),
      currency: 'RUB',
      orderStatus: 0,
      paymentCode: 0,
      lines: order.lines.map((x) => ({ itemId: x.itemId, qty: qty(x.qty), price: money(x.price), sum: money(x.sum) })),
    });
  };

  const mustOrder = (id: string): CompanyOrder => {
    const o = findOrder(id);
    if (!o) throw new BusinessError(404, 'ORDER_NOT_FOUND', `Заказ не найден: ${id}`);
    return o;
  };

  const pay = (orderId: string, body: Record<string, unknown>): Logical => {
    const o = mustOrder(orderId);
    if (o.orderStatus >= 1 && o.orderStatus <= 4) throw new BusinessError(409, 'ALREADY_PAID', `Заказ ${o.number} уже оплачен`);
    if (o.orderStatus !== 0) throw new BusinessError(409, 'ORDER_CLOSED', `Заказ ${o.number} ${o.orderStatus === 5 ? 'просрочен' : o.orderStatus === 6 ? 'аннулирован' : 'закрыт'}, оплата невозможна`);
    const methodName = str(body.method) ?? 'card';
    const method = Object.hasOwn(METHOD_CODES, methodName) ? METHOD_CODES[methodName] : undefined; // client text: never a prototype member
    if (!method) throw new BusinessError(422, 'BAD_METHOD', `Неизвестный способ оплаты: ${String(body.method)}`);
    const amount = num(body.amount);
    if (amount === null || Math.abs(amount - o.sum) > 0.005)
      throw new BusinessError(422, 'AMOUNT_MISMATCH', `Сумма оплаты ${amount ?? '?'} не равна сумме заказа ${o.sum}`, { amount: amount === null ? null : money(amount), sum: money(o.sum) });
    const paidAtText = str(body.paidAt);
    const paidAt = (paidAtText && parseDate(paidAtText)) || now();
    const payment: CompanyPayment = { id: uuid(idRand), method: method.method, paymentCode: method.orderStatus, amount: o.sum, paidAt, provider: str(body.provider), transactionId: str(body.transactionId) };
    o.payments.push(payment);
    o.orderStatus = method.orderStatus;
    o.paymentCode = method.orderStatus;
    o.paidAmount = o.sum;
    o.paidAt = paidAt;
    o.updatedAt = now();
    return json(200, { orderId: o.id, paymentId: payment.id, orderStatus: o.orderStatus, paymentCode: o.paymentCode, paidAmount: money(o.paidAmount) });
  };

  const refund = (orderId: string, body: Record<string, unknown>): Logical => {
    const o = mustOrder(orderId);
    if (o.orderStatus === 7) throw new BusinessError(409, 'ALREADY_REFUNDED', `По заказу ${o.number} деньги уже возвращены`);
    if (!(o.orderStatus >= 1 && o.orderStatus <= 4)) throw new BusinessError(409, 'NOT_PAID', `Заказ ${o.number} не оплачен, возврат невозможен`);
    if (o.refunds.some((x) => x.state === 'prepared')) throw new BusinessError(409, 'REFUND_EXISTS', `По заказу ${o.number} уже подготовлен возврат`);
    const amount = body.amount === undefined || body.amount === null ? o.paidAmount : num(body.amount);
    if (amount === null || amount <= 0 || amount > o.paidAmount + 0.005) throw new BusinessError(422, 'BAD_AMOUNT', `Сумма возврата должна быть от 0 до ${o.paidAmount}`);
    const r = { id: uuid(idRand), amount: round2(amount), reason: str(body.reason) ?? '', state: 'prepared' as const, createdAt: now() };
    o.refunds.push(r);
    o.updatedAt = now();
    return json(202, { refundId: r.id, state: r.state, amount: money(r.amount), orderStatus: o.orderStatus });
  };

  /** The template and its work; null = no template matched; 'method' = template without that method. */
  const route = (method: string, segs: string[], q: URLSearchParams, req: IncomingMessage, rawBody: string, requestId: string | null): Route | null | 'method' => {
    const is = (...m: string[]): boolean => m.includes(method);
    const [a, b, c2] = segs;
    const n = segs.length;
    const catalogue = (run: () => Logical): Route => ({ kind: 'catalogue', run });
    const write = (locks: string[], run: () => Logical): Route => ({ kind: 'write', locks, run });
    if (n === 1 && a === 'state') return is('GET') ? catalogue(stateRoute) : 'method';
    if (n === 1 && a === 'cities')
      return is('GET')
        ? catalogue(() =>
            json(200, { items: company.cities.map((x) => ({ id: x.id, name: x.name, region: x.region, storeCount: company.stores.filter((s) => s.cityId === x.id).length })) }),
          )
        : 'method';
    if (n === 3 && a === 'cities' && c2 === 'stores')
      return is('GET')
        ? catalogue(() => {
            if (!cityById.has(b)) throw new BusinessError(404, 'CITY_NOT_FOUND', `Город не найден: ${b}`);
            return json(200, { items: company.stores.filter((s) => s.cityId === b).map((s) => ({ id: s.id, code: s.code, name: s.name, address: s.address, phone: s.phone, type: s.type })) });
          })
        : 'method';
    if (n === 3 && a === 'stores' && c2 === 'groups')
      return is('GET')
        ? catalogue(() => {
            if (!storeById.has(b)) throw new BusinessError(404, 'STORE_NOT_FOUND', `Склад не найден: ${b}`);
            const rows = company.stock[b] ?? {};
            const direct = new Map<string, number>();
            for (const item of company.items) if (rows[item.id]) direct.set(item.groupId, (direct.get(item.groupId) ?? 0) + 1);
            const count = (id: string): number => [...subtree(id)].reduce((s, gid) => s + (direct.get(gid) ?? 0), 0);
            return json(200, { items: company.groups.map((grp) => ({ id: grp.id, parentId: ref(grp.parentId), name: grp.name, level: grp.level, itemCount: count(grp.id) })) });
          })
        : 'method';
    if (n === 3 && a === 'stores' && c2 === 'assortment')
      return is('GET') ? { kind: 'assortment', run: () => assortmentRoute(b, q, req.headers['if-none-match']) } : 'method';
    if (n === 2 && a === 'clients') {
      if (is('GET'))
        return catalogue(() => {
          const cl = clientOf(b);
          if (!cl) throw new BusinessError(404, 'CLIENT_NOT_FOUND', `Клиент не найден: ${b}`);
          return json(200, { found: true, client: clientWire(cl), balance: balanceWire(cl) });
        });
      if (is('PUT')) return write([`client:${b}`], () => ensureClient(b, parseBody(rawBody)));
      if (is('PATCH')) return write([`client:${b}`], () => patchClient(b, parseBody(rawBody)));
      return 'method';
    }
    if (n === 1 && a === 'orders') {
      if (!is('POST')) return 'method';
      let ext = '';
      try {
        const parsed: unknown = JSON.parse(rawBody.replace(/^\ufeff/, ''));
        ext = String(prop(prop(parsed, 'client'), 'externalId') ?? '');
      } catch {
        // parseBody reports it
      }
      return write([`client:${ext}`], () => createOrder(parseBody(rawBody), requestId));
    }
    if (n === 3 && a === 'orders' && b === 'by-external')
      return is('GET')
        ? catalogue(() => {
            const o = company.orders.find((x) => x.richestOrderId === c2);
            if (!o) throw new BusinessError(404, 'ORDER_NOT_FOUND', `Заказ не найден: ${c2}`);
            return json(200, orderStateWire(o));
          })
        : 'method';
    if (n === 2 && a === 'orders') return is('GET') ? catalogue(() => json(200, orderStateWire(mustOrder(b)))) : 'method';
    if (n === 3 && a === 'orders' && c2 === 'payments') return is('POST') ? write([`order:${b}`], () => pay(b, parseBody(rawBody))) : 'method';
    if (n === 3 && a === 'orders' && c2 === 'refunds') return is('POST') ? write([`order:${b}`], () => refund(b, parseBody(rawBody))) : 'method';
    return null;
  };

  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && decoded.slice(0, colon) === user && decoded.slice(colon + 1) === password;
  };

  // ---- wire ----
  const send = (res: ServerResponse, l: Logical, entry: Fake1CRequest): void => sendRendered(res, render(l), entry);
  const sendRendered = (res: ServerResponse, r: Rendered, entry: Fake1CRequest): void => {
    if (res.destroyed) return;
    entry.status = r.status;
    res.writeHead(r.status, { ...r.headers, 'Content-Length': String(Buffer.byteLength(r.body)) });
    res.end(r.body);
  };
  /** Status line, headers and half of the body; no Content-Length, then the connection closes. */
  const sendTruncated = (req: IncomingMessage, l: Logical, entry: Fake1CRequest): void => {
    const r = render(l);
    entry.status = r.status;
    const buf = Buffer.from(r.body, 'utf8');
    const head = [`HTTP/1.1 ${r.status} ${r.status === 201 ? 'Created' : 'OK'}`, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''].join('\r\n');
    const socket = req.socket;
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), buf.subarray(0, Math.max(1, Math.floor(buf.length / 2)))]));
  };
  const hangUntilClosed = (res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      if (res.destroyed || stopped) return resolve();
      const done = (): void => {
        hangs.delete(done);
        resolve();
      };
      hangs.add(done);
      res.once('close', done);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (down) return resetSocket(req.socket);
    concurrent++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, concurrent);
    let counted = true;
    const leave = (): void => {
      if (counted) concurrent--;
      counted = false;
    };
    res.once('close', leave);
    try {
      const rawBody = (await buffer(req)).toString('utf8');
      const entry: Fake1CRequest = { method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, rawBody, status: null };
      log.push(entry);
      stats.requests++;
      if (down) return resetSocket(req.socket);
      const failure = failures.shift();
      if (failure === 'reset') return resetSocket(req.socket);
      if (failure === 'html502') return send(res, raw(502, 'text/html; charset=iso-8859-1', APACHE_502_HTML), entry);

      // ---- the web server: publication, redirect, auth ----
      const url = new URL(req.url ?? '/', 'http://x');
      const pathname = url.pathname;
      const under = (p: string): boolean => pathname === p || pathname.startsWith(`${p}/`);
      const notFound = (): void => send(res, raw(404, 'text/html; charset=iso-8859-1', APACHE_404_HTML), entry);
      let rest: string;
      if (sw.publication === 'redirect') {
        if (under(basePath)) {
          const location = `${altBasePath}${pathname.slice(basePath.length)}${url.search}`;
          return send(res, raw(301, 'text/html; charset=iso-8859-1', apachePage(301, 'Moved Permanently', `The document has moved <a href="${location}">here</a>.`), { Location: location }), entry);
        }
        if (!under(altBasePath)) return notFound();
        rest = pathname.slice(altBasePath.length);
      } else {
        if (sw.publication === '404' || !under(basePath)) return notFound();
        rest = pathname.slice(basePath.length);
      }
      if (!authorized(req))
        return send(res, raw(401, 'text/html; charset=iso-8859-1', APACHE_401_HTML, { 'WWW-Authenticate': 'Basic realm="1C:Enterprise"' }), entry);
      if (failure === 'session-prohibited') return send(res, text(503, TEXT_SESSION_PROHIBITED), entry);
      if (failure === 'no-licence') return send(res, text(500, TEXT_NO_LICENCE), entry);

      // ---- a session from the pool ----
      if (!(await acquireSlot())) {
        stats.overflows++;
        if (sw.overflow === 'hang') return await hangUntilClosed(res);
        if (sw.overflow === '406-xml') return send(res, raw(406, 'application/xml; charset=utf-8', XML_406_SESSION_TIMEOUT), entry);
        if (sw.overflow === '500-text') return send(res, text(500, TEXT_POOL_TIMEOUT), entry);
        return send(res, raw(503, 'text/html; charset=iso-8859-1', APACHE_503_HTML), entry);
      }
      let session: Session | null = null;
      let releaseLocks: (() => void) | false | null = null;
      const heldFrom = performance.now();
      try {
        const taken = takeSession();
        session = taken.session;
        if (taken.fresh) await sleep(sw.sessionStartMs * sw.latencyScale);
        if (stopped) return;
        if (sw.publication === '403') return send(res, text(403, TEXT_FORBIDDEN), entry);
        if (failure === 'hang') return await hangUntilClosed(res);

        const segs = rest.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
        const requestId = String(req.headers['x-regate-request-id'] ?? '') || null;
        const r = route(req.method ?? 'GET', segs, url.searchParams, req, rawBody, requestId);
        if (r === null) return send(res, text(404, `Не найден шаблон URL: ${rest}`), entry);
        if (r === 'method') return send(res, text(405, `Метод ${req.method} не поддерживается для ${rest}`), entry);

        const latency = handlerMs(r.kind);
        let result: Logical;
        let rendered: Rendered | null = null;
        const runGuarded = (): Logical => {
          try {
            return r.run();
          } catch (e) {
            if (e instanceof BusinessError) return businessReply(e);
            throw e;
          }
        };
        if (r.kind === 'write') {
          const reg = sw.requestIdRegister && requestId !== null ? register.get(requestId) : undefined;
          const prior = reg ? (reg.result ?? (await reg.done)) : null;
          if (prior) {
            stats.replays++;
            await sleep(handlerMs('catalogue'));
            result = prior.kind === 'json' ? { ...prior, headers: { ...prior.headers, 'X-ReGate-Replayed': 'true' } } : prior;
          } else {
            const settling = sw.requestIdRegister && requestId !== null ? Promise.withResolvers<Logical | null>() : null;
            const registered: Registered | null = settling && requestId !== null ? { done: settling.promise, result: null } : null;
            if (registered && requestId !== null) register.set(requestId, registered);
            let out: Logical | null = null;
            try {
              releaseLocks = await takeLocks(r.locks ?? []);
              if (releaseLocks === false) {
                stats.lockConflicts++;
                out = text(500, TEXT_LOCK_CONFLICT);
              } else {
                if (gate) await gate.opened;
                await sleep(latency);
                if (stopped) return;
                out = failure === 'text500' ? text(500, TEXT_INTERNAL) : runGuarded();
              }
              result = out;
            } finally {
              if (requestId !== null && settling !== null && registered !== null) {
                // Rolled back (not registered): errors, and business errors answered as 200 text.
                const ok = out !== null && out.kind === 'json' && out.status >= 200 && out.status < 300;
                if (ok) registered.result = out;
                else register.delete(requestId);
                settling.resolve(ok ? out : null);
              }
            }
          }
        } else {
          // A read's answer is built and written out as JSON text inside its handler time, as 1C
          // does: the call takes `latency` from the session on, the fake's own work (a page of
          // JSON) included rather than added.
          if (gate) {
            await gate.opened;
            if (stopped) return;
          }
          const began = performance.now();
          const out = failure === 'text500' ? text(500, TEXT_INTERNAL) : runGuarded();
          rendered = render(out);
          await sleep(Math.max(0, latency - (performance.now() - began)));
          if (stopped) return;
          result = out;
        }
        if (releaseLocks) releaseLocks();
        releaseLocks = null;
        if (failure === 'processed-then-reset') return resetSocket(req.socket);
        if (failure === 'truncated') return sendTruncated(req, result, entry);
        return rendered ? sendRendered(res, rendered, entry) : send(res, result, entry);
      } finally {
        if (releaseLocks) releaseLocks();
        releaseSlot(sw.reuseSessions ? session : null);
        stats.sessionCalls++;
        stats.sessionMs += performance.now() - heldFrom;
      }
    } finally {
      if (res.destroyed || res.writableEnded) leave();
    }
  };

  const makeServer = (): Server => {
    const s = createServer((req, res) => {
      if (sideRoute?.(req, res)) return;
      handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { Server: APACHE, 'Content-Type': 'text/plain; charset=utf-8' });
          res.end((sw.bom ? BOM : '') + TEXT_INTERNAL);
        } else resetSocket(req.socket);
      });
    });
    s.on('connection', (socket: Socket) => {
      if (down) return resetSocket(socket);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return s;
  };
  let server = makeServer();
  const listen = (srv: Server, p: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(p, host ?? '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
  await listen(server, port ?? 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake 1C: no TCP address');
  const boundPort = address.port;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostPart}:${boundPort}`;
  const closeServer = (srv: Server): Promise<void> => {
    const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
    srv.closeAllConnections();
    for (const s of sockets) resetSocket(s);
    return closed;
  };

  const orderOrThrow = (orderId: string): CompanyOrder => {
    const o = findOrder(orderId);
    if (!o) throw new Error(`fake 1C: no order ${orderId}`);
    return o;
  };

  return {
    url,
    baseUrl: url + basePath,
    basePath,
    user,
    password,
    authorization,
    company: () => company,
    orders: () => company.orders.map((o) => structuredClone(o)),
    clients: () => company.clients.map((x) => ({ ...x })),
    requests: log.all,
    clearRequests: log.clear,
    stats: () => ({ ...stats }),
    maxInFlight: () => stats.maxInFlight,
    resetStats: () => {
      stats = zeroStats();
      stats.maxInFlight = busy;
      stats.maxConcurrent = concurrent;
    },
    sessions: () => idle.length + busy,
    configure: (patch) => {
      configure(patch);
      pump();
    },
    switches: () => structuredClone(sw),
    failNext(count, kind) {
      for (let i = 0; i < count; i++) failures.push(kind);
    },
    async setDown(mode) {
      const next = mode === true ? 'reset' : mode;
      if (down === 'refused' && next !== 'refused' && !stopped) {
        server = makeServer();
        await listen(server, boundPort);
      }
      down = next;
      if (next === 'reset') for (const s of sockets) resetSocket(s);
      if (next === 'refused') await closeServer(server);
    },
    now,
    advanceClock(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error('fake 1C: the clock only moves forward');
      clockOffset += ms;
    },
    setStock(storeId, itemId, q) {
      const rows = company.stock[storeId];
      if (!rows || !itemById.has(itemId)) throw new Error(`fake 1C: no store ${storeId} or item ${itemId}`);
      rows[itemId] = { qty: q, updatedAt: now() };
    },
    setPrices(itemId, prices) {
      const item = itemById.get(itemId);
      if (!item) throw new Error(`fake 1C: no item ${itemId}`);
      item.prices = prices.map((p) => ({ ...p }));
      item.updatedAt = now();
    },
    payByBank(orderId) {
      const o = orderOrThrow(orderId);
      if (o.orderStatus !== 0) throw new Error(`fake 1C: order ${o.number} is in status ${o.orderStatus}`);
      const t = now();
      o.payments.push({ id: uuid(idRand), method: 'bank', paymentCode: 2, amount: o.sum, paidAt: t, provider: null, transactionId: null });
      Object.assign(o, { orderStatus: 2, paymentCode: 2, paidAmount: o.sum, paidAt: t, updatedAt: t });
      return structuredClone(o);
    },
    setOrderStatus(orderId, orderStatus) {
      const o = orderOrThrow(orderId);
      o.orderStatus = orderStatus;
      o.updatedAt = now();
      return structuredClone(o);
    },
    hold,
    postRefund(refundId) {
      const o = company.orders.find((x) => x.refunds.some((r) => r.id === refundId));
      const refund = o?.refunds.find((r) => r.id === refundId);
      if (!o || !refund) throw new Error(`fake 1C: no refund ${refundId}`);
      refund.state = 'posted';
      o.orderStatus = 7;
      o.updatedAt = now();
      return structuredClone(o);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      gate?.open();
      sleeps.wakeAll();
      for (const w of [...waiters]) w(false);
      for (const h of [...hangs]) h();
      if (down !== 'refused') await closeServer(server);
    },
  };
}
