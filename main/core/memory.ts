import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection, for the end of each chunk of a large batch (a Docpart pull of
 * 20,000 orders). V8 lets the heap grow to hundreds of MB of dead chunks before it collects; on a
 * shop PC that runs 1C beside us that memory matters more than the ~15 ms a collection costs
 * (measured in bench p4: peak RSS 381 → 223 MB, the pull 2.8 → 3.7 s). Without `--expose-gc`
 * the function is reached through a fresh context, the documented way to get it at run time.
 */
let gc: (() => void) | null | undefined;

export function releaseMemory(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const found: unknown = runInNewContext('gc');
      gc = typeof found === 'function' ? () => void found() : null;
    } catch {
      gc = null; // not available in this runtime: V8 collects on its own schedule
    }
  }
  gc?.();
}

/**
 * A lean heap for a utility that shares a shop PC with 1C. V8's defaults suit a server: the young
 * generation doubles up to tens of MB and the old generation may grow to ~4× what is live before
 * it is marked, so 10 connections of hostile 1 MiB bodies took the sandbox from ~230 to 460–580 MiB
 * of RSS while only ~50 MB was ever live (`--trace-gc`; bench hostile-memory). Keeping the young
 * generation at its initial size and letting the old one grow 20 % past what is live brings that
 * peak to ~260–280 MiB. Both flags are read by V8 at each collection, so setting them at start-up
 * (before the first requests) takes effect without restarting Node with command-line flags.
 */
export function useLeanHeap(): void {
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
    setFlagsFromString('--heap-growing-percent=20');
  } catch {
    // a runtime without these flags keeps V8's defaults
  }
}
