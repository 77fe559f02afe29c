import { describe, expect, it } from 'vitest';
import { defaultDataDir, logsDir, userConfigFile } from '../../main/config/paths.ts';

describe('desktop paths', () => {
  it('Linux follows XDG and falls back to ~/.config and ~/.local/share', () => {
    expect(userConfigFile({}, 'linux', '/home/anna')).toBe('/home/anna/.config/sputnik/config.json');
    expect(defaultDataDir({}, 'linux', '/home/anna')).toBe('/home/anna/.local/share/sputnik');
    const env = { XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: '/data' };
    expect(userConfigFile(env, 'linux', '/home/anna')).toBe('/cfg/sputnik/config.json');
    expect(defaultDataDir(env, 'linux', '/home/anna')).toBe('/data/sputnik');
  });

  it('Linux ignores empty and relative XDG values, as the XDG spec requires', () => {
    expect(userConfigFile({ XDG_CONFIG_HOME: '' }, 'linux', '/h')).toBe('/h/.config/sputnik/config.json');
    expect(defaultDataDir({ XDG_DATA_HOME: 'rel/dir' }, 'linux', '/h')).toBe('/h/.local/share/sputnik');
  });

  it('Windows uses %APPDATA% for config and %LOCALAPPDATA% for data', () => {
    const env = { APPDATA: 'C:\\Users\\anna\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\anna\\AppData\\Local' };
    expect(userConfigFile(env, 'win32', 'C:\\Users\\anna')).toBe('C:\\Users\\anna\\AppData\\Roaming\\Sputnik\\config.json');
    expect(defaultDataDir(env, 'win32', 'C:\\Users\\anna')).toBe('C:\\Users\\anna\\AppData\\Local\\Sputnik');
    expect(logsDir('C:\\Users\\anna\\AppData\\Local\\Sputnik', 'win32')).toBe('C:\\Users\\anna\\AppData\\Local\\Sputnik\\logs');
  });

  it('Windows without the variables falls back under the profile', () => {
    expect(userConfigFile({}, 'win32', 'C:\\Users\\anna')).toBe('C:\\Users\\anna\\AppData\\Roaming\\Sputnik\\config.json');
    expect(defaultDataDir({}, 'win32', 'C:\\Users\\anna')).toBe('C:\\Users\\anna\\AppData\\Local\\Sputnik');
  });

  it('macOS keeps both under Application Support', () => {
    expect(userConfigFile({}, 'darwin', '/Users/anna')).toBe('/Users/anna/Library/Application Support/Sputnik/config.json');
    expect(defaultDataDir({}, 'darwin', '/Users/anna')).toBe('/Users/anna/Library/Application Support/Sputnik/data');
    expect(logsDir('/Users/anna/Library/Application Support/Sputnik/data', 'darwin')).toBe('/Users/anna/Library/Application Support/Sputnik/data/logs');
  });
});
