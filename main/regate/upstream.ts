import { Worker } from 'node:worker_threads';
import type { RegateTenant } from './tenants.ts';
import { ceilingOf } from './limiter.ts';
import { LimiterTimeout, type CallKind } from './sessions.ts';
import { RegateProblem, unreadable } from './problem.ts';
import type { Journal } from '../journal/index.ts';
import type { ClusterSpec } from './repos/types.ts';

export interface UpstreamAnswer {
  status: number;
  body: unknown;
}

/** Why a call to 1C failed, for the limiter (overload backs off) and for the status the caller gets. */
export class UpstreamFailure extends Error {
  readonly kind: 'down' | 'timeout' | 'overload' | 'bad_answer' | 'refused_auth';
  readonly problem: RegateProblem;
  constructor(kind: UpstreamFailure['kind'], problem: RegateProblem) {
    super(problem.message);
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.problem = problem;
  }
}

/**
 * How much of a successful read's page the journal keeps (in and out). Pages are bulky, 1C gives
 * them again on request, and uncached reads under Richest.store's load would otherwise push every
 * other exchange out of the journal's size cap within minutes; writes and errors are kept whole.
 */
export const JOURNAL_PAGE_BYTES = 2048;

const LOCK = /блокировк/i;
const SESSION = /сеанс/i;

/** A call to a tenant's 1C HTTP service (`path` relative to its base URL; `body` sent as JSON). */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  path: string;
  body?: unknown;
  requestId?: string;
  timeoutMs: number;
}

/**
 * 1C's answer as the gateway takes it: JSON (after a BOM), business errors as JSON with 4xx;
 * anything else becomes an UpstreamFailure.
 */
export function classify(status: number, raw: string): UpstreamAnswer {
  const text = raw.replace(/^\uFEFF/, '');
  if (status === 401 || status === 403) {
    throw new UpstreamFailure('refused_auth', new RegateProblem(502, 'onec_auth', '1С не пустила Спутник', `1С отказала техническому пользователю (HTTP ${status}): проверьте логин, пароль и роль ReGate в настройках базы`, { retryable: false }));
  }
  let body: unknown;
  try {
    body = text.trim() === '' ? null : JSON.parse(text);
  } catch {
    if (status >= 500 && LOCK.test(text)) throw new UpstreamFailure('overload', new RegateProblem(503, 'onec_locked', 'Данные в 1С заблокированы', `1С занята этими же данными: ${text.slice(0, 300)}`, { retryAfterSeconds: 5 }));
    if (status === 503 || SESSION.test(text)) throw new UpstreamFailure('overload', new RegateProblem(503, 'onec_busy', '1С перегружена', `1С не может начать сеанс: ${text.slice(0, 300)}`, { retryAfterSeconds: 10 }));
    throw new UpstreamFailure('bad_answer', unreadable(raw, status));
  }
  if (status >= 500) throw new UpstreamFailure('bad_answer', unreadable(raw, status));
  return { status, body };
}

/** Whether an answer says 1C is overloaded (the limiter backs off); cheap for the common answers. */
export function isOverload(status: number, raw: string): boolean {
  if (status < 500 && !SESSION.test(raw)) return false;
  try {
    classify(status, raw);
    return false;
  } catch (e) {
    return e instanceof UpstreamFailure && e.kind === 'overload';
  }
}

// ---- the protocol between the gateway and its upstream thread (upstream-thread.ts) ----

/** Slots of a tenant's shared stats (Int32Array over a SharedArrayBuffer the thread writes). */
export const STAT = { limit: 0, inFlight: 1, queued: 2, maxInFlight: 3 } as const;
/** `cluster`: each call also takes one of the base's slots shared by every gateway (PostgreSQL, opened on the thread from a ClusterSpec). */
export interface ThreadTenant { id: string; baseUrl: string; poolSize: number; authorization: string; stats: SharedArrayBuffer; cluster?: boolean }
/** An UpstreamRequest as the thread sends it: `path` on 1C's server (the base's path included), the body as JSON text. */
export type ThreadCall = Omit<UpstreamRequest, 'body'> & { body?: string };

