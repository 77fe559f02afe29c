import Conf from 'conf';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Autostart, type LoginItemsApp } from '../../main/desktop/autostart.ts';
import { CoreControl, type FetchLike } from '../../main/desktop/core-control.ts';
import { DesktopStore } from '../../main/desktop/desktop-store.ts';
import { DesktopPrefs } from '../../main/desktop/prefs.ts';
import { SingleInstance, type SingleInstanceApp } from '../../main/desktop/single-instance.ts';
import type { HealthView } from '../../main/desktop/status.ts';
import { tempDir } from '../helpers/tmp.ts';

class FakeApp implements SingleInstanceApp {
  quit = vi.fn();
  listeners: Array<(event: unknown, argv: string[]) => void> = [];
  readonly lock: boolean;
  constructor(lock: boolean) {
    this.lock = lock;
  }
  requestSingleInstanceLock() {
    return this.lock;
  }
  on(_event: 'second-instance', listener: (event: unknown, argv: string[]) => void) {
    this.listeners.push(listener);
  }
  secondStart(argv: string[]) {
    for (const l of this.listeners) l({}, argv);
  }
}

describe('single instance', () => {
  it('a second start quits at once and registers nothing', () => {
    const app = new FakeApp(false);
    const instance = new SingleInstance(app);
    expect(instance.primary).toBe(false);
    expect(app.quit).toHaveBeenCalledOnce();
    expect(app.listeners).toHaveLength(0);
  });

  it('the first copy shows and focuses its window when another start happens', () => {
    const app = new FakeApp(true);
    const instance = new SingleInstance(app);
    const show = vi.fn();
    instance.onSecondStart(show);
    app.secondStart(['/opt/sputnik']);
    expect(show).toHaveBeenCalledOnce();
    expect(app.quit).not.toHaveBeenCalled();
  });

  it('a second start during startup is delivered once the window exists; a hidden (autostart) one is ignored', () => {
    const app = new FakeApp(true);
    const instance = new SingleInstance(app);
    app.secondStart(['/opt/sputnik', '--hidden']);
    app.secondStart(['/opt/sputnik']);
    const show = vi.fn();
    instance.onSecondStart(show);
    expect(show).toHaveBeenCalledOnce();
    app.secondStart(['/opt/sputnik', '--hidden']);
    expect(show).toHaveBeenCalledOnce();
  });
});

function health(states: Record<string, 'ok' | 'paused' | 'disabled' | 'failing'>): HealthView {
  return {
    status: 'ok',
    version: '0.1.0',
    listener: { url: 'http://127.0.0.1:37080', exposed: false },
    connectors: Object.fromEntries(Object.entries(states).map(([k, state]) => [k, { state, lastError: null, since: null }])),
  };
}

function fakeFetch(answer: (url: string) => { status: number; body: unknown }) {
  const calls: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, method: init.method, headers: init.headers });
    const { status, body } = answer(url);
    return { ok: status < 400, status, json: async () => body };
  };
  return { fetch, calls };
}

