import { IPC } from '../main/desktop/ipc-channels.ts';
import type { Connection, CoreStatus, SputnikBridge } from './bridge.ts';

/** The parts of Electron's ipcRenderer used here; tests pass a fake. */
export interface IpcRendererLike {
  sendSync(channel: string, ...args: unknown[]): unknown;
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
}

function isConnection(value: unknown): value is Connection {
  const v = value as Partial<Connection> | null;
  return typeof v?.baseUrl === 'string' && typeof v.token === 'string';
}

function coreStatus(value: unknown): CoreStatus | null {
  const v = value as Partial<CoreStatus> | null;
  if (typeof v?.line !== 'string' || typeof v.down !== 'boolean' || typeof v.restart !== 'boolean') return null;
  if (v.state !== 'ok' && v.state !== 'warning' && v.state !== 'problem') return null;
  return { state: v.state, line: v.line, down: v.down, restart: v.restart };
}

/**
 * Builds `window.sputnik`: plain functions over named channels. Nothing of ipcRenderer itself
 * (or its events) is handed to the page.
 */
export function createSputnikApi(ipc: IpcRendererLike): SputnikBridge {
  let connection: Connection | undefined;
  return Object.freeze({
    connection(): Connection {
      if (!connection) {
        const value = ipc.sendSync(IPC.connection);
        if (!isConnection(value)) throw new Error('Спутник не выдал адрес службы этому окну');
        connection = Object.freeze({ baseUrl: value.baseUrl, token: value.token });
      }
      return connection;
    },
    async setAutostart(on: boolean): Promise<boolean> {
      return (await ipc.invoke(IPC.setAutostart, on === true)) === true;
    },
    async getAutostart(): Promise<boolean> {
      return (await ipc.invoke(IPC.getAutostart)) === true;
    },
    async showLogsFolder(): Promise<void> {
      await ipc.invoke(IPC.showLogsFolder);
    },
    async appVersion(): Promise<string> {
      const version = await ipc.invoke(IPC.appVersion);
      return typeof version === 'string' ? version : '';
    },
    async quit(): Promise<void> {
      await ipc.invoke(IPC.quit);
    },
    async coreStatus(): Promise<CoreStatus | null> {
      return coreStatus(await ipc.invoke(IPC.coreStatus));
    },
    async restartCore(): Promise<CoreStatus | null> {
      return coreStatus(await ipc.invoke(IPC.restartCore));
    },
  });
}
