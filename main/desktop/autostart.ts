import { posix } from 'node:path';

/**
 * Start at login, hidden in the tray. Windows and macOS use Electron's login items; Linux has
 * no such API in Electron, so an XDG autostart entry is written instead.
 */
export const HIDDEN_ARG = '--hidden';

export interface LoginItemSettingsLike {
  openAtLogin: boolean;
}

export interface LoginItemsApp {
  setLoginItemSettings(settings: { openAtLogin: boolean; args?: string[] }): void;
  getLoginItemSettings(options?: { args?: string[] }): LoginItemSettingsLike;
}

export interface AutostartFs {
  existsSync(path: string): boolean;
  mkdirSync(path: string, options: { recursive: true }): unknown;
  writeFileSync(path: string, data: string): void;
  rmSync(path: string, options: { force: true }): void;
}

export interface AutostartDeps {
  app: LoginItemsApp;
  platform: NodeJS.Platform;
  /** Linux only: the .desktop file under ~/.config/autostart and the command to run. */
  linux?: { desktopFile: string; execPath: string; fs: AutostartFs };
  /** The "hidden start" setting: a login start opens in the tray only. Default: true. */
  hidden?: () => boolean;
}

export function isHiddenLaunch(argv: readonly string[]): boolean {
  return argv.includes(HIDDEN_ARG);
}

/** Exec= needs quoting per the Desktop Entry spec when the path has spaces or specials. */
export function desktopEntry(execPath: string, hidden = true): string {
  const quoted = /[\s"'\\$`]/.test(execPath) ? `"${execPath.replace(/(["\\$`])/g, '\\$1')}"` : execPath;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Sputnik',
    'Name[ru]=Спутник',
    `Exec=${quoted}${hidden ? ` ${HIDDEN_ARG}` : ''}`,
    'X-GNOME-Autostart-enabled=true',
    'Terminal=false',
    '',
  ].join('\n');
}

export class Autostart {
  readonly #deps: AutostartDeps;

  constructor(deps: AutostartDeps) {
    this.#deps = deps;
  }

  #args(hidden = this.#deps.hidden?.() ?? true): string[] {
    return hidden ? [HIDDEN_ARG] : [];
  }

  get(): boolean {
    const { app, platform, linux } = this.#deps;
    if (platform === 'linux') return linux ? linux.fs.existsSync(linux.desktopFile) : false;
    // On Windows the registry entry is matched by path *and* args, so ask with the same args.
    return app.getLoginItemSettings({ args: this.#args() }).openAtLogin;
  }

  set(on: boolean): boolean {
    const { app, platform, linux } = this.#deps;
    if (platform === 'linux') {
      if (!linux) return false;
      if (on) {
        linux.fs.mkdirSync(posix.dirname(linux.desktopFile), { recursive: true });
        linux.fs.writeFileSync(linux.desktopFile, desktopEntry(linux.execPath, this.#deps.hidden?.() ?? true));
      } else {
        linux.fs.rmSync(linux.desktopFile, { force: true });
      }
      return this.get();
    }
    // `args` reach the app on Windows; macOS reports a login launch via wasOpenedAtLogin instead.
    app.setLoginItemSettings({ openAtLogin: on, args: this.#args() });
    return this.get();
  }

  /**
   * The hidden-start setting changed: an existing login entry is rewritten with the new args
   * (on Windows the old entry is removed first — it is keyed by path and args).
   * Call with the *previous* value; `hidden()` must already answer the new one.
   */
  rewrite(previousHidden: boolean): boolean {
    const { app, platform } = this.#deps;
    const wasOn = platform === 'linux' ? this.get() : app.getLoginItemSettings({ args: this.#args(previousHidden) }).openAtLogin;
    if (!wasOn) return false;
    if (platform !== 'linux') app.setLoginItemSettings({ openAtLogin: false, args: this.#args(previousHidden) });
    return this.set(true);
  }
}
