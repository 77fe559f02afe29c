import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { electronBinary } from '../../main/desktop/electron-binary.ts';

/**
 * The only test that runs the real Electron. Its binary is downloaded at install time, which
 * fails offline; then this test is skipped and its name says why.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const binary = electronBinary(ROOT);
const name = binary
  ? 'the real Electron binary starts and loads better-sqlite3 in its Node'
  : 'the real Electron binary starts — SKIPPED: Electron binary absent (node_modules/electron/path.txt or dist/ missing; its download failed at install)';

describe('real Electron', () => {
  it.skipIf(binary === null)(name, () => {
    const expected = JSON.parse(readFileSync(resolve(ROOT, 'node_modules/electron/package.json'), 'utf8')).version as string;
    const script = "const D=require('better-sqlite3');console.log(process.versions.electron, new D(':memory:').prepare('select 41+1 as x').get().x)";
    const r = spawnSync(binary!, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${expected} 42`);
  });
});