/** undici's codes for a 1C call that outlasted its timeout (the outcome is unknown; the limiter backs off). */
export const isTimeoutCode = (code: string) => code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
export type ThreadRequest =
  | { type: 'open'; tenant: ThreadTenant }
  | ({ type: 'call'; id: number; tenant: string; kind: CallKind; key?: string; waitMs?: number } & ThreadCall)
  | { type: 'close' }
  /** The cluster-wide cap's store: calls of `cluster` tenants take a slot there (until this comes, they are refused). */
  | { type: 'cluster'; spec: ClusterSpec };
export type ThreadReply =
  | { id: number; status: number; text: string; ms: number }
  | { id: number; error: { code: string; message: string }; ms: number }
  | { id: number; slotTimeout: true }
  /** The cluster-wide cap could not be asked: its store is away (or not opened yet). Nothing went to 1C. */
  | { id: number; clusterRefused: { retryAfterSeconds: number } };
/** A call's answer as the gateway sees it (a refused cluster slot rejects with the 503 problem instead). */
export type CallReply = Exclude<ThreadReply, { clusterRefused: unknown }>;

// Source runs as .ts (Node's type stripping); the desktop bundle has the thread as its own entry next to desktop.js.
const THREAD_FILE = import.meta.url.endsWith('.ts') ? './upstream-thread.ts' : './regate-upstream.js';

/**
 * The gateway's side of the upstream thread: starts it on the first call, opens every tenant in
 * it, matches answers to calls. One thread serves all tenants of a gateway.
 */
export class UpstreamThread {
  #worker: Worker | null = null;
  #closed = false;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (r: CallReply) => void; reject: (e: unknown) => void }>();
  readonly #tenants = new Map<string, ThreadTenant>();
  #cluster: ClusterSpec | undefined;

  /** The cluster-wide cap (a shared store): tenants opened with `cluster` take one of its slots per call, on the thread. */
  useCluster(spec: ClusterSpec): void {
    this.#cluster = spec;
    this.#worker?.postMessage({ type: 'cluster', spec } satisfies ThreadRequest);
  }

  open(t: ThreadTenant): void {
    this.#tenants.set(t.id, t);
    this.#worker?.postMessage({ type: 'open', tenant: t } satisfies ThreadRequest);
  }

  /** The thread's answer; rejects with the store's error when the cluster-wide cap could not be asked (its store away). */
  call(tenant: string, kind: CallKind, opts: { key?: string; waitMs?: number }, c: ThreadCall): Promise<CallReply> {
    const id = this.#next++;
    // After close (Sputnik stopping): no new thread; a late call ends as "1C unreachable" (a write stays queued).
    if (this.#closed) return Promise.resolve({ id, error: { code: 'ERR_CLOSED', message: 'ReGate is stopping' }, ms: 0 });
    const worker = this.#started();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'call', id, tenant, kind, ...opts, ...c } satisfies ThreadRequest);
    });
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(new URL(THREAD_FILE, import.meta.url));
    w.unref();
    w.on('message', (r: ThreadReply) => {
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      if ('clusterRefused' in r) {
        p?.reject(new RegateProblem(503, 'store_unavailable', 'Хранилище ReGate недоступно', 'Общее хранилище шлюзов (PostgreSQL) недоступно; повторите позже', { retryAfterSeconds: r.clusterRefused.retryAfterSeconds }));
      } else p?.resolve(r);
    });
    // A thread that died takes its calls with it: they end as transport errors (1C unreachable), and the next call starts a new thread.
    const died = (message: string) => {
      if (this.#worker !== w) return;
      this.#worker = null;
      for (const [id, p] of this.#pending) p.resolve({ id, error: { code: 'ERR_THREAD', message }, ms: 0 });
      this.#pending.clear();
    };
    w.on('error', (e) => died(e.message));
    w.on('exit', (code) => died(`upstream thread exited (${code})`));
    for (const t of this.#tenants.values()) w.postMessage({ type: 'open', tenant: t } satisfies ThreadRequest);
    if (this.#cluster) w.postMessage({ type: 'cluster', spec: this.#cluster } satisfies ThreadRequest);
    this.#worker = w;
    return w;
  }

  /** Lets calls in flight end (at most `graceMs`), then stops the thread for good. */
  async close(graceMs = 5000): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    if (!w) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      w.on('message', (m: { closed?: boolean }) => m.closed && (clearTimeout(timer), resolve()));
      w.once('exit', () => (clearTimeout(timer), resolve()));
    });
    w.postMessage({ type: 'close' } satisfies ThreadRequest);
    await closed;
    await w.terminate();
  }
}

