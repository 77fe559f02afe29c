import { Agent, EnvHttpProxyAgent, ProxyAgent, request, type Dispatcher } from 'undici';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/schema.ts';
import { DeliveryError } from '../errors.ts';
import type { Journal } from '../journal/index.ts';
import { systemTitle } from '../journal/wording.ts';

/**
 * The one outbound HTTP setup: keep-alive, connect/response timeouts, a proxy (configured or
 * from HTTPS_PROXY/NO_PROXY), an extra CA; every call journaled (redacted); failures classified
 * for the outbox (transport → retry, 401/403 → auth, other 4xx → the caller decides).
 */
export function createDispatcher(cfg: Config['http']): Dispatcher {
  const ca = cfg.caFile ? [...rootCertificates, readFileSync(cfg.caFile, 'utf8')] : undefined;
  const common = {
    keepAliveTimeout: 10_000,
    connectTimeout: cfg.connectTimeoutSeconds * 1000,
    headersTimeout: cfg.timeoutSeconds * 1000,
    bodyTimeout: cfg.timeoutSeconds * 1000,
    ...(ca ? { connect: { ca } } : {}),
  };
  if (cfg.proxy) return new ProxyAgent({ uri: cfg.proxy, ...common, ...(ca ? { requestTls: { ca }, proxyTls: { ca } } : {}) });
  if (process.env.HTTPS_PROXY || process.env.HTTP_PROXY || process.env.https_proxy || process.env.http_proxy) return new EnvHttpProxyAgent(common);
  return new Agent(common);
}

export interface OutboundRequest {
  system: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  entity?: string;
  jobId?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class HttpClient {
  readonly #dispatcher: Dispatcher;
  readonly #journal: Journal | undefined;

  constructor(dispatcher: Dispatcher, journal?: Journal) {
    this.#dispatcher = dispatcher;
    this.#journal = journal;
  }

  /**
   * One call. Network failures and timeouts throw DeliveryError('retry'); any HTTP status is
   * returned, and journaled as failed when it is 4xx/5xx.
   */
  send(req: OutboundRequest): Promise<OutboundResponse> {
    return this.#exchange(req, (res) => ({ value: res, failed: res.status >= 400 }));
  }

  /**
   * One call whose answer `judge` reads: what it returns is the call's result, and what it throws
   * (a refusal in a 200 answer: Passteam's `code`, PayKeeper's `result: fail`, a PHP error page)
   * marks the journaled exchange failed with that error, so the journal never shows such an answer
   * as a success. Network failures throw DeliveryError('retry') in staff wording.
   */
  call<T>(req: OutboundRequest, judge: (res: OutboundResponse) => T): Promise<T> {
    return this.#exchange(req, (res) => ({ value: judge(res), failed: false }));
  }

  async #exchange<T>(req: OutboundRequest, verdict: (res: OutboundResponse) => { value: T; failed: boolean }): Promise<T> {
    const started = performance.now();
    let status: number | null = null;
    let res: OutboundResponse;
    try {
      const answer = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: this.#dispatcher,
        signal: req.signal,
        ...(req.timeoutMs ? { headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs } : {}),
      });
      status = answer.statusCode;
      res = { status, headers: answer.headers, text: await answer.body.text() };
    } catch (error) {
      const failure = describeNetworkError(error, req.url, req.system);
      this.#record(req, started, status, undefined, true, failure, networkDetail(error, req.url));
      throw new DeliveryError('retry', 'network_error', failure, { cause: error });
    }
    try {
      const { value, failed } = verdict(res);
      this.#record(req, started, status, res.text, failed);
      return value;
    } catch (error) {
      this.#record(req, started, status, res.text, true, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  #record(req: OutboundRequest, started: number, status: number | null, text: string | undefined, failed: boolean, error?: string, detail?: string): void {
    this.#journal?.record({
      direction: 'out',
      system: req.system,
      method: req.method,
      url: req.url,
      status,
      durationMs: performance.now() - started,
      requestBody: req.body,
      responseBody: text,
      failed,
      error,
      detail,
      entity: req.entity,
      jobId: req.jobId,
    });
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }

  /** Aborts whatever is still in flight (after the stop's grace period ran out). */
  destroy(): Promise<void> {
    return this.#dispatcher.destroy();
  }
}

const AGAIN = 'Спутник повторит сам';

