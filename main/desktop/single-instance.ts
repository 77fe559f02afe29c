import { isHiddenLaunch } from './autostart.ts';

/** The parts of Electron's app used here; tests pass a fake. */
export interface SingleInstanceApp {
  requestSingleInstanceLock(): boolean;
  quit(): void;
  on(event: 'second-instance', listener: (event: unknown, argv: string[]) => void): unknown;
}

/**
 * One Sputnik per user session: a second copy would fight the first for the ports and the
 * store. The second start quits at once; the first is told and shows and focuses its window.
 * A second start that arrives while the first is still starting is remembered and delivered
 * when the window exists. A second *hidden* start (autostart racing a manual start) is ignored.
 */
export class SingleInstance {
  readonly primary: boolean;
  #handler: (() => void) | undefined;
  #pending = false;

  constructor(app: SingleInstanceApp) {
    this.primary = app.requestSingleInstanceLock();
    if (!this.primary) {
      app.quit();
      return;
    }
    app.on('second-instance', (_event, argv) => {
      if (isHiddenLaunch(argv ?? [])) return;
      if (this.#handler) this.#handler();
      else this.#pending = true;
    });
  }

  /** What to do when another copy was started: show and focus the window. */
  onSecondStart(handler: () => void): void {
    this.#handler = handler;
    if (this.#pending) {
      this.#pending = false;
      handler();
    }
  }
}
