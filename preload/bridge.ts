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

/** What the shell knows of its core (the tray's status), for the window while the core does not answer. */
export interface CoreStatus {
  state: 'ok' | 'warning' | 'problem';
  /** The tray's line, e.g. «Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу». */
  line: string;
  /** The core is not serving or does not answer the shell either: `line` says why. */
  down: boolean;
  /** The shell offers «Перезапустить службу»: the service is down for good or does not answer. */
  restart: boolean;
}

export interface SputnikBridge {
  connection(): Connection;
  setAutostart(on: boolean): Promise<boolean>;
  getAutostart(): Promise<boolean>;
  showLogsFolder(): Promise<void>;
  /** The desktop app's version (Electron's app.getVersion()). */
  appVersion(): Promise<string>;
  quit(): Promise<void>;
  /** The tray's status; null when the shell answers something else. */
  coreStatus(): Promise<CoreStatus | null>;
  /** «Перезапустить службу»: starts the core again; answers the status after it. */
  restartCore(): Promise<CoreStatus | null>;
}

/** The only names on `window.sputnik`; tests assert nothing else leaks. */
export const BRIDGE_FUNCTIONS = ['connection', 'setAutostart', 'getAutostart', 'showLogsFolder', 'appVersion', 'quit', 'coreStatus', 'restartCore'] as const;
