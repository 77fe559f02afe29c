import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** main/cli.ts, the `sputnik` command as the tests run it. */
export const CLI = fileURLToPath(new URL('../../main/cli.ts', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Its exit code, once it is gone. */
  exited: Promise<number | null>;
}

/**
 * `sputnik …args` in a process of its own, resolved once `ready` finds in its output so far what it
 * waits for (the addresses it prints); rejected, with that output, if it exits first. No vitest hooks
 * here (the benchmarks use it too): `spawned` lets the caller keep the child to kill it afterwards.
 */
export function spawnCli<T extends object>(
  args: string[],
  opts: { ready: (stdout: string) => T | undefined; env?: NodeJS.ProcessEnv; spawned?: (child: ChildProcess) => void },
): Promise<T & CliProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  opts.spawned?.(child);
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const found = opts.ready(out);
      if (found) resolve({ ...found, child, stdout: () => out, stderr: () => err, exited });
    });
    child.stderr.on('data', (d) => (err += d));
    void exited.then((code) => reject(new Error(`sputnik ${args.join(' ')} exited with ${code} before it was ready\n${out}\n${err}`)));
  });
}
