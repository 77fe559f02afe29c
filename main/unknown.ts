/**
 * Narrowing `unknown` without casts: caught errors, parsed JSON and remote bodies are `unknown`
 * until a guard here (or a zod schema) has looked at them.
 */

/** A caught value as an Error (anything thrown that is not one is wrapped, its text kept). */
export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** A caught value's message, for logs and Russian texts that quote the cause. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A plain object whose keys can be read (never indexed with client-supplied text: use Object.hasOwn / Map). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v[key]` when v is an object, else undefined. */
export function prop(v: unknown, key: string): unknown {
  return isRecord(v) && Object.hasOwn(v, key) ? v[key] : undefined;
}

/** A Node system error's `code` (ENOENT, EADDRINUSE, SQLITE_FULL…), or undefined. */
export function errorCode(e: unknown): string | undefined {
  const code = prop(e, 'code');
  return typeof code === 'string' ? code : undefined;
}
