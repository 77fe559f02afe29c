import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What of main/sandbox/ a process loads by importing `entry` (without running it): recorded by a resolve hook. */
function sandboxModulesLoadedBy(entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (r.url.includes('/main/sandbox/')) seen.push(r.url.split('/main/')[1]); return r; } });
    await import(${JSON.stringify(new URL(entry, `file://${ROOT}/`).href)});
    console.log(JSON.stringify(seen));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
}

describe('the sandbox loads only when asked for', () => {
  it('the core and the desktop core process do not import the fake services', () => {
    expect(sandboxModulesLoadedBy('main/core/run.ts')).toEqual([]);
    expect(sandboxModulesLoadedBy('main/desktop/core-host.ts')).toEqual([]);
  });
});
