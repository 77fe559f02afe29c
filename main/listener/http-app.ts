import type { FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import type { Socket } from 'node:net';
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { z } from 'zod';
import { SputnikError, errors } from '../errors.ts';
import { isStoreDown } from '../store/group-commit.ts';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';
import { endWithRawResponse, failedRequest, type ParserError } from '../http-server/raw-response.ts';
import { sameSecret } from '../http-server/secret.ts';

export { endWithRawResponse, failedRequest, sameSecret, type ParserError };

/**
 * What the 1C listener and the admin API share: the one error shape for every failure (including
 * the framework's own: unknown route, wrong method, body limit, over-long URL or headers), zod
 * validation with Russian messages naming the field, canonical header casing, and Host checks.
 */

export const MAX_URL_LENGTH = 8192;

export function serverOptions(opts: { bodyLimit: number; requestTimeoutMs: number; logger?: FastifyServerOptions['loggerInstance'] }): FastifyHttpOptions<Server> {
  return {
    bodyLimit: opts.bodyLimit,
    requestTimeout: opts.requestTimeoutMs,
    connectionTimeout: opts.requestTimeoutMs,
    keepAliveTimeout: 5000,
    return503OnClosing: true,
    exposeHeadRoutes: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    http: { ServerResponse: CanonicalServerResponse },
    clientErrorHandler: clientError,
    frameworkErrors: frameworkError,
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
  };
}

export function errorBody(status: number, code: string, message: string, field?: string): string {
  return JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });
}

/** Errors Node's HTTP parser raises before fastify sees a request (over-long URL or headers, garbage). */
function clientError(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const failed = failedRequest(err);
  let status = 400;
  let body = errorBody(400, 'malformed_request', 'Запрос не по протоколу HTTP/1.1');
  const verb = err.code === 'HPE_INVALID_METHOD' ? /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}) \//.exec(failed.line)?.[1] : undefined;
  if (verb) {
    // A verb Node's parser does not know (ВызватьHTTPМетод("FOO", …)): the same answer as a known but unrouted one.
    status = 405;
    body = errorBody(405, 'method_not_allowed', `Метод ${verb} не поддерживается API Спутника`);
  } else if (err.code === 'HPE_INVALID_URL') {
    body = errorBody(
      400,
      'malformed_request',
      'В адресе запроса недопустимые символы (кириллица, пробел): кодируйте части адреса через КодироватьСтроку(Значение, СпособКодированияСтроки.КодировкаURL)',
    );
  } else if (err.code === 'HPE_INVALID_HEADER_TOKEN' || err.code === 'HPE_LF_EXPECTED' || err.code === 'HPE_CR_EXPECTED' || err.code === 'HPE_INVALID_HEADER_VALUE') {
    body = errorBody(
      400,
      'malformed_request',
      'Заголовок запроса содержит перевод строки или недопустимый символ (например, Base64Строка() разбивает длинный Basic-токен на строки): уберите Символы.ВК и Символы.ПС из значения заголовка',
    );
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    const lineEnd = failed.raw.indexOf('\r\n', failed.start);
    const urlTooLong = lineEnd < 0 || lineEnd - failed.start > MAX_URL_LENGTH;
    status = urlTooLong ? 414 : 431;
    body = urlTooLong
      ? errorBody(414, 'uri_too_long', `Адрес запроса длиннее ${MAX_URL_LENGTH} символов: передайте данные в теле запроса`)
      : errorBody(431, 'headers_too_large', 'Заголовки запроса слишком большие (больше 16 КБ)');
  }
  const reason = status === 414 ? 'URI Too Long' : status === 431 ? 'Request Header Fields Too Large' : status === 405 ? 'Method Not Allowed' : 'Bad Request';
  endWithRawResponse(socket, { status, reason, type: 'application/json; charset=utf-8', body, head: failed.head });
}

/** Router failures fastify answers itself unless told (a bad %-escape in the path, a path segment over maxParamLength). */
function frameworkError(error: unknown, _req: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, toSputnikError(error));
}

// A Map: a header name may come from a client (`constructor` must not find Object's).
const CANONICAL = new Map([
  ['www-authenticate', 'WWW-Authenticate'],
  ['etag', 'ETag'],
  ['x-request-id', 'X-Request-Id'],
]);

/** `content-type` → `Content-Type`: 1C reads headers from a case-sensitive Соответствие. */
export function canonicalHeaderName(name: string): string {
  return CANONICAL.get(name) ?? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Responses whose header names go out canonically cased. A subclass rather than a per-request
 * patch of `res.writeHead`: changing each response object's shape makes V8 deoptimise Node's
 * HTTP internals and halved throughput.
 */
export class CanonicalServerResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    if (typeof messageOrHeaders === 'string') return super.writeHead(statusCode, messageOrHeaders, canonicalHeaders(headers));
    return super.writeHead(statusCode, canonicalHeaders(messageOrHeaders));
  }
}

/** A header object with its names canonically cased; a raw [name, value, …] list is left as it is. */
function canonicalHeaders(headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined): OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined {
  if (!headers || Array.isArray(headers)) return headers;
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) out[canonicalHeaderName(k)] = v;
  return out;
}

