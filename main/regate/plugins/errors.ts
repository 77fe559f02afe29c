import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { endWithRawResponse, failedRequest, type ParserError } from '../../http-server/raw-response.ts';
import type { RegateServer } from '../method.ts';
import { RegateProblem } from '../problem.ts';

/** RFC 9457 problem details: the one error shape of ReGate, with this request's id (problem.ts). */
export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/** Sets a problem's status, type and Retry-After on the reply; returns its body. */
export function problemBody(req: FastifyRequest, reply: FastifyReply, p: RegateProblem): string {
  if (p.retryAfterSeconds !== undefined) reply.header('Retry-After', String(p.retryAfterSeconds));
  reply.code(p.status).type(PROBLEM_TYPE);
  return JSON.stringify(p.toBody(req.requestId));
}

/** Every error as a problem: ReGate's own, fastify's refusals (4xx) in Russian, anything else 500. */
const plugin: FastifyPluginAsyncZod<Record<never, never>, RegateServer> = async (app) => {
  app.setErrorHandler((error, req, reply) => {
    const status = error instanceof Error && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
    const p =
      error instanceof RegateProblem
        ? error
        : status && status < 500
          ? new RegateProblem(status, 'invalid_request', 'Неверный запрос', frameworkDetail(error), { retryable: false })
          : new RegateProblem(500, 'internal_error', 'Внутренняя ошибка', 'Внутренняя ошибка шлюза; подробности в журнале Спутника', { retryable: true });
    reply.send(problemBody(req, reply, p));
  });
  app.setNotFoundHandler((req, reply) => {
    // A HEAD is answered as its GET would be (same Content-Length), without the body.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    reply.send(problemBody(req, reply, new RegateProblem(404, 'not_found', 'Нет такого адреса', `Нет метода ${method} ${req.url.split('?')[0]}; список — /regate/docs`, { retryable: false })));
  });
};

export const errors = fp(plugin, { name: 'regate-errors' });

/**
 * A request Node's parser refused (not HTTP, headers over 16 KB, not sent in time): a problem, after
 * the answers due before it on the connection; then the connection closes. The server's
 * `clientErrorHandler` (app.ts).
 */
export function clientError(error: Error, socket: Socket): void {
  const err: ParserError = error;
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, reason, code, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'Заголовки запроса больше 16 КБ']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'Запрос не пришёл целиком вовремя; повторите его']
        : [400, 'Bad Request', 'invalid_request', 'Запрос не по протоколу HTTP/1.1'];
  const requestId = randomUUID();
  const problem = new RegateProblem(status, code, 'Неверный запрос', detail, { retryable: status === 408 });
  endWithRawResponse(socket, { status, reason, type: PROBLEM_TYPE, body: JSON.stringify(problem.toBody(requestId)), head: failedRequest(err).head, headers: `X-Request-Id: ${requestId}\r\n` });
}

/** fastify's own refusals (body not JSON, media type, size), in Russian as every detail is. */
function frameworkDetail(error: unknown): string {
  switch (error instanceof Error && 'code' in error ? error.code : undefined) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'Тело запроса — не корректный JSON (или в нём поле __proto__ либо constructor.prototype)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Тело запроса пустое, а Content-Type — application/json';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Тело запроса передавайте в JSON с Content-Type: application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Тело запроса больше 2 МБ';
  }
  return `Запрос не может быть обработан: ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}`;
}
