import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { electronBinary } from '../../main/desktop/electron-binary.ts';
import { trayIconPng } from '../../main/desktop/icons.ts';
import { createWillQuitHandler } from '../../main/desktop/quit.ts';
import { NO_ELECTRON_MESSAGE, serveArgs } from '../../scripts/start.ts';

const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sputnik-desktop-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('electron binary detection', () => {
  it('null without path.txt, null when the named file is absent, the path when present', () => {
    const root = temp();
    const pkg = join(root, 'node_modules', 'electron');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    expect(electronBinary(root)).toBeNull();
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    expect(electronBinary(root)).toBeNull();
    writeFileSync(join(pkg, 'dist', 'electron'), '');
    expect(electronBinary(root)).toBe(join(pkg, 'dist', 'electron'));
  });
});

describe('npm start fallback', () => {
  it('says in one line why it runs service mode', () => {
    expect(NO_ELECTRON_MESSAGE.split('\n')).toHaveLength(1);
    expect(NO_ELECTRON_MESSAGE).toContain('режиме службы');
  });

  it('runs the user config when there is one, else the sandbox, always in the data dir', () => {
    expect(serveArgs('/c/config.json', true, '/d')).toEqual(['main/cli.ts', 'serve', '--config', '/c/config.json', '--data-dir', '/d']);
    expect(serveArgs('/c/config.json', false, '/d')).toEqual(['main/cli.ts', 'serve', '--sandbox', '--data-dir', '/d']);
  });
});

describe('tray icons', () => {
  it('are valid RGBA PNGs: a coloured opaque centre and transparent corners', () => {
    const png = trayIconPng('problem', 16);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(16);
    expect(png.readUInt32BE(20)).toBe(16);
    const idatLength = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    const pixel = (x: number, y: number) => [...raw.subarray(y * 65 + 1 + x * 4, y * 65 + 1 + x * 4 + 4)];
    expect(pixel(8, 8)).toEqual([0xd3, 0x3a, 0x2c, 255]);
    expect(pixel(0, 0)[3]).toBe(0);
    expect(trayIconPng('ok', 16).equals(trayIconPng('warning', 16))).toBe(false);
  });
});

describe('quit', () => {
  it('cancels the first will-quit, stops the core once, then exits 0', async () => {
    const exit = vi.fn();
    let finish!: () => void;
    const stopCore = vi.fn(() => new Promise<void>((r) => (finish = r)));
    const onWillQuit = createWillQuitHandler({ stopCore, exit, log: () => {}, timeoutMs: 1000 });
    const prevent = vi.fn();
    onWillQuit({ preventDefault: prevent });
    onWillQuit({ preventDefault: prevent });
    expect(prevent).toHaveBeenCalledTimes(2);
    expect(stopCore).toHaveBeenCalledOnce();
    expect(exit).not.toHaveBeenCalled();
    finish();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
  });

  it('exits 1 when the core does not stop in time', async () => {
    const exit = vi.fn();
    const log = vi.fn();
    createWillQuitHandler({ stopCore: () => new Promise(() => {}), exit, log, timeoutMs: 20 })({ preventDefault() {} });
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    expect(log.mock.calls[0][0]).toContain('не остановился');
  });
});