/**
 * A transport failure as staff read it: which service, what happened, what to do. The host, port
 * and error code are for «Подробнее» (networkDetail), not for this sentence.
 */
export function describeNetworkError(error: unknown, url: string, system?: string): string {
  const who = system ? systemTitle(system) : safeHost(url);
  switch (codeOf(error)) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Не удалось найти сервер ${who} по адресу из настроек: проверьте адрес и подключение к интернету. ${AGAIN}`;
    case 'ECONNREFUSED':
      return `${who} отказал в соединении: сервис не запущен или в настройках не тот адрес. ${AGAIN}`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `Связь с ${who} оборвалась во время обмена. ${AGAIN}; если это повторяется, проверьте интернет на этом компьютере`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `${who} не отвечает на подключение: проверьте интернет на этом компьютере (или не мешает ли файрвол). ${AGAIN}`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    // The caller's AbortSignal.timeout(): undici throws the signal's reason, a DOMException.
    case 'TimeoutError':
      return `${who} не ответил вовремя. ${AGAIN}`;
    // AbortController.abort() (a stop, a cancelled pull) throws the signal's DOMException; Node's
    // own AbortError says ABORT_ERR; the dispatcher destroyed after the stop's grace, UND_ERR_DESTROYED.
    case 'AbortError':
    case 'ABORT_ERR':
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_DESTROYED':
      return `Обмен с ${who} прерван: Спутник останавливается или обмен отменён`;
    case 'CERT_HAS_EXPIRED':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `Спутник не доверяет сертификату сервера ${who}: администратору нужно указать корневой сертификат в настройках связи Спутника (http.caFile)`;
  }
  return `Нет связи с ${who}. ${AGAIN}; если это повторяется, проверьте интернет на этом компьютере`;
}

/** The same failure for «Подробнее»: code, host and the library's own words. */
export function networkDetail(error: unknown, url: string): string {
  const message = read(error, 'message') ?? String(error);
  return `${codeOf(error) ?? 'error'} ${safeHost(url)}: ${message}`;
}

/**
 * Node's and undici's `code`, its cause's, or the error's name. Only text counts: a DOMException's
 * `code` is a legacy number (20 for AbortError, 23 for TimeoutError) and its name says what it is.
 */
function codeOf(error: unknown): string | undefined {
  for (const code of [read(error, 'code'), read(read(error, 'cause'), 'code'), read(error, 'name')]) if (typeof code === 'string') return code;
  return undefined;
}

/** `v[key]` as property access reads it, own or inherited (an Error's `name`, a DOMException's `code` are on the prototype). */
function read(v: unknown, key: 'code' | 'name' | 'cause' | 'message'): unknown {
  return typeof v === 'object' && v !== null && key in v ? Reflect.get(v, key) : undefined;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Maps a remote HTTP status to the outbox outcome when the protocol has no better signal. */
export function classifyStatus(status: number): 'ok' | 'retry' | 'auth' | 'refused' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}

/**
 * The outbox outcome of a remote answer when its protocol has no better signal: 2xx passes,
 * 401/403 pause the connector, 408/425/429/5xx are retried (honouring Retry-After), other 4xx
 * are business refusals. Connectors whose protocol says more (a `code` in the body) decide first.
 */
export function assertDelivered(res: OutboundResponse, system: string): void {
  const outcome = classifyStatus(res.status);
  if (outcome === 'ok') return;
  const detail = res.text.slice(0, 200).replace(/\s+/g, ' ').trim();
  if (outcome === 'auth') {
    throw new DeliveryError('auth', 'credentials_refused', `${system}: учётные данные отклонены (HTTP ${res.status}); обмен приостановлен до изменения настроек`, { status: 502 });
  }
  if (outcome === 'retry') {
    const after = Number(res.headers['retry-after']);
    throw new DeliveryError('retry', `http_${res.status}`, `${system}: сервис временно недоступен (HTTP ${res.status})${detail ? `: ${detail}` : ''}`, {
      retryAfterMs: Number.isFinite(after) && after > 0 ? Math.min(after, 3600) * 1000 : undefined,
    });
  }
  throw new DeliveryError('refused', `http_${res.status}`, `${system}: запрос отклонён (HTTP ${res.status})${detail ? `: ${detail}` : ''}`, { status: 422 });
}