describe('tray actions through the admin API', () => {
  const base = { baseUrl: 'http://127.0.0.1:37081', token: 'tok' };

  it('pause: every enabled running sender, with the UI token and the X-Sputnik-UI header', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 200, body: health({ passteam: 'paused' }) }));
    const control = new CoreControl({ ...base, fetch, health: () => health({ passteam: 'ok', paykeeper: 'failing', docpart: 'ok' }) });
    await control.pauseSending();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://127.0.0.1:37081/api/connectors/passteam/pause',
      'POST http://127.0.0.1:37081/api/connectors/paykeeper/pause',
    ]);
    expect(calls[0].headers).toMatchObject({ authorization: 'Bearer tok', 'x-sputnik-ui': '1' });
  });

  it('resume: only the paused senders; disabled ones are never touched', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 200, body: health({}) }));
    const control = new CoreControl({ ...base, fetch, health: () => health({ passteam: 'paused', paykeeper: 'disabled' }) });
    await control.resumeSending();
    expect(calls.map((c) => c.url)).toEqual(['http://127.0.0.1:37081/api/connectors/passteam/resume']);
  });

  it('Docpart sync posts once; refusals and a dead core become Russian messages', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 409, body: { error: { code: 'docpart_disabled', message: 'Docpart выключен в настройках Спутника' } } }));
    const control = new CoreControl({ ...base, fetch, health: () => null });
    await expect(control.syncDocpart()).rejects.toThrow('Не удалось запустить синхронизацию Docpart: Docpart выключен в настройках Спутника');
    expect(calls.map((c) => c.url)).toEqual(['http://127.0.0.1:37081/api/docpart/sync']);
    const down = new CoreControl({ ...base, fetch: async () => Promise.reject(new Error('ECONNREFUSED')), health: () => health({ passteam: 'ok' }) });
    await expect(down.pauseSending()).rejects.toThrow('Не удалось приостановить отправку: служба Спутника не отвечает (ECONNREFUSED)');
    const notFound = new CoreControl({ ...base, fetch: fakeFetch(() => ({ status: 404, body: null })).fetch, health: () => health({ passteam: 'paused' }) });
    await expect(notFound.resumeSending()).rejects.toThrow('Не удалось возобновить отправку: ошибка 404');
  });
});

/** The desktop store as in the app, through conf (electron-store's base) in a temp folder. */
const openStore = (file: string) => new DesktopStore(file, (options) => new Conf(options));

class LoginItems implements LoginItemsApp {
  entries = new Map<string, boolean>();
  setLoginItemSettings(s: { openAtLogin: boolean; args?: string[] }) {
    this.entries.set(JSON.stringify(s.args ?? []), s.openAtLogin);
  }
  getLoginItemSettings(o?: { args?: string[] }) {
    return { openAtLogin: this.entries.get(JSON.stringify(o?.args ?? [])) ?? false };
  }
}

describe('desktop prefs: autostart flag and hidden start persisted', () => {
  function setup() {
    const file = join(tempDir(), 'desktop.json');
    const store = openStore(file);
    const app = new LoginItems();
    const autostart = new Autostart({ app, platform: 'win32', hidden: DesktopPrefs.hiddenStart(store) });
    return { file, store, app, prefs: new DesktopPrefs(store, autostart) };
  }

  it('setting autostart writes the login item (with --hidden) and the stored flag', () => {
    const { file, app, prefs } = setup();
    expect(prefs.setAutostart(true)).toBe(true);
    expect(app.entries.get('["--hidden"]')).toBe(true);
    expect(openStore(file).get('autostart')).toBe(true);
  });

  it('the OS entry wins: removed in Task Manager → the stored flag follows', () => {
    const { store, app, prefs } = setup();
    prefs.setAutostart(true);
    app.entries.clear();
    expect(prefs.getAutostart()).toBe(false);
    expect(store.get('autostart')).toBe(false);
  });

  it('turning hidden start off rewrites the login entry without --hidden', () => {
    const { store, app, prefs } = setup();
    prefs.setAutostart(true);
    prefs.setHiddenStart(false);
    expect(store.get('hiddenStart')).toBe(false);
    expect(app.entries.get('["--hidden"]')).toBe(false);
    expect(app.entries.get('[]')).toBe(true);
    expect(prefs.getAutostart()).toBe(true);
  });

  it('window bounds round-trip, rounded (HiDPI gives fractions), unchanged bounds not rewritten', () => {
    const { store, prefs } = setup();
    const set = vi.spyOn(store, 'set');
    prefs.windowBounds.save({ x: 10.4, y: 20.6, width: 900, height: 600, maximized: false });
    prefs.windowBounds.save({ x: 10, y: 21, width: 900, height: 600, maximized: false });
    expect(set).toHaveBeenCalledOnce();
    expect(prefs.windowBounds.load()).toEqual({ x: 10, y: 21, width: 900, height: 600, maximized: false });
  });
});
