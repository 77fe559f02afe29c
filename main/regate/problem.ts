/**
 * RFC 9457 problem details, the one error shape ReGate answers with
 * (`application/problem+json`): {type, title, status, detail (Russian), code, retryable, requestId}.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  retryable: boolean;
  requestId: string;
}

export class RegateProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;

  constructor(status: number, code: string, title: string, detail: string, opts: { retryable?: boolean; retryAfterSeconds?: number } = {}) {
    super(detail);
    this.name = 'RegateProblem';
    this.status = status;
    this.code = code;
    this.title = title;
    this.retryable = opts.retryable ?? (status === 429 || status === 503 || status === 504);
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  toBody(requestId: string): Problem {
    return { type: `https://sputnik.local/regate/problems/${this.code}`, title: this.title, status: this.status, detail: this.message, code: this.code, retryable: this.retryable, requestId };
  }
}

/** The first 500 characters of an answer 1C should not have given (HTML, plain-text 500, truncated JSON). */
export function unreadable(raw: string, status: number): RegateProblem {
  const head = raw.replace(/^\uFEFF/, '').slice(0, 500);
  return new RegateProblem(502, 'onec_bad_answer', 'Непонятный ответ 1С', `1С ответила не JSON (HTTP ${status}): ${head}`, { retryable: true });
}
