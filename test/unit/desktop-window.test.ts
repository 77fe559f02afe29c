import { describe, expect, it, vi } from 'vitest';
import {
  WindowService,
  loginUrl,
  windowOptions,
  type PreventableEvent,
  type WindowLike,
  type WindowOptions,
} from '../../main/desktop/window.ts';
import { clampBounds } from '../../main/desktop/window-state.ts';
import type { WindowBounds } from '../../main/desktop/desktop-store.ts';

type Listener = (...args: never[]) => unknown;

class FakeWindow implements WindowLike {
  options: WindowOptions;
  loaded: string[] = [];
  visible = false;
  minimized = false;
  destroyed = false;
  maximized = false;
  bounds = { x: 0, y: 0, width: 0, height: 0 };
  focused = 0;
  listeners = new Map<string, Listener>();
  openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
  navigateListener: ((e: PreventableEvent, url: string) => void) | undefined;
  webContents = {
    setWindowOpenHandler: (h: (d: { url: string }) => { action: 'deny' }) => {
      this.openHandler = h;
    },
    on: (event: 'will-navigate' | 'will-prevent-unload', l: (e: PreventableEvent, url: string) => void) => {
      if (event === 'will-navigate') this.navigateListener = l;
      else this.unloadListener = (e) => l(e, '');
    },
  };
  unloadListener: ((e: PreventableEvent) => void) | undefined;
  /** The page's beforeunload asked to stay (unsaved settings): true when Electron would unload anyway. */
  pageAsksToStay(): boolean {
    let letGo = false;
    this.unloadListener!({ preventDefault: () => (letGo = true) });
    return letGo;
  }
  constructor(options: WindowOptions) {
    this.options = options;
    this.bounds = { x: options.x ?? 100, y: options.y ?? 100, width: options.width, height: options.height };
  }
  isMaximized() {
    return this.maximized;
  }
  maximize() {
    this.maximized = true;
  }
  getNormalBounds() {
    return { ...this.bounds };
  }
  async loadURL(url: string) {
    this.loaded.push(url);
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {
    this.focused++;
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  on(event: string, listener: Listener) {
    this.listeners.set(event, listener);
  }
  /** What Electron does when the user clicks the window's X. */
  userCloses(): boolean {
    let prevented = false;
    (this.listeners.get('close') as (e: PreventableEvent) => void)({ preventDefault: () => (prevented = true) });
    if (!prevented) {
      this.destroyed = true;
      (this.listeners.get('closed') as () => void)();
    }
    return prevented;
  }
}

function setup(extra: Partial<ConstructorParameters<typeof WindowService>[0]> = {}) {
  const created: FakeWindow[] = [];
  const openExternal = vi.fn();
  const service = new WindowService({
    ...extra,
    createWindow: (options) => {
      const w = new FakeWindow(options);
      created.push(w);
      return w;
    },
    preloadPath: '/app/out/preload/index.cjs',
    url: 'http://127.0.0.1:37081/?token=abc',
    openExternal,
  });
  return { service, created, openExternal };
}

describe('window service', () => {
  it('creates a locked-down window that loads the UI login link', async () => {
    const { service, created } = setup();
    await service.show();
    expect(created).toHaveLength(1);
    expect(created[0].options.webPreferences).toEqual({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    });
    expect(created[0].options.show).toBe(false);
    expect(created[0].loaded).toEqual(['http://127.0.0.1:37081/?token=abc']);
    expect(created[0].visible).toBe(true);
  });

  it('closing hides the window instead of quitting, and showing again reuses it', async () => {
    const { service, created } = setup();
    await service.show();
    const win = created[0];
    expect(win.userCloses()).toBe(true);
    expect(win.visible).toBe(false);
    expect(win.destroyed).toBe(false);
    win.minimized = true;
    await service.show();
    expect(created).toHaveLength(1);
    expect(win.visible).toBe(true);
    expect(win.minimized).toBe(false);
    expect(win.loaded).toHaveLength(1);
  });

  it('when quitting, close really closes; a later show creates a fresh window', async () => {
    const { service, created } = setup();
    await service.show();
    service.setQuitting(true);
    expect(created[0].userCloses()).toBe(false);
    expect(created[0].destroyed).toBe(true);
    expect(service.window).toBeNull();
    await service.show();
    expect(created).toHaveLength(2);
  });

  it('new windows and foreign navigation are refused and go to the system browser', async () => {
    const { service, created, openExternal } = setup();
    await service.show();
    const win = created[0];
    expect(win.openHandler!({ url: 'https://passteam.ru/help' })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledWith('https://passteam.ru/help');
    expect(win.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledTimes(1);

    let prevented = false;
    win.navigateListener!({ preventDefault: () => (prevented = true) }, 'http://127.0.0.1:37081/');
    expect(prevented).toBe(false);
    win.navigateListener!({ preventDefault: () => (prevented = true) }, 'http://evil.example/');
    expect(prevented).toBe(true);
    expect(openExternal).toHaveBeenLastCalledWith('http://evil.example/');
  });

  it('builds the login link from the core UI address and token', () => {
    expect(loginUrl('http://127.0.0.1:37081/', 'tok-1_A')).toBe('http://127.0.0.1:37081/?token=tok-1_A');
    expect(loginUrl('http://127.0.0.1:5000/?token=old', 'new')).toBe('http://127.0.0.1:5000/?token=new');
    expect(windowOptions('/p').title).toBe('Спутник');
  });

  it('remembers size and position on close (hide and real close), and restores them clamped', async () => {
    let saved: WindowBounds | undefined = { x: 3000, y: 200, width: 1000, height: 700, maximized: false };
    const primary = { x: 0, y: 0, width: 1920, height: 1040 };
    const { service, created } = setup({
      bounds: { load: () => saved, save: (b) => (saved = b) },
      displays: () => ({ workAreas: [primary], primary }),
    });
    await service.show();
    // The second monitor it was on is gone: centred on the primary, size kept.
    expect(created[0].options).toMatchObject({ x: 460, y: 170, width: 1000, height: 700 });
    created[0].bounds = { x: 10, y: 20, width: 900, height: 600 };
    created[0].maximized = true;
    created[0].userCloses();
    expect(saved).toEqual({ x: 10, y: 20, width: 900, height: 600, maximized: true });
    service.setQuitting(true);
    created[0].bounds.x = 30;
    created[0].userCloses();
    expect(saved?.x).toBe(30);
    await service.show();
    expect(created[1].options).toMatchObject({ x: 30, y: 20, width: 900, height: 600 });
    expect(created[1].maximized).toBe(true);
  });

  it('Windows log-off/shutdown: the window stops hiding and the app is told to quit', async () => {
    const onSessionEnd = vi.fn();
    const { service, created } = setup({ onSessionEnd });
    await service.show();
    (created[0].listeners.get('session-end') as () => void)();
    expect(onSessionEnd).toHaveBeenCalledOnce();
    expect(created[0].userCloses()).toBe(false);
  });
});

describe('window bounds clamping', () => {
  const primary = { x: 0, y: 0, width: 1920, height: 1040 };
  const right = { x: 1920, y: 0, width: 1280, height: 984 };

  it('no saved bounds: the default size centred on the primary display', () => {
    expect(clampBounds(undefined, [primary], primary)).toEqual({ x: 360, y: 120, width: 1200, height: 800, maximized: false });
  });

  it('bounds on a display that still exists stay put; hanging off its edge, they are pulled inside', () => {
    expect(clampBounds({ x: 2000, y: 50, width: 1000, height: 700, maximized: false }, [primary, right], primary)).toMatchObject({ x: 2000, y: 50 });
    expect(clampBounds({ x: 2900, y: 600, width: 1000, height: 700, maximized: true }, [primary, right], primary)).toEqual({ x: 2200, y: 284, width: 1000, height: 700, maximized: true });
  });

  it('too large for the (smaller) display: shrunk to fit it', () => {
    const small = { x: 0, y: 0, width: 1280, height: 720 };
    expect(clampBounds({ x: -50, y: -10, width: 1900, height: 1000, maximized: false }, [small], small)).toEqual({ x: 0, y: 0, width: 1280, height: 720, maximized: false });
  });

  it('unsaved settings on quit or reload: the operator is asked; «stay» cancels the quit and the window hides to the tray again', async () => {
    let answer = false;
    const confirmLeave = vi.fn(() => answer);
    const { service, created } = setup({ confirmLeave });
    await service.show();
    service.setQuitting(true);
    expect(created[0].pageAsksToStay()).toBe(false);
    expect(confirmLeave).toHaveBeenCalledOnce();
    // The quit was cancelled: closing the window hides it again instead of closing it.
    expect(created[0].userCloses()).toBe(true);
    answer = true;
    service.setQuitting(true);
    expect(created[0].pageAsksToStay()).toBe(true);
  });

  it('a shutdown never waits on the question; without a dialog the window lets go', async () => {
    const confirmLeave = vi.fn(() => false);
    const { service, created } = setup({ confirmLeave, onSessionEnd: () => {} });
    await service.show();
    (created[0].listeners.get('session-end') as () => void)();
    expect(created[0].pageAsksToStay()).toBe(true);
    expect(confirmLeave).not.toHaveBeenCalled();
    // Linux/macOS shutdown (powerMonitor): the same.
    const linux = setup({ confirmLeave });
    await linux.service.show();
    linux.service.endSession();
    expect(linux.created[0].pageAsksToStay()).toBe(true);
    expect(confirmLeave).not.toHaveBeenCalled();
    const plain = setup();
    await plain.service.show();
    expect(plain.created[0].pageAsksToStay()).toBe(true);
  });
});
