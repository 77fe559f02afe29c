import { EventEmitter } from 'node:events';
import pg from 'pg';
import { errorCode, errorMessage, prop, toError } from '../../unknown.ts';

// pg reads a query's own `query_timeout` (lib/client.js: `config.query_timeout || …`); @types/pg
// types it on the client's config only, not on QueryConfig.
declare module 'pg' {
  interface QueryConfig<I> {
    query_timeout?: number;
  }
}

/**
 * ReGate's connection to a shared PostgreSQL: one pg.Pool, transactions, and a health state the
 * gateway and the window show. PostgreSQL going away must not turn into requests that hang or 2xx
 * answers for writes that were not stored, so the first connection-class failure marks the store
 * `down`, every query then fails at once with `PgUnavailable` (the gateway answers 503 with
 * Retry-After), and a `SELECT 1` probe every second brings it back `up` by itself.
 */

/** What the store's timers need (injectable so tests and the core can drive them). */
export interface PgTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A real timer's handle: what `realTimers.clearTimeout` recognises as its own. */
class RealTimer {
  readonly timeout: NodeJS.Timeout;
  constructor(fn: () => void, ms: number) {
    this.timeout = setTimeout(fn, ms);
    // A probe or a reconnect must never keep a stopping process alive.
    this.timeout.unref();
  }
}

export const realTimers: PgTimers = {
  setTimeout: (fn, ms) => new RealTimer(fn, ms),
  clearTimeout: (h) => {
    if (h instanceof RealTimer) clearTimeout(h.timeout);
  },
};

export interface PgStoreOptions {
  /** postgres://user@host:port/db; a password in it is ignored when `password` is given. */
  url: string;
  /** Kept apart from the URL (it comes from SPUTNIK_REGATE_PG_PASSWORD); never logged or put in an error. */
  password?: string;
  /** Pool size per instance (default 10). */
  max?: number;
  /** Probe interval while down (default 1000 ms). */
  probeIntervalMs?: number;
  /** How long a new connection may take before it counts as PostgreSQL being unreachable (default 5000 ms). */
  connectTimeoutMs?: number;
  timers?: PgTimers;
  /** Shown in pg_stat_activity, so an operator sees which instance holds what. */
  applicationName?: string;
}

export type PgHealth =
  | { state: 'up' }
  | { state: 'down'; since: number; reason: string }
  | { state: 'reconnecting'; since: number; reason: string };

/** The one error a caller sees while PostgreSQL is away: the gateway maps it to 503 + Retry-After. */
export class PgUnavailable extends Error {
  readonly code = 'pg_unavailable';
  readonly retryAfterSeconds: number;
  /** The Russian reason (also the message), e.g. «PostgreSQL недоступен: соединение отклонено (127.0.0.1:5432)». */
  readonly reason: string;
  constructor(reason: string, retryAfterSeconds: number) {
    super(reason);
    this.name = 'PgUnavailable';
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A transaction's handle: only queries (COMMIT/ROLLBACK and the client's release belong to `tx`). */
export interface PgTx {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Errors that say the server or the way to it is gone, not that a statement was wrong. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ECONNABORTED']);
const SERVER_GONE = new Set(['57P01', '57P02', '57P03']); // admin shutdown, crash shutdown, cannot connect now (starting/stopping)
const LOGIN_REFUSED = new Set(['28P01', '28000', '3D000']); // wrong password, no such role/host rule, no such database
const NET_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'Connection terminated',
];

/**
 * Whether an error means PostgreSQL is unreachable. A pool that is merely busy ("timeout exceeded
 * when trying to connect": every client checked out) is not: that is load, not an outage.
 */
export function isConnectionError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = errorCode(e) ?? '';
  if (NET_CODES.has(code) || SERVER_GONE.has(code) || LOGIN_REFUSED.has(code) || code.startsWith('08')) return true;
  const message = prop(e, 'message');
  if (typeof message === 'string' && NET_MESSAGES.includes(message)) return true;
  // AggregateError (happy eyeballs over several addresses) and wrapped causes.
  const inner = prop(e, 'errors');
  if (Array.isArray(inner) && inner.some(isConnectionError)) return true;
  const cause = prop(e, 'cause');
  return cause !== undefined && cause !== e && isConnectionError(cause);
}

