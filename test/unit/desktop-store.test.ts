import Conf from 'conf';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESKTOP_FILE, DesktopStore } from '../../main/desktop/desktop-store.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The desktop settings store as the app uses it, under plain Node: electron-store is conf with
 * Electron's paths, so the store is opened here through conf itself, on a real file.
 */
const open = (file: string) => new DesktopStore(file, (options) => new Conf(options));

describe('desktop settings store (electron-store / conf)', () => {
  it('defaults when there is no file; persists across instances; the file is private and replaced whole', () => {
    const dir = join(tempDir(), 'Sputnik');
    const file = join(dir, DESKTOP_FILE);
    const a = open(file);
    expect(a.path).toBe(file);
    expect(a.get('autostart')).toBe(false);
    expect(a.get('hiddenStart')).toBe(true);
    expect(a.get('windowBounds')).toBeUndefined();
    expect(a.get('secrets')).toEqual({});

    a.set('autostart', true);
    const first = statSync(file);
    a.set('windowBounds', { x: 1, y: 2, width: 800, height: 600, maximized: false });
    // Atomic: a new file renamed over the old one (an in-place write would keep the inode), no temp file left.
    expect(statSync(file).ino).not.toBe(first.ino);
    expect(readdirSync(dir)).toEqual([DESKTOP_FILE]);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);

    const b = open(file);
    expect(b.get('autostart')).toBe(true);
    expect(b.get('windowBounds')).toEqual({ x: 1, y: 2, width: 800, height: 600, maximized: false });
    b.set('windowBounds', undefined);
    expect(open(file).get('windowBounds')).toBeUndefined();
    expect(open(file).get('autostart')).toBe(true);
  });

  it('the file an older Sputnik wrote by hand (same place, same JSON) is read as it is: the user keeps every setting', () => {
    const dir = tempDir();
    const file = join(dir, DESKTOP_FILE);
    // Exactly what the hand-written store wrote: two-space JSON, dotted keys inside `secrets`.
    const old = {
      windowBounds: { x: -1200, y: 40, width: 1000, height: 700, maximized: true },
      autostart: true,
      hiddenStart: false,
      secrets: { 'passteam.token': Buffer.from('enc:PT').toString('base64'), 'docpart.basicAuth.password': 'YmxvYg==' },
    };
    writeFileSync(file, JSON.stringify(old, null, 2) + '\n', { mode: 0o600 });
    const store = open(file);
    expect(store.get('windowBounds')).toEqual(old.windowBounds);
    expect(store.get('autostart')).toBe(true);
    expect(store.get('hiddenStart')).toBe(false);
    expect(store.get('secrets')).toEqual(old.secrets);
    // The first write keeps what it did not touch.
    store.set('autostart', false);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ ...old, autostart: false });
  });

  it('a value that does not fit reads as its default without losing the others; a bad value is refused before writing', () => {
    const file = join(tempDir(), DESKTOP_FILE);
    writeFileSync(file, JSON.stringify({ autostart: 'yes', hiddenStart: false, windowBounds: { x: 1 } }));
    const store = open(file);
    expect(store.get('autostart')).toBe(false);
    expect(store.get('hiddenStart')).toBe(false);
    expect(store.get('windowBounds')).toBeUndefined();
    const before = readFileSync(file, 'utf8');
    expect(() => store.set('hiddenStart', 'no' as unknown as boolean)).toThrow();
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('an unreadable file (a crash of some other writer, a hand edit) starts afresh instead of stopping the app', () => {
    const file = join(tempDir(), DESKTOP_FILE);
    writeFileSync(file, '{not json');
    const store = open(file);
    expect(store.get('hiddenStart')).toBe(true);
    store.set('autostart', true);
    expect(open(file).get('autostart')).toBe(true);
  });
});