/**
 * One tenant's 1C HTTP service: its cap and its undici pool live in the upstream thread (at most
 * poolSize connections, Basic auth of the technical user, per-call timeouts, the request id as
 * `X-ReGate-Request-Id`); here each call is journaled and its answer classified.
 */
export class Upstream {
  readonly #tenant: RegateTenant;
  readonly #thread: UpstreamThread;
  readonly #journal: Journal | undefined;
  readonly #stats: Int32Array;
  readonly #base: URL;
  /** The cap's ceiling (see ceilingOf). */
  readonly ceiling: number;

  constructor(tenant: RegateTenant, thread: UpstreamThread, journal?: Journal, opts: { cluster?: boolean } = {}) {
    this.#tenant = tenant;
    this.#thread = thread;
    this.#journal = journal;
    this.#base = new URL(tenant.baseUrl.replace(/\/+$/, '') + '/');
    this.ceiling = ceilingOf(tenant.poolSize);
    const stats = new SharedArrayBuffer(4 * Object.keys(STAT).length);
    this.#stats = new Int32Array(stats);
    this.#stats[STAT.limit] = this.ceiling;
    const authorization = `Basic ${Buffer.from(`${tenant.onecUser}:${tenant.onecPassword}`, 'utf8').toString('base64')}`;
    thread.open({ id: tenant.id, baseUrl: tenant.baseUrl, poolSize: tenant.poolSize, authorization, stats, cluster: opts.cluster ?? false });
  }

  get limit(): number {
    return Atomics.load(this.#stats, STAT.limit);
  }
  get inFlight(): number {
    return Atomics.load(this.#stats, STAT.inFlight);
  }
  get queued(): number {
    return Atomics.load(this.#stats, STAT.queued);
  }
  /** The most calls ever in flight at once. */
  get maxInFlight(): number {
    return Atomics.load(this.#stats, STAT.maxInFlight);
  }

  /**
   * Waits for a slot of the cap (at most `waitMs`, then LimiterTimeout), makes the call, frees
   * the slot with the outcome that steers the AIMD limit. Rejects with UpstreamFailure otherwise.
   */
  async call(kind: CallKind, c: UpstreamRequest, opts: { key?: string; waitMs?: number } = {}): Promise<UpstreamAnswer> {
    const { method } = c;
    const target = new URL(c.path.replace(/^\//, ''), this.#base);
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    const r = await this.#thread.call(this.#tenant.id, kind, opts, { method, path: target.pathname + target.search, body, requestId: c.requestId, timeoutMs: c.timeoutMs });
    if ('slotTimeout' in r) throw new LimiterTimeout(kind);
    const url = target.toString();
    const failure = 'error' in r ? `${r.error.code} ${r.error.message}` : undefined;
    const status = 'status' in r ? r.status : null;
    this.#journal?.record({
      direction: 'out',
      system: `regate:${this.#tenant.id}`,
      method,
      url,
      status,
      durationMs: r.ms,
      requestBody: body,
      responseBody: 'text' in r ? r.text : '',
      responseLimitBytes: kind === 'read' && status !== null && status < 400 ? JOURNAL_PAGE_BYTES : undefined,
      error: failure,
      entity: c.requestId ? `regate:${c.requestId}` : undefined,
    });
    if ('error' in r) {
      const code = r.error.code;
      if (isTimeoutCode(code)) {
        throw new UpstreamFailure('timeout', new RegateProblem(504, 'onec_timeout', '1С не ответила вовремя', `1С не ответила за ${Math.round(c.timeoutMs / 1000)} с; результат неизвестен — повторите с тем же Idempotency-Key`));
      }
      throw new UpstreamFailure('down', new RegateProblem(503, 'onec_unavailable', '1С недоступна', `База 1С не отвечает (${code || 'нет связи'}); повторите позже`, { retryAfterSeconds: 30 }));
    }
    return classify(r.status, r.text);
  }
}
