import type { Connection, CoreStatus } from '../../preload/bridge.ts';
import { IPC } from './ipc-channels.ts';

/** The parts of Electron's ipcMain and its events used here; tests pass a fake. */
export interface IpcSender {
  senderFrame: { url: string } | null;
}
export interface IpcSyncEvent extends IpcSender {
  returnValue: unknown;
}
export interface IpcMainLike {
  on(channel: string, listener: (event: IpcSyncEvent) => void): unknown;
  handle(channel: string, listener: (event: IpcSender, ...args: unknown[]) => unknown): void;
}

export interface DesktopHandlers {
  connection(): Connection;
  getAutostart(): boolean;
  setAutostart(on: boolean): boolean;
  showLogsFolder(): Promise<void>;
  appVersion(): string;
  quit(): void;
  coreStatus(): CoreStatus;
  restartCore(): Promise<CoreStatus>;
}

/**
 * Answers only frames from the core's UI origin: if the window were ever navigated elsewhere,
 * that page must not obtain the token or quit the app.
 */
export function registerIpc(ipcMain: IpcMainLike, handlers: DesktopHandlers, trustedOrigin: string | (() => string)): void {
  // A function: a restarted core process may serve the window from another port.
  const origin = typeof trustedOrigin === 'function' ? trustedOrigin : () => trustedOrigin;
  const trusted = (event: IpcSender): boolean => {
    const url = event.senderFrame?.url;
    if (!url) return false;
    try {
      return new URL(url).origin === origin();
    } catch {
      return false;
    }
  };
  const refuse = (): never => {
    throw new Error('Запрос не из окна Спутника отклонён');
  };

  // Synchronous because `connection()` is synchronous for the renderer's API client.
  ipcMain.on(IPC.connection, (event) => {
    event.returnValue = trusted(event) ? handlers.connection() : null;
  });
  ipcMain.handle(IPC.getAutostart, (event) => (trusted(event) ? handlers.getAutostart() : refuse()));
  ipcMain.handle(IPC.setAutostart, (event, on) => {
    if (!trusted(event)) refuse();
    if (typeof on !== 'boolean') throw new TypeError('setAutostart ждёт true или false');
    return handlers.setAutostart(on);
  });
  ipcMain.handle(IPC.showLogsFolder, (event) => (trusted(event) ? handlers.showLogsFolder() : refuse()));
  ipcMain.handle(IPC.appVersion, (event) => (trusted(event) ? handlers.appVersion() : refuse()));
  ipcMain.handle(IPC.quit, (event) => {
    if (!trusted(event)) refuse();
    handlers.quit();
  });
  ipcMain.handle(IPC.coreStatus, (event) => (trusted(event) ? handlers.coreStatus() : refuse()));
  ipcMain.handle(IPC.restartCore, (event) => (trusted(event) ? handlers.restartCore() : refuse()));
}
