import type { z } from 'zod';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';
import { RegateProblem } from './problem.ts';

/**
 * Parses one part of a request; a refusal is the 400 naming the field or header (a missing or
 * overlong Idempotency-Key has its own code). The one validation of REST routes (as fastify's
 * validator) and aliases alike.
 */
export function parsePart<T extends z.ZodType>(schema: T, data: unknown, part: 'field' | 'headers'): z.output<T> {
  const r = schema.safeParse(data ?? {}, INPUT_IN_ISSUES);
  if (r.success) return r.data;
  const [first] = describeZodError(r.error);
  if (part === 'headers' && first.field === 'idempotency-key') idempotencyKey(data !== null && typeof data === 'object' && 'idempotency-key' in data ? data['idempotency-key'] : undefined); // throws its own problem
  throw new RegateProblem(400, 'invalid_request', 'Неверный запрос', `${part === 'headers' ? 'Заголовок' : 'Поле'} «${first.field}»: ${first.message}`, { retryable: false });
}

/** The Idempotency-Key of a write (unquoted, trimmed), or the 400 saying what is wrong with it. */
export function idempotencyKey(header: unknown): string {
  const raw: unknown = Array.isArray(header) ? header[0] : header;
  const v = typeof raw === 'string' ? raw.trim().replace(/^"(.*)"$/, '$1') : undefined;
  if (!v) throw new RegateProblem(400, 'idempotency_key_required', 'Нужен Idempotency-Key', 'Для записи нужен заголовок Idempotency-Key (например, UUID операции)', { retryable: false });
  if (v.length > 255) throw new RegateProblem(400, 'idempotency_key_too_long', 'Слишком длинный ключ', 'Idempotency-Key длиннее 255 символов', { retryable: false });
  return v;
}
