import { Pool } from 'undici';
import type { RegateTenant } from './tenants.ts';
import { RegateProblem, unreadable } from './problem.ts';
import type { Journal } from '../journal/index.ts';

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

const LOCK = /блокировк/i;

/**
 * One tenant's 1C HTTP service: one undici pool (at most poolSize connections), Basic auth of the
 * technical user, per-call timeouts, the request id as `X-ReGate-Request-Id`. Tolerates what 1C and
 * its web server really send: a BOM, odd content types, business errors as JSON with 4xx; turns
 * everything else into an UpstreamFailure.
 */
export class Upstream {
  readonly #pool: Pool;
  readonly #tenant: RegateTenant;
  readonly #base: URL;
  readonly #journal: Journal | undefined;

  constructor(tenant: RegateTenant, journal?: Journal) {
    this.#tenant = tenant;
    this.#base = new URL(tenant.baseUrl.replace(/\/+$/, '') + '/');
    this.#pool = new Pool(this.#base.origin, { connections: tenant.poolSize, keepAliveTimeout: 30_000 });
    this.#journal = journal;
  }

  async call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, opts: { body?: unknown; requestId?: string; timeoutMs: number }): Promise<UpstreamAnswer> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${this.#tenant.onecUser}:${this.#tenant.onecPassword}`, 'utf8').toString('base64')}`,
      accept: 'application/json',
    };
    if (opts.requestId) headers['x-regate-request-id'] = opts.requestId;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const started = performance.now();
    let status: number | null = null;
    let text = '';
    let failure: string | undefined;
    try {
      const res = await this.#pool.request({ method, path: url.pathname + url.search, headers, body, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      failure = `${code} ${(e as Error).message}`;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new UpstreamFailure('timeout', new RegateProblem(504, 'onec_timeout', '1С не ответила вовремя', `1С не ответила за ${Math.round(opts.timeoutMs / 1000)} с; результат неизвестен — повторите с тем же Idempotency-Key`));
      }
      throw new UpstreamFailure('down', new RegateProblem(503, 'onec_unavailable', '1С недоступна', `База 1С не отвечает (${code || 'нет связи'}); повторите позже`, { retryAfterSeconds: 30 }));
    } finally {
      this.#journal?.record({ direction: 'out', system: `regate:${this.#tenant.id}`, method, url: url.toString(), status, durationMs: performance.now() - started, requestBody: body, responseBody: text, error: failure, entity: opts.requestId ? `regate:${opts.requestId}` : undefined });
    }
    return this.#answer(status!, text);
  }

  #answer(status: number, raw: string): UpstreamAnswer {
    const text = raw.replace(/^\uFEFF/, '');
    if (status === 401 || status === 403) {
      throw new UpstreamFailure('refused_auth', new RegateProblem(502, 'onec_auth', '1С не пустила Спутник', `1С отказала техническому пользователю (HTTP ${status}): проверьте логин, пароль и роль ReGate в настройках базы`, { retryable: false }));
    }
    let body: unknown;
    try {
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      if (status >= 500 && LOCK.test(text)) throw new UpstreamFailure('overload', new RegateProblem(503, 'onec_locked', 'Данные в 1С заблокированы', `1С занята этими же данными: ${text.slice(0, 300)}`, { retryAfterSeconds: 5 }));
      if (status === 503 || /сеанс/i.test(text)) throw new UpstreamFailure('overload', new RegateProblem(503, 'onec_busy', '1С перегружена', `1С не может начать сеанс: ${text.slice(0, 300)}`, { retryAfterSeconds: 10 }));
      throw new UpstreamFailure('bad_answer', unreadable(raw, status));
    }
    if (status >= 500) throw new UpstreamFailure('bad_answer', unreadable(raw, status));
    return { status, body };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
