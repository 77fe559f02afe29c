import type { WindowBounds } from './desktop-store.ts';
import { clampBounds, MIN_SIZE, type Rect } from './window-state.ts';

/**
 * The one app window. Closing it hides it (the app lives in the tray) unless the app is
 * quitting; the page is the admin UI served by the core, locked down as a remote page.
 */
export interface WindowOptions {
  x?: number;
  y?: number;
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  autoHideMenuBar: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    webSecurity: true;
    spellcheck: boolean;
  };
}

export interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of Electron's BrowserWindow used here; tests pass a fake. */
export interface WindowLike {
  loadURL(url: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  isMinimized(): boolean;
  restore(): void;
  isDestroyed(): boolean;
  isMaximized(): boolean;
  maximize(): void;
  /** The bounds when not maximized/minimized (what to restore next time). */
  getNormalBounds(): Rect;
  on(event: 'close', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  /** Windows only: the user logs off or the machine shuts down. */
  on(event: 'session-end', listener: () => void): unknown;
  webContents: {
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
    on(event: 'will-navigate', listener: (event: PreventableEvent, url: string) => void): unknown;
    /** The page's `beforeunload` asked to stay (unsaved settings); preventDefault lets it go anyway. */
    on(event: 'will-prevent-unload', listener: (event: PreventableEvent) => void): unknown;
  };
}

export interface WindowDeps {
  createWindow(options: WindowOptions): WindowLike;
  preloadPath: string;
  /**
   * The admin UI login link (`/?token=`); the core trades it for a session cookie. A function
   * when it can change: each start of the core's process has its own login token.
   */
  url: string | (() => string);
  openExternal(url: string): void;
  /** Remembered geometry (the desktop store); absent in tests that don't care. */
  bounds?: { load(): WindowBounds | undefined; save(bounds: WindowBounds): void };
  /** The displays' work areas now (Electron's `screen`), to clamp the remembered bounds. */
  displays?(): { workAreas: Rect[]; primary: Rect };
  /** Windows log-off/shutdown: the app must quit, not hide to the tray and block the session end. */
  onSessionEnd?(): void;
  /**
   * The page has unsaved settings and the window is about to unload (quit, reload): true lets it
   * go. Without an answer Electron would cancel the quit without a word.
   */
  confirmLeave?(): boolean;
}

export function windowOptions(preloadPath: string, bounds?: Rect): WindowOptions {
  return {
    ...(bounds ? { x: bounds.x, y: bounds.y } : {}),
    width: bounds?.width ?? 1200,
    height: bounds?.height ?? 800,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'Спутник',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  };
}

/** Builds the login link from the core's UI address and per-run token. */
export function loginUrl(uiUrl: string, token: string): string {
  const url = new URL(uiUrl);
  url.pathname = '/';
  url.search = '';
  url.searchParams.set('token', token);
  return url.toString();
}

export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

export class WindowService {
  readonly #deps: WindowDeps;
  #window: WindowLike | null = null;
  #quitting = false;
  #sessionEnding = false;

  constructor(deps: WindowDeps) {
    this.#deps = deps;
  }

  get window(): WindowLike | null {
    return this.#window;
  }

  /** Lets the next close really close the window (tray "Выход", OS shutdown). */
  setQuitting(quitting: boolean): void {
    this.#quitting = quitting;
  }

  /** The OS is logging off or shutting down: close without asking anything. */
  endSession(): void {
    this.#quitting = true;
    this.#sessionEnding = true;
  }

  /** The core now serves at another address (a restart on another port): the open window follows. */
  async reload(): Promise<void> {
    const win = this.#window;
    if (win && !win.isDestroyed()) await win.loadURL(this.#url());
  }

  #url(): string {
    const { url } = this.#deps;
    return typeof url === 'function' ? url() : url;
  }

  async show(): Promise<void> {
    const existing = this.#window;
    if (existing && !existing.isDestroyed()) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    const win = this.#create();
    try {
      await win.loadURL(this.#url());
    } finally {
      // Shown even when loading failed, so the operator sees Chromium's error page, not nothing.
      if (!win.isDestroyed()) {
        win.show();
        win.focus();
      }
    }
  }

  #create(): WindowLike {
    const { bounds, displays } = this.#deps;
    const saved = bounds?.load();
    const screen = displays?.();
    const placed = screen ? clampBounds(saved, screen.workAreas, screen.primary) : saved;
    const win = this.#deps.createWindow(windowOptions(this.#deps.preloadPath, placed));
    if (placed?.maximized) win.maximize();
    win.on('close', (event) => {
      this.#saveBounds(win);
      if (this.#quitting) return;
      event.preventDefault();
      win.hide();
    });
    win.on('session-end', () => {
      this.endSession();
      this.#deps.onSessionEnd?.();
    });
    // The settings page asks before its unsaved changes are lost. A shutdown is never held up by it;
    // «stay» cancels the quit, so the window hides to the tray again on its next close.
    win.webContents.on('will-prevent-unload', (event) => {
      if (this.#sessionEnding || (this.#deps.confirmLeave?.() ?? true)) event.preventDefault();
      else this.#quitting = false;
    });
    win.on('closed', () => {
      if (this.#window === win) this.#window = null;
    });
    // Links to the outside world open in the user's browser, never inside the privileged window.
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//i.test(url)) this.#deps.openExternal(url);
      return { action: 'deny' };
    });
    win.webContents.on('will-navigate', (event, url) => {
      if (sameOrigin(url, this.#url())) return;
      event.preventDefault();
      if (/^https?:\/\//i.test(url)) this.#deps.openExternal(url);
    });
    this.#window = win;
    return win;
  }

  #saveBounds(win: WindowLike): void {
    if (!this.#deps.bounds || win.isDestroyed()) return;
    try {
      this.#deps.bounds.save({ ...win.getNormalBounds(), maximized: win.isMaximized() });
    } catch {
      // Geometry is a convenience: a full disk must not keep the window from closing.
    }
  }
}
