import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BRIDGE_FUNCTIONS } from '../../preload/bridge.ts';
import { createSputnikApi, type IpcRendererLike } from '../../preload/api.ts';
import { IPC } from '../../main/desktop/ipc-channels.ts';
import { registerIpc, type IpcMainLike, type IpcSender, type IpcSyncEvent } from '../../main/desktop/ipc.ts';

const exposed = vi.hoisted(() => ({ calls: [] as Array<[string, unknown]> }));
const fakeIpcRenderer = vi.hoisted(() => ({
  sendSync: vi.fn(() => ({ baseUrl: 'http://127.0.0.1:37081', token: 't' })),
  invoke: vi.fn(async () => true),
  on: vi.fn(),
  send: vi.fn(),
}));
// The real `electron` package would try to download its binary; preload only needs these two.
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.calls.push([key, api]) },
  ipcRenderer: fakeIpcRenderer,
}));

function fakeRenderer(): IpcRendererLike & { sent: string[]; invoked: Array<[string, unknown[]]> } {
  const sent: string[] = [];
  const invoked: Array<[string, unknown[]]> = [];
  return {
    sent,
    invoked,
    sendSync: (channel) => {
      sent.push(channel);
      return { baseUrl: 'http://127.0.0.1:37081', token: 'tok' };
    },
    invoke: async (channel, ...args) => {
      invoked.push([channel, args]);
      return true;
    },
  };
}

