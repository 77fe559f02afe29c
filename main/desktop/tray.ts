import { buildTrayMenu, type MenuItemSpec, type TrayActions } from './tray-menu.ts';
import { docpartEnabled, restartOffered, sendingState, trayStatus, type HealthView, type TrayState, type TrayStatus } from './status.ts';

/** The parts of Electron's Tray used here; tests pass a fake. */
export interface TrayLike<Image, Menu> {
  setImage(image: Image): void;
  setToolTip(text: string): void;
  setContextMenu(menu: Menu | null): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface TrayDeps<Image, Menu> {
  createTray(image: Image): TrayLike<Image, Menu>;
  buildMenu(items: MenuItemSpec[]): Menu;
  icons: Readonly<Record<TrayState, Image>>;
  actions: TrayActions;
  getAutostart(): boolean;
  /** Tests: a fixed clock for the "failing for < 5 min" rule. */
  now?: () => number;
}

/**
 * The one tray icon. It is created once and held in a private field for the service's life;
 * main.ts keeps the service itself in a module-level variable, so the icon can never be
 * garbage-collected away (the classic vanishing-tray bug) — only `destroy()` removes it.
 */
export class TrayService<Image, Menu> {
  readonly #deps: TrayDeps<Image, Menu>;
  readonly #tray: TrayLike<Image, Menu>;
  #status: TrayStatus = { state: 'warning', line: 'Спутник запускается…', tooltip: 'Спутник запускается…' };
  #health: HealthView | Error | null = null;
  #shown = '';

  constructor(deps: TrayDeps<Image, Menu>) {
    this.#deps = deps;
    this.#tray = deps.createTray(deps.icons.warning);
    // Windows users expect a left click on the tray icon to open the window.
    this.#tray.on('click', () => deps.actions.open());
    this.#render();
  }

  get status(): TrayStatus {
    return this.#status;
  }

  /** The last health shown (null before the first), for the menu actions' targets. */
  get health(): HealthView | Error | null {
    return this.#health;
  }

  update(health: HealthView | Error): TrayStatus {
    this.#health = health;
    this.#status = trayStatus(health, (this.#deps.now ?? Date.now)());
    this.#render();
    return this.#status;
  }

  /** Re-reads the autostart state, e.g. after the renderer changed it. */
  refresh(): void {
    this.#render();
  }

  destroy(): void {
    this.#tray.destroy();
  }

  #render(): void {
    const state = {
      status: this.#status,
      autostart: this.#deps.getAutostart(),
      docpartEnabled: docpartEnabled(this.#health),
      sending: sendingState(this.#health),
      restartCore: restartOffered(this.#health),
    };
    const key = JSON.stringify(state);
    // Health is polled every few seconds; rebuilding an unchanged menu makes Linux indicators flicker.
    if (key === this.#shown) return;
    this.#shown = key;
    this.#tray.setImage(this.#deps.icons[this.#status.state]);
    this.#tray.setToolTip(this.#status.tooltip);
    this.#tray.setContextMenu(this.#deps.buildMenu(buildTrayMenu(state, this.#deps.actions)));
  }
}
