import { z } from 'zod';

/**
 * The one error type. Everything a caller (1C, the UI, the CLI) can be told goes through it:
 * a stable snake_case code, a Russian message a 1C programmer can show with Сообщить() as is,
 * the HTTP status, and the field it is about when there is one.
 */
export class SputnikError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: string, message: string, opts: { field?: string; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'SputnikError';
    this.status = status;
    this.code = code;
    if (opts.field !== undefined) this.field = opts.field;
    if (opts.headers) this.headers = opts.headers;
  }

  toBody(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

/** The one error body as the OpenAPI documents show it (what `toBody()` writes). */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Постоянный код ошибки (snake_case): по нему программа решает, что делать; коды перечислены у каждого ответа'),
      message: z.string().describe('Что случилось и что сделать, по-русски: можно показать через Сообщить() как есть'),
      field: z.string().optional().describe('Поле или заголовок, о котором речь: holder.phone, invoices[3].amount, Host'),
    }),
  })
  .describe('Ошибка Спутника: {"error": {"code", "message", "field"}}');

export const errors = {
  malformed: (message: string, field?: string) => new SputnikError(400, 'malformed_request', message, { field }),
  invalid: (field: string, message: string) => new SputnikError(422, 'invalid_value', message, { field }),
  unauthorized: () =>
    new SputnikError(401, 'unauthorized', 'Нужен заголовок Authorization: Bearer <токен Спутника>; токен не указан или неверен.', {
      headers: { 'WWW-Authenticate': 'Basic realm="sputnik", charset="UTF-8"' },
    }),
  notFound: (code = 'not_found', message = 'Такого адреса нет в API Спутника. Список адресов: /docs') => new SputnikError(404, code, message),
  storeUnavailable: (cause?: unknown) =>
    new SputnikError(503, 'store_unavailable', 'Хранилище Спутника недоступно (диск заполнен или файл повреждён); запрос не принят, повторите позже.', { cause }),
};

/** How a remote call failed, which decides what the outbox does next. */
export type DeliveryOutcome = 'retry' | 'refused' | 'auth';

/**
 * A failed delivery to a remote service. `retry`: transport error, 5xx, 429 — back off and try
 * again, forever. `refused`: a business refusal (409, validation) — fail now, never retried.
 * `auth`: credentials refused — pause the connector until its settings change.
 */
export class DeliveryError extends SputnikError {
  readonly outcome: DeliveryOutcome;
  readonly retryAfterMs?: number;

  constructor(outcome: DeliveryOutcome, code: string, message: string, opts: { status?: number; field?: string; cause?: unknown; retryAfterMs?: number } = {}) {
    super(opts.status ?? (outcome === 'refused' ? 422 : 502), code, message, opts);
    this.name = 'DeliveryError';
    this.outcome = outcome;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
