/**
 * What preload exposes as `window.sputnik` in the desktop app. Import-free so the
 * renderer (DOM, bundler resolution) and preload/main (Node) can share it.
 */
export interface Connection {
  /** The admin API origin, e.g. http://127.0.0.1:37081 */
  baseUrl: string;
  /** Per-run UI token, sent as `Authorization: Bearer`. */
  token: string;
}

export interface SputnikBridge {
  connection(): Connection;
  setAutostart(on: boolean): Promise<boolean>;
  getAutostart(): Promise<boolean>;
  showLogsFolder(): Promise<void>;
  /** The desktop app's version (Electron's app.getVersion()). */
  appVersion(): Promise<string>;
  quit(): Promise<void>;
}

/** The only names on `window.sputnik`; tests assert nothing else leaks. */
export const BRIDGE_FUNCTIONS = ['connection', 'setAutostart', 'getAutostart', 'showLogsFolder', 'appVersion', 'quit'] as const;
