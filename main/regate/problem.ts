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
  /** 1C's own particulars of a refusal (e.g. the order lines whose prices differ), as 1C gave them. */
  details?: unknown;
}

/** A problem as kept for an Idempotency-Key's replay: everything but the request id. */
export type StoredProblem = Omit<Problem, 'requestId'>;

export class RegateProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly details?: unknown;

  constructor(status: number, code: string, title: string, detail: string, opts: { retryable?: boolean; retryAfterSeconds?: number; details?: unknown } = {}) {
    super(detail);
    this.name = 'RegateProblem';
    this.status = status;
    this.code = code;
    this.title = title;
    this.retryable = opts.retryable ?? (status === 429 || status === 503 || status === 504);
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
    if (opts.details !== undefined) this.details = opts.details;
  }

  toBody(requestId: string): Problem {
    return { ...this.stored(), requestId };
  }

  stored(): StoredProblem {
    const body: StoredProblem = { type: `https://sputnik.local/regate/problems/${this.code}`, title: this.title, status: this.status, detail: this.message, code: this.code, retryable: this.retryable };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }

  static fromStored(p: StoredProblem): RegateProblem {
    return new RegateProblem(p.status, p.code, p.title, p.detail, { retryable: p.retryable, details: p.details });
  }
}

/** The first 500 characters of an answer 1C should not have given (HTML, plain-text 500, truncated JSON). */
export function unreadable(raw: string, status: number): RegateProblem {
  const head = raw.replace(/^\uFEFF/, '').slice(0, 500);
  return new RegateProblem(502, 'onec_bad_answer', 'Непонятный ответ 1С', `1С ответила не JSON (HTTP ${status}): ${head}`, { retryable: true });
}