/** The staff's sentence for a connection-class error (Russian, no password, no stack). */
export function reasonOf(e: unknown, where: { host: string; port: string; user: string; database: string }): string {
  const inner = prop(e, 'errors');
  const code = errorCode(e) ?? (Array.isArray(inner) ? errorCode(inner[0]) : undefined) ?? '';
  const message = prop(e, 'message');
  const text = typeof message === 'string' ? message : '';
  const at = `${where.host}:${where.port}`;
  let why: string;
  if (code === 'ECONNREFUSED') why = `соединение отклонено (${at})`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `адрес ${where.host} не найден`;
  else if (code === 'ETIMEDOUT' || text.includes('connection timeout')) why = `нет ответа от ${at}`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') why = `${at} недостижим по сети`;
  else if (code === '57P01' || code === '57P02') why = 'сервер остановлен или перезапускается';
  else if (code === '57P03') why = 'сервер запускается или останавливается';
  else if (code === '28P01') why = `неверный пароль пользователя ${where.user}`;
  else if (code === '28000') why = `пользователю ${where.user} вход запрещён`;
  else if (code === '3D000') why = `нет базы данных ${where.database}`;
  else if (code.startsWith('08')) why = `ошибка соединения (код ${code})`;
  else why = 'соединение оборвалось';
  return `PostgreSQL недоступен: ${why}`;
}

/** The probe: an answer within 5 s, or pg's own 'Query read timeout'. */
const PROBE: pg.QueryConfig = { text: 'SELECT 1', query_timeout: 5000 };
const isReadTimeout = (e: unknown) => e instanceof Error && e.message === 'Query read timeout';

/** node-postgres lets a connection string's (empty) password win over `password`, so the password goes into the string, kept private. */
function connectionString(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * Prepared statements' names, one per statement text (the store's statements are a fixed set of
 * templates; node-postgres prepares a name once per connection, again on a new one). Bounded: a
 * text beyond it runs unnamed, as before.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED = 500;
