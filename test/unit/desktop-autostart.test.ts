import { describe, expect, it } from 'vitest';
import { Autostart, HIDDEN_ARG, desktopEntry, isHiddenLaunch, type AutostartFs, type LoginItemsApp } from '../../main/desktop/autostart.ts';

class FakeApp implements LoginItemsApp {
  set: Array<{ openAtLogin: boolean; args?: string[] }> = [];
  queried: Array<{ args?: string[] } | undefined> = [];
  openAtLogin = false;
  setLoginItemSettings(settings: { openAtLogin: boolean; args?: string[] }) {
    this.set.push(settings);
    this.openAtLogin = settings.openAtLogin;
  }
  getLoginItemSettings(options?: { args?: string[] }) {
    this.queried.push(options);
    return { openAtLogin: this.openAtLogin };
  }
}

function memoryFs(): AutostartFs & { files: Map<string, string>; dirs: string[] } {
  const files = new Map<string, string>();
  const dirs: string[] = [];
  return {
    files,
    dirs,
    existsSync: (p) => files.has(p),
    mkdirSync: (p) => void dirs.push(p),
    writeFileSync: (p, data) => void files.set(p, data),
    rmSync: (p) => void files.delete(p),
  };
}

describe('autostart', () => {
  it('Windows/macOS: login item with --hidden, queried with the same args', () => {
    const app = new FakeApp();
    const autostart = new Autostart({ app, platform: 'win32' });
    expect(autostart.set(true)).toBe(true);
    expect(app.set).toEqual([{ openAtLogin: true, args: ['--hidden'] }]);
    expect(app.queried.at(-1)).toEqual({ args: ['--hidden'] });
    expect(autostart.set(false)).toBe(false);
    expect(app.set.at(-1)).toEqual({ openAtLogin: false, args: ['--hidden'] });
  });

  it('Linux: writes and removes an XDG autostart entry that starts hidden', () => {
    const app = new FakeApp();
    const fs = memoryFs();
    const file = '/home/anna/.config/autostart/sputnik.desktop';
    const autostart = new Autostart({ app, platform: 'linux', linux: { desktopFile: file, execPath: '/opt/Sputnik/sputnik', fs } });
    expect(autostart.get()).toBe(false);
    expect(autostart.set(true)).toBe(true);
    expect(fs.dirs).toEqual(['/home/anna/.config/autostart']);
    expect(fs.files.get(file)).toContain('Exec=/opt/Sputnik/sputnik --hidden\n');
    expect(autostart.set(false)).toBe(false);
    expect(fs.files.has(file)).toBe(false);
    expect(app.set).toEqual([]);
  });

  it('hidden start off: the login entry has no --hidden', () => {
    const app = new FakeApp();
    const fs = memoryFs();
    const file = '/home/anna/.config/autostart/sputnik.desktop';
    new Autostart({ app, platform: 'linux', hidden: () => false, linux: { desktopFile: file, execPath: '/opt/Sputnik/sputnik', fs } }).set(true);
    expect(fs.files.get(file)).toContain('Exec=/opt/Sputnik/sputnik\n');
    const win = new Autostart({ app, platform: 'win32', hidden: () => false });
    win.set(true);
    expect(app.set.at(-1)).toEqual({ openAtLogin: true, args: [] });
  });

  it('quotes an Exec path with spaces', () => {
    expect(desktopEntry('/home/anna/My Apps/Sputnik.AppImage')).toContain('Exec="/home/anna/My Apps/Sputnik.AppImage" --hidden');
  });

  it('recognises a hidden launch', () => {
    expect(HIDDEN_ARG).toBe('--hidden');
    expect(isHiddenLaunch(['/opt/sputnik', '--hidden'])).toBe(true);
    expect(isHiddenLaunch(['/opt/sputnik'])).toBe(false);
  });
});
