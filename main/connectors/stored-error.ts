import { z } from 'zod';

/**
 * A delivery's error as a card or invoice row keeps it in `last_error`: the JobError the worker
 * wrote (JSON.stringify of `{code, message}`); `field` names the 1C field a refusal is about.
 */
const storedError = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

export type StoredError = z.infer<typeof storedError>;

/** A row's `last_error`, checked once where the repository reads it; null when there is none. */
export function parseStoredError(text: string | null): StoredError | null {
  if (!text) return null;
  const parsed = storedError.safeParse(JSON.parse(text));
  // Only Sputnik writes this column: another shape is a damaged store, not something to guess at.
  if (!parsed.success) throw new Error(`last_error is not a stored error: ${text.slice(0, 200)}`);
  return parsed.data;
}
