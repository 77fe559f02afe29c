import { buildTrayMenu, type MenuItemSpec, type TrayActions } from './tray-menu.ts';
import { trayStatus, type HealthView, type TrayState, type TrayStatus } from './status.ts';

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
}

export class TrayService<Image, Menu> {
  readonly #deps: TrayDeps<Image, Menu>;
  readonly #tray: TrayLike<Image, Menu>;
  #status: TrayStatus = { state: 'ok', line: 'Спутник запускается…', tooltip: 'Спутник запускается…' };
  #shown = '';

  constructor(deps: TrayDeps<Image, Menu>) {
    this.#deps = deps;
    this.#tray = deps.createTray(deps.icons.ok);
    // Windows users expect a left click on the tray icon to open the window.
    this.#tray.on('click', () => deps.actions.open());
    this.#render();
  }

  get status(): TrayStatus {
    return this.#status;
  }

  update(health: HealthView | Error): TrayStatus {
    this.#status = trayStatus(health);
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
    const autostart = this.#deps.getAutostart();
    const key = JSON.stringify([this.#status, autostart]);
    // Health is polled every few seconds; rebuilding an unchanged menu makes Linux indicators flicker.
    if (key === this.#shown) return;
    this.#shown = key;
    this.#tray.setImage(this.#deps.icons[this.#status.state]);
    this.#tray.setToolTip(this.#status.tooltip);
    this.#tray.setContextMenu(this.#deps.buildMenu(buildTrayMenu(this.#status, autostart, this.#deps.actions)));
  }
}