/** Turns any error into the one JSON error shape. */
export function toSputnikError(error: unknown): SputnikError {
  if (error instanceof SputnikError) return error;
  if (isStoreDown(error)) return errors.storeUnavailable(error);
  // Read as property access does (own or inherited): fastify's, Node's and plugins' errors alike.
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const given = typeof error === 'object' && error !== null && 'statusCode' in error ? error.statusCode : undefined;
  const statusCode = typeof given === 'number' ? given : undefined;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SputnikError(413, 'payload_too_large', 'Тело запроса больше 1 МБ: разбейте данные на несколько запросов');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SputnikError(statusCode ?? 400, 'malformed_request', 'Неверный заголовок Content-Type или Content-Length', { field: 'Content-Type' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SputnikError(400, 'empty_body', 'Тело запроса пустое');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new SputnikError(414, 'uri_too_long', 'Часть адреса запроса длиннее 500 символов: передайте такие данные в теле запроса');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new SputnikError(400, 'malformed_request', 'Неверный адрес запроса');
  }
  if (statusCode === 503) return errors.storeUnavailable(error);
  if (statusCode && statusCode >= 400 && statusCode < 500) {
    const message = typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string' ? error.message : '';
    return new SputnikError(statusCode, 'malformed_request', 'Запрос не может быть обработан: ' + message.slice(0, 200));
  }
  return new SputnikError(500, 'internal_error', 'Внутренняя ошибка Спутника; подробности в журнале. Запрос можно повторить.', { cause: error });
}

/** Validation from the same zod schemas that generate OpenAPI: 422 with the field and a Russian message. */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema: zod, httpPart }) => {
  return (data: unknown) => {
    if (httpPart === 'body' && (data === null || data === undefined)) {
      // A route whose body is optional takes a request without one.
      const absent = zod.safeParse(undefined);
      if (absent.success) return { value: absent.data };
      return { error: new SputnikError(400, 'empty_body', 'Тело запроса пустое: передайте JSON или форму') };
    }
    const r = zod.safeParse(data ?? {}, INPUT_IN_ISSUES);
    if (r.success) return { value: r.data };
    return { error: validationFailure(r.error) };
  };
};

/** 1 поле, 2 поля, 5 полей, 21 поле. */
function fieldsWord(n: number): string {
  const [ten, one] = [n % 100, n % 10];
  if (ten >= 11 && ten <= 14) return 'полей';
  return one === 1 ? 'поле' : one >= 2 && one <= 4 ? 'поля' : 'полей';
}

/** A zod failure as the one 422 error, naming the first field (under `prefix`, e.g. `invoices[3]`) and counting the rest. */
export function validationFailure(error: z.ZodError, prefix = ''): SputnikError {
  const named = describeZodError(error).map((p) => ({ ...p, field: prefix ? (p.field ? `${prefix}.${p.field}` : prefix) : p.field }));
  const [first, ...rest] = named;
  const more = rest.length ? ` (и ещё ${rest.length} ${fieldsWord(rest.length)}: ${rest.map((p) => p.field).join(', ')})` : '';
  return new SputnikError(422, 'invalid_value', `Поле «${first.field}»: ${first.message}${more}`, { field: first.field });
}

/** Installs the shared pieces on a fastify app. */
export function installCommon(
  app: FastifyInstance,
  opts: {
    allowedHosts: Set<string>;
    /** Other Host names taken (the LAN address a listener bound to every interface was called at). */
    hostAllowed?: (host: string, req: FastifyRequest) => boolean;
    /** Runs first, before the Host check: a client address the app does not serve gets only this answer. */
    client?: (req: FastifyRequest) => SputnikError | undefined;
    /** The app's own admission checks (origin, auth), run in the same hook. */
    guard?: (req: FastifyRequest) => SputnikError | undefined;
    onError?: (e: SputnikError, req: FastifyRequest) => void;
  },
): void {
  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API (OpenAPI); handlers build their bodies from typed values, so
  // re-validating every response with zod would only spend CPU on the hot path.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  const routes: Array<{ methods: string[]; re: RegExp }> = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const re = new RegExp('^' + r.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\\\*|\*/g, '.*') + '/?$');
    routes.push({ methods, re });
  });
  // One hook for every admission check: each extra hook is another turn per request.
  app.addHook('onRequest', (req, _reply, done) => {
    const refused = opts.client?.(req);
    if (refused) return done(refused);
    if (req.url.length > MAX_URL_LENGTH) return done(new SputnikError(414, 'uri_too_long', `Адрес запроса длиннее ${MAX_URL_LENGTH} символов: передайте данные в теле запроса`));
    const host = hostOf(req.headers.host);
    if (host !== null && !opts.allowedHosts.has(host) && !opts.hostAllowed?.(host, req)) {
      return done(new SputnikError(403, 'host_not_allowed', `Заголовок Host «${host}» не принят: обращайтесь к 127.0.0.1 или localhost`, { field: 'Host' }));
    }
    done(opts.guard?.(req));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = [...new Set(routes.filter((r) => r.re.test(path)).flatMap((r) => r.methods))];
    if (allowed.length) {
      // A HEAD is answered as its GET would be (same Content-Length), without the body.
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const e = new SputnikError(405, 'method_not_allowed', `Метод ${method} для ${path} не поддерживается; можно: ${allowed.join(', ')}`, { headers: { Allow: allowed.join(', ') } });
      return sendError(reply, e);
    }
    sendError(reply, errors.notFound());
  });
  app.setErrorHandler((error, req, reply) => {
    const e = toSputnikError(error);
    opts.onError?.(e, req);
    sendError(reply, e);
  });
}

export function sendError(reply: FastifyReply, e: SputnikError): void {
  if (e.headers) reply.headers(e.headers);
  reply.code(e.status).type('application/json; charset=utf-8').send(JSON.stringify(e.toBody()));
}

/** The host name of a Host header without port; `[::1]` stays bracketed. Null when absent (HTTP/1.0). */
export function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d*$/, '');
}

export function allowedHostSet(bound: string, extra: string[] = []): Set<string> {
  const b = bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
  return new Set(['127.0.0.1', 'localhost', '[::1]', b.toLowerCase(), ...extra.map((x) => x.toLowerCase())]);
}