function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `regate_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

export class PgStore extends EventEmitter<{ down: [PgHealth]; up: [PgHealth]; state: [PgHealth] }> {
  readonly #pool: pg.Pool;
  readonly #secret: string | undefined;
  readonly #where: { host: string; port: string; user: string; database: string };
  readonly #timers: PgTimers;
  readonly #probeMs: number;
  readonly #config: pg.ClientConfig;
  #health: PgHealth = { state: 'up' };
  #probeTimer: unknown = null;
  #closed = false;

  constructor(opts: PgStoreOptions) {
    super();
    const u = new URL(opts.url);
    this.#where = { host: u.hostname, port: u.port || '5432', user: decodeURIComponent(u.username), database: decodeURIComponent(u.pathname.slice(1)) };
    this.#secret = opts.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    this.#timers = opts.timers ?? realTimers;
    this.#probeMs = opts.probeIntervalMs ?? 1000;
    this.#config = {
      connectionString: connectionString(opts.url, opts.password),
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      keepAlive: true,
      application_name: opts.applicationName ?? 'sputnik-regate',
    };
    this.#pool = new pg.Pool({ ...this.#config, max: opts.max ?? 10, idleTimeoutMillis: 30_000 });
    // An idle client's socket dying (server stopped) is reported here; unhandled, it would crash the
    // process. It is a hint, not proof (one backend may have been terminated): a probe decides.
    this.#pool.on('error', (e) => {
      if (isConnectionError(e) && this.#health.state === 'up') void this.#checkNow();
    });
  }

  get health(): PgHealth {
    return this.#health;
  }

  /** What a second pg.Client needs to reach the same server (the LISTEN client); private to this folder. */
  clientConfig(): pg.ClientConfig {
    return { ...this.#config };
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    this.#ensureUp();
    try {
      // A statement with parameters runs as a named prepared statement: each connection parses and
      // plans it once, not on every call (the same few statements run hundreds of times a second).
      // A pooler between the instances and PostgreSQL must keep them per server connection
      // (PgBouncer in transaction mode: 1.21+ with max_prepared_statements).
      const name = params === undefined ? undefined : statementName(text);
      return await this.#pool.query<R>(name === undefined ? { text, values: params } : { name, text, values: params });
    } catch (e) {
      throw this.#failed(e);
    }
  }

  /**
   * Runs `fn` in a transaction. Serialization failures and deadlocks (40001, 40P01) are retried a
   * few times: the transaction was rolled back, so running `fn` again is safe by construction. A
   * client whose ROLLBACK failed (its connection broke) is destroyed, never returned to the pool.
   */
  async tx<T>(fn: (tx: PgTx) => Promise<T>, opts: { retries?: number } = {}): Promise<T> {
    const retries = opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      this.#ensureUp();
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (e) {
        throw this.#failed(e);
      }
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const handle: PgTx = { query: (text, params) => client.query(text, params) };
        const result = await fn(handle);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = toError(rollbackError);
        }
        if (isConnectionError(e)) broken ??= toError(e);
        const code = errorCode(e);
        if ((code === '40001' || code === '40P01') && attempt < retries && !broken) continue;
        throw this.#failed(e);
      } finally {
        // release(error) destroys the client: a half-dead connection must not serve the next caller.
        client.release(broken);
      }
    }
  }

  /**
   * Resolves once PostgreSQL answers (start-up: the instance needs its schema before it serves);
   * while it is down, waits for the probe to bring it up, at most `timeoutMs` (then PgUnavailable
   * with the current reason: a wrong password never heals by itself).
   */
  async ready(timeoutMs?: number): Promise<void> {
    if (this.#health.state === 'up') {
      try {
        await this.query('SELECT 1');
        return;
      } catch (e) {
        if (!(e instanceof PgUnavailable)) throw e;
      }
    }
    await new Promise<void>((resolve, reject) => {
      let timer: unknown = null;
      const onUp = () => {
        if (timer !== null) this.#timers.clearTimeout(timer);
        resolve();
      };
      this.once('up', onUp);
      if (this.#closed) {
        this.off('up', onUp);
        reject(new PgUnavailable('PostgreSQL: соединение закрыто', 1));
        return;
      }
      if (timeoutMs !== undefined) {
        timer = this.#timers.setTimeout(() => {
          this.off('up', onUp);
          const h = this.#health;
          reject(new PgUnavailable(h.state === 'up' ? 'PostgreSQL недоступен' : h.reason, this.#retryAfter()));
        }, timeoutMs);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probeTimer !== null) this.#timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    await this.#pool.end().catch(() => undefined);
  }

  #ensureUp(): void {
    if (this.#closed) throw new PgUnavailable('PostgreSQL: соединение закрыто', 1);
    if (this.#health.state !== 'up') throw new PgUnavailable(this.#health.reason, this.#retryAfter());
  }

  #retryAfter(): number {
    return Math.max(1, Math.ceil((this.#probeMs * 2) / 1000));
  }

  /** A failed call's error as the caller sees it: an outage becomes PgUnavailable; nothing carries the password. */
  #failed(e: unknown): Error {
    if (e instanceof PgUnavailable) return e;
    if (isConnectionError(e)) {
      const reason = reasonOf(e, this.#where);
      this.#markDown(reason);
      return new PgUnavailable(reason, this.#retryAfter());
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.#secret && err.message.includes(this.#secret)) err.message = err.message.split(this.#secret).join('***');
    return err;
  }

  #set(h: PgHealth): void {
    const was = this.#health.state;
    this.#health = h;
    this.emit('state', h);
    if (h.state === 'down' && was === 'up') this.emit('down', h);
    if (h.state === 'up' && was !== 'up') this.emit('up', h);
  }

  #markDown(reason: string): void {
    if (this.#closed) return;
    if (this.#health.state === 'up') {
      this.#set({ state: 'down', since: Date.now(), reason });
      // The first probe goes at once: a single terminated backend should cost no more than a round trip.
      this.#scheduleProbe(0);
    } else if (this.#health.state === 'down' && this.#health.reason !== reason) {
      this.#set({ ...this.#health, reason });
    }
  }

  /** An idle client died: probe once, and only a failed probe marks the store down. */
  async #checkNow(): Promise<void> {
    try {
      await this.#pool.query(PROBE);
    } catch (e) {
      if (isConnectionError(e) || isReadTimeout(e)) this.#markDown(reasonOf(e, this.#where));
    }
  }

  #scheduleProbe(ms: number): void {
    if (this.#probeTimer !== null || this.#closed) return;
    this.#probeTimer = this.#timers.setTimeout(() => {
      this.#probeTimer = null;
      void this.#probe();
    }, ms);
  }

  async #probe(): Promise<void> {
    if (this.#closed || this.#health.state === 'up') return;
    const since = this.#health.since;
    this.#set({ state: 'reconnecting', since, reason: this.#health.reason });
    try {
      await this.#pool.query(PROBE);
      if (!this.#closed) this.#set({ state: 'up' });
    } catch (e) {
      if (this.#closed) return;
      const reason = isConnectionError(e) ? reasonOf(e, this.#where) : isReadTimeout(e) ? reasonOf({ code: 'ETIMEDOUT' }, this.#where) : `PostgreSQL недоступен: ${this.#scrub(errorMessage(e))}`;
      this.#set({ state: 'down', since, reason });
      this.#scheduleProbe(this.#probeMs);
    }
  }

  #scrub(text: string): string {
    return this.#secret ? text.split(this.#secret).join('***') : text;
  }
}
