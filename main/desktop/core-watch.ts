import type { CoreStatus } from '../../preload/bridge.ts';
import { coreDown, coreFailedNotice, type CoreReady, type CoreState } from './core-process.ts';
import { restartOffered, type HealthView, type TrayStatus } from './status.ts';
import { toError } from '../unknown.ts';

/**
 * The shell's view of the core, for the tray and the window: its health over the admin API while
 * it serves, what the supervisor knows while it does not, and «Перезапустить службу». Plain Node
 * (the supervisor, the admin API call and the tray are injected), so the tests drive it with the
 * real supervisor and a Node child; main.ts only wires it to Electron.
 */
export interface CoreWatchDeps {
  core: {
    readonly state: CoreState;
    subscribe(listener: (state: CoreState) => void): () => void;
    restart(graceMs: number): Promise<CoreReady>;
  };
  /** GET /api/health of the core now serving (CoreControl.health). */
  health(): Promise<HealthView>;
  /** The tray: shows a health or why there is none (TrayService). */
  tray: { update(health: HealthView | Error): TrayStatus; readonly status: TrayStatus; readonly health: HealthView | Error | null };
  notify(text: string): void;
  /** How long a restart lets a running (hung) process finish its work before it is killed. */
  restartGraceMs: number;
  /**
   * Loads the open window from the core now serving (WindowService.reload). Each process has its
   * own login token, and the window's API calls carry the one it was loaded with: without a
   * reload a restarted core would answer them 401.
   */
  reloadWindow?(): Promise<void>;
}

export class CoreWatch {
  readonly #deps: CoreWatchDeps;
  #polling: { state: CoreState; done: Promise<void> } | null = null;
  readonly #off: () => void;
  /** The address and login token of the process the window was last loaded from. */
  #served: string | null;

  constructor(deps: CoreWatchDeps) {
    this.#deps = deps;
    const now = deps.core.state;
    this.#served = now.state === 'running' ? served(now.ready) : null;
    this.#off = deps.core.subscribe((state) => {
      if (state.state === 'failed') deps.notify(coreFailedNotice(state));
      if (state.state === 'running') this.#serving(state.ready);
      void this.poll();
    });
  }

  #serving(ready: CoreReady): void {
    const key = served(ready);
    if (this.#served === key) return;
    const first = this.#served === null;
    this.#served = key;
    if (!first) void this.#deps.reloadWindow?.().catch(() => {});
  }

  /**
   * Shows the core's state in the tray now: the supervisor's while the process is not serving,
   * else its health. A second call while a request to the same process is out waits for it.
   */
  poll(): Promise<void> {
    const state = this.#deps.core.state;
    const down = coreDown(state);
    if (down) {
      this.#deps.tray.update(down);
      return Promise.resolve();
    }
    if (this.#polling?.state === state) return this.#polling.done;
    const done = (async () => {
      let health: HealthView | Error;
      try {
        health = await this.#deps.health();
      } catch (error) {
        health = toError(error);
      }
      // The process went or was replaced while the request was out: the state change showed what is now.
      if (this.#deps.core.state === state) this.#deps.tray.update(health);
    })().finally(() => {
      if (this.#polling?.done === done) this.#polling = null;
    });
    this.#polling = { state, done };
    return done;
  }

  /** What the window's banner shows: the tray's line, and whether it offers «Перезапустить службу». */
  status(): CoreStatus {
    const { state, line } = this.#deps.tray.status;
    const health = this.#deps.tray.health;
    return { state, line, down: health instanceof Error, restart: restartOffered(health) };
  }

  /**
   * «Перезапустить службу», from the tray or the window: starts the core again and answers what
   * the tray shows after it. Never throws: a restart that failed says why in the tray (its state
   * is `failed`, announced by the subscription above) or, refused outright, in a notification.
   */
  async restart(): Promise<CoreStatus> {
    try {
      await this.#deps.core.restart(this.#deps.restartGraceMs);
    } catch (error) {
      if (this.#deps.core.state.state !== 'failed') this.#deps.notify(toError(error).message);
    }
    await this.poll();
    return this.status();
  }

  close(): void {
    this.#off();
  }
}

function served(ready: CoreReady): string {
  return `${ready.uiUrl} ${ready.uiToken}`;
}
