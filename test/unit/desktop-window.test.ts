import { describe, expect, it, vi } from 'vitest';
import {
  WindowService,
  loginUrl,
  windowOptions,
  type PreventableEvent,
  type WindowLike,
  type WindowOptions,
} from '../../main/desktop/window.ts';

type Listener = (...args: never[]) => unknown;

class FakeWindow implements WindowLike {
  options: WindowOptions;
  loaded: string[] = [];
  visible = false;
  minimized = false;
  destroyed = false;
  focused = 0;
  listeners = new Map<string, Listener>();
  openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
  navigateListener: ((e: PreventableEvent, url: string) => void) | undefined;
  webContents = {
    setWindowOpenHandler: (h: (d: { url: string }) => { action: 'deny' }) => {
      this.openHandler = h;
    },
    on: (_event: 'will-navigate', l: (e: PreventableEvent, url: string) => void) => {
      this.navigateListener = l;
    },
  };
  constructor(options: WindowOptions) {
    this.options = options;
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

function setup() {
  const created: FakeWindow[] = [];
  const openExternal = vi.fn();
  const service = new WindowService({
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
});
