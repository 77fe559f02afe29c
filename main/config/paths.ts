import { posix, win32 } from 'node:path';

/**
 * Where Sputnik keeps the user's config and data on each OS. Pure (env, platform and home are
 * passed in) so the service CLI, `npm start` and the desktop shell agree, and tests can cover
 * every OS from one machine.
 */
export type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function userConfigFile(env: Env, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32') {
    const appData = nonEmpty(env.APPDATA) ?? win32.join(home, 'AppData', 'Roaming');
    return win32.join(appData, 'Sputnik', 'config.json');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'Sputnik', 'config.json');
  // XDG says a relative XDG_* value is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_CONFIG_HOME);
  const base = xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.config');
  return posix.join(base, 'sputnik', 'config.json');
}

export function defaultDataDir(env: Env, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32') {
    const localAppData = nonEmpty(env.LOCALAPPDATA) ?? win32.join(home, 'AppData', 'Local');
    return win32.join(localAppData, 'Sputnik');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'Sputnik', 'data');
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  const base = xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.local', 'share');
  return posix.join(base, 'sputnik');
}

/** The rotating pino files live here; the tray's "open logs folder" opens it. */
export function logsDir(dataDir: string, platform: NodeJS.Platform): string {
  return (platform === 'win32' ? win32 : posix).join(dataDir, 'logs');
}
