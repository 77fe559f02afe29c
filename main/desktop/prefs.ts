import type { Autostart } from './autostart.ts';
import type { DesktopStore, WindowBounds } from './desktop-store.ts';

/**
 * The desktop settings as the shell uses them: window bounds, autostart and hidden start,
 * persisted in the desktop store. For autostart the OS entry is the truth (the user may remove
 * it in Task Manager or the session settings); the stored flag follows it.
 */
export class DesktopPrefs {
  readonly #store: DesktopStore;
  readonly #autostart: Autostart;

  constructor(store: DesktopStore, autostart: Autostart) {
    this.#store = store;
    this.#autostart = autostart;
  }

  /** For Autostart's `hidden` dependency. */
  static hiddenStart(store: DesktopStore): () => boolean {
    return () => store.get('hiddenStart');
  }

  getAutostart(): boolean {
    const on = this.#autostart.get();
    if (on !== this.#store.get('autostart')) this.#store.set('autostart', on);
    return on;
  }

  setAutostart(on: boolean): boolean {
    const now = this.#autostart.set(on);
    this.#store.set('autostart', now);
    return now;
  }

  get hiddenStart(): boolean {
    return this.#store.get('hiddenStart');
  }

  setHiddenStart(hidden: boolean): void {
    const previous = this.#store.get('hiddenStart');
    if (previous === hidden) return;
    this.#store.set('hiddenStart', hidden);
    this.#autostart.rewrite(previous);
  }

  readonly windowBounds = {
    load: (): WindowBounds | undefined => this.#store.get('windowBounds'),
    save: (bounds: WindowBounds): void => {
      const rounded = { ...bounds, x: Math.round(bounds.x), y: Math.round(bounds.y), width: Math.round(bounds.width), height: Math.round(bounds.height) };
      if (JSON.stringify(rounded) !== JSON.stringify(this.#store.get('windowBounds'))) this.#store.set('windowBounds', rounded);
    },
  };
}
