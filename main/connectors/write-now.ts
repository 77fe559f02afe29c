import type { Store } from '../store/index.ts';

/**
 * A relaxed write whose result a synchronous caller needs (the operator's «Повторить», whose
 * module hook answers at once): relaxed writes run before `store.write` returns, so its result, or
 * the error `fn` threw (the write rolled back), is known here. Losing it in a power cut loses a click.
 */
export function writeNow<T>(store: Store, fn: () => T): T {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  store
    .write(() => {
      try {
        const value = fn();
        outcome = { ok: true, value };
        return value;
      } catch (error) {
        outcome = { ok: false, error };
        throw error;
      }
    }, { durability: 'relaxed' })
    .catch(() => {}); // an error of fn is thrown below; a failed commit leaves the store unhealthy
  if (!outcome) throw new Error('writeNow: the write did not run synchronously');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