describe('preload', () => {
  beforeEach(() => {
    exposed.calls.length = 0;
    vi.resetModules();
  });

  it('exposes exactly the named functions as window.sputnik, and nothing of ipcRenderer', async () => {
    await import('../../preload/index.ts');
    expect(exposed.calls).toHaveLength(1);
    const [key, api] = exposed.calls[0];
    expect(key).toBe('sputnik');
    expect(Object.keys(api as object).sort()).toEqual([...BRIDGE_FUNCTIONS].sort());
    for (const name of BRIDGE_FUNCTIONS) expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    expect(Object.values(api as object)).not.toContain(fakeIpcRenderer);
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('each function uses its own named channel; connection is fetched once', async () => {
    const ipc = fakeRenderer();
    const api = createSputnikApi(ipc);
    expect(api.connection()).toEqual({ baseUrl: 'http://127.0.0.1:37081', token: 'tok' });
    api.connection();
    expect(ipc.sent).toEqual([IPC.connection]);
    await api.setAutostart(true);
    await api.getAutostart();
    await api.showLogsFolder();
    await api.appVersion();
    await api.quit();
    expect(ipc.invoked).toEqual([
      [IPC.setAutostart, [true]],
      [IPC.getAutostart, []],
      [IPC.showLogsFolder, []],
      [IPC.appVersion, []],
      [IPC.quit, []],
    ]);
  });

  it('appVersion() answers a string even when the main process sends something else', async () => {
    expect(await createSputnikApi({ sendSync: () => null, invoke: async () => '1.2.3' }).appVersion()).toBe('1.2.3');
    expect(await createSputnikApi({ sendSync: () => null, invoke: async () => 42 }).appVersion()).toBe('');
  });

  it('connection() fails loudly when the main process refuses', () => {
    const api = createSputnikApi({ sendSync: () => null, invoke: async () => undefined });
    expect(() => api.connection()).toThrow('Спутник не выдал адрес службы этому окну');
  });
});

describe('main-side IPC', () => {
  function setup() {
    const on = new Map<string, (e: IpcSyncEvent) => void>();
    const handle = new Map<string, (e: IpcSender, ...args: unknown[]) => unknown>();
    const ipcMain: IpcMainLike = {
      on: (channel, l) => on.set(channel, l),
      handle: (channel, l) => void handle.set(channel, l),
    };
    const handlers = {
      connection: vi.fn(() => ({ baseUrl: 'http://127.0.0.1:37081', token: 'tok' })),
      getAutostart: vi.fn(() => false),
      setAutostart: vi.fn((on: boolean) => on),
      showLogsFolder: vi.fn(async () => {}),
      appVersion: vi.fn(() => '0.1.0'),
      quit: vi.fn(),
      coreStatus: vi.fn(() => ({ state: 'problem' as const, line: 'Служба Спутника не отвечает', down: true, restart: true })),
      restartCore: vi.fn(async () => ({ state: 'ok' as const, line: 'Всё работает', down: false, restart: false })),
    };
    registerIpc(ipcMain, handlers, 'http://127.0.0.1:37081');
    return { on, handle, handlers };
  }
  const ui = { senderFrame: { url: 'http://127.0.0.1:37081/' } };
  const foreign = { senderFrame: { url: 'https://evil.example/' } };

  it('registers only the named channels', () => {
    const { on, handle } = setup();
    expect([...on.keys(), ...handle.keys()].sort()).toEqual(Object.values(IPC).sort());
  });

  it('answers the UI origin and refuses any other frame', async () => {
    const { on, handle, handlers } = setup();
    const sync: IpcSyncEvent = { ...ui, returnValue: undefined };
    on.get(IPC.connection)!(sync);
    expect(sync.returnValue).toEqual({ baseUrl: 'http://127.0.0.1:37081', token: 'tok' });
    const refused: IpcSyncEvent = { ...foreign, returnValue: undefined };
    on.get(IPC.connection)!(refused);
    expect(refused.returnValue).toBeNull();

    expect(handle.get(IPC.setAutostart)!(ui, true)).toBe(true);
    expect(handlers.setAutostart).toHaveBeenCalledWith(true);
    expect(() => handle.get(IPC.setAutostart)!(ui, 'yes')).toThrow(TypeError);
    expect(handle.get(IPC.appVersion)!(ui)).toBe('0.1.0');
    expect(() => handle.get(IPC.appVersion)!(foreign)).toThrow('Запрос не из окна Спутника отклонён');
    expect(() => handle.get(IPC.quit)!(foreign)).toThrow('Запрос не из окна Спутника отклонён');
    expect(() => handle.get(IPC.quit)!({ senderFrame: null })).toThrow();
    expect(handlers.quit).not.toHaveBeenCalled();
    handle.get(IPC.quit)!(ui);
    expect(handlers.quit).toHaveBeenCalledOnce();
  });

  it("the window reads the core's status and restarts it only from the UI origin", async () => {
    const { handle, handlers } = setup();
    expect(handle.get(IPC.coreStatus)!(ui)).toEqual({ state: 'problem', line: 'Служба Спутника не отвечает', down: true, restart: true });
    expect(() => handle.get(IPC.restartCore)!(foreign)).toThrow('Запрос не из окна Спутника отклонён');
    expect(handlers.restartCore).not.toHaveBeenCalled();
    await expect(handle.get(IPC.restartCore)!(ui)).resolves.toEqual({ state: 'ok', line: 'Всё работает', down: false, restart: false });
    expect(handlers.restartCore).toHaveBeenCalledOnce();
  });
});

describe("preload: the core's status for the window", () => {
  it('coreStatus() and restartCore() use their own channels and pass on only a well-formed status', async () => {
    const invoked: string[] = [];
    let answer: unknown = { state: 'problem', line: 'Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу', down: true, restart: true, extra: 'x' };
    const api = createSputnikApi({ sendSync: () => null, invoke: async (channel) => (invoked.push(channel), answer) });
    expect(await api.coreStatus()).toEqual({ state: 'problem', line: 'Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу', down: true, restart: true });
    answer = { state: 'ok', line: 'Всё работает', down: false, restart: false };
    expect(await api.restartCore()).toEqual(answer);
    expect(invoked).toEqual([IPC.coreStatus, IPC.restartCore]);
    for (answer of [null, 'ok', { state: 'red', line: 'x', down: true, restart: true }, { state: 'ok', line: 'x', restart: false }, { state: 'ok', line: 'x', down: false, restart: 'yes' }]) expect(await api.coreStatus()).toBeNull();
  });
});
