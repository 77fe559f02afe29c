import type { PreventableEvent } from './window.ts';
import { errorMessage } from '../unknown.ts';

export interface QuitDeps {
  /** Stops the core: stop taking requests, let running work finish, close the store. */
  stopCore(): Promise<void>;
  exit(code: number): void;
  log(message: string): void;
  timeoutMs: number;
}

/**
 * Electron's `will-quit` is synchronous, so the first one is cancelled, the core stopped
 * (bounded: a hung remote must not keep the app from exiting) and the app exited explicitly.
 */
export function createWillQuitHandler(deps: QuitDeps): (event: PreventableEvent) => void {
  let stopping = false;
  return (event) => {
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deps.timeoutMs);
    });
    Promise.race([deps.stopCore().then(() => 'stopped' as const), timeout])
      .then(
        (result) => {
          if (result === 'timeout') deps.log(`Спутник не остановился за ${deps.timeoutMs} мс, выхожу принудительно`);
          deps.exit(result === 'stopped' ? 0 : 1);
        },
        (error: unknown) => {
          deps.log(`Ошибка при остановке Спутника: ${errorMessage(error)}`);
          deps.exit(1);
        },
      )
      .finally(() => clearTimeout(timer));
  };
}
