import type { Store } from './index.ts';

/**
 * A relaxed write whose result a synchronous caller needs (the journal indexer's step, a prune's
 * count, the operator's «Повторить», whose module hook answers at once):
 * a relaxed write runs before `store.write` returns (joined to a running group-committed write it
 * runs at once too), so `fn`'s result, or the error it threw (the write rolled back), is known here.
 * The promise is still handled: a commit that fails after `fn` ran (the store is then unhealthy)
 * rejects it, and `onLost` hears of it. Throws when the write could not start (a closed store).
 */
export function writeNow<T>(store: Store, fn: () => T, onLost?: (error: unknown) => void): T {
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
    .catch((error: unknown) => {
      if (outcome?.ok) onLost?.(error); // fn's own error is thrown below
    });
  if (!outcome) throw new Error('writeNow: the store took no write');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
