import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { FileSettingsStore } from '../../main/config/settings-store.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The config file written from the window (service mode and the desktop's non-secret part). */
const config = (raw: object) => parseConfig(raw, {}).config;

describe('config file writes (the one JSON writer: conf)', () => {
  it('replaces the file whole and privately, as two-space JSON; secrets from the environment stay out', async () => {
    const dir = tempDir();
    const file = join(dir, 'config.json');
    writeFileSync(file, '\uFEFF{ "ui": { "port": 0 } }\r\n'); // as Notepad saves it
    const inode = statSync(file).ino;
    const store = new FileSettingsStore(file, ['passteam.token']);
    await store.save(config({ ui: { port: 40001 }, passteam: { token: 'FROM-ENV', templateId: 'tpl' } }));
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\{\n {2}"listener": \{/);
    expect(text).not.toContain('FROM-ENV');
    expect(JSON.parse(text)).toMatchObject({ ui: { port: 40001 }, passteam: { templateId: 'tpl' } });
    expect(statSync(file).ino).not.toBe(inode);
    expect(readdirSync(dir)).toEqual(['config.json']);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a file someone broke by hand while Sputnik ran is refused, not overwritten, and its text is not quoted', async () => {
    const file = join(tempDir(), 'config.json');
    writeFileSync(file, '{ "passteam": { "token": "HAND-SECRET" ');
    const store = new FileSettingsStore(file);
    const error = await store.save(config({ ui: { port: 1 } })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ status: 500, code: 'settings_not_saved' });
    expect(String((error as Error).message)).toContain(`Настройки не сохранены в ${file}: файл изменили вручную`);
    expect(String((error as Error).message)).not.toContain('HAND-SECRET');
    expect(readFileSync(file, 'utf8')).toBe('{ "passteam": { "token": "HAND-SECRET" ');
    // Fixed by hand: the next save goes through.
    writeFileSync(file, '{}');
    await store.save(config({ ui: { port: 2 } }));
    expect(JSON.parse(readFileSync(file, 'utf8')).ui.port).toBe(2);
  });

  it('no hand-written temp-file-and-rename writer is left in main/: every JSON file goes through conf', async () => {
    const root = resolve(import.meta.dirname, '../../main');
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const writers = files.filter((f) => /\brenameSync\s*\(|\brename\s*\(/.test(readFileSync(join(root, f), 'utf8')));
    expect(writers).toEqual([]);
  });
});
