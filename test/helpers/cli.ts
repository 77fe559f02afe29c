import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { CLI, spawnCli, type CliProcess } from './spawn-cli.ts';

export { CLI };

const children: ChildProcess[] = [];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sputnik …` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sputnik ${args.join(' ')} did not exit in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Served extends CliProcess {
  listenerUrl: string;
  uiLoginUrl: string;
  token: string | undefined;
}

/** Starts `sputnik serve …` and resolves once it printed its addresses. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  return spawnCli(['serve', ...args], {
    env,
    spawned: (child) => children.push(child),
    ready: (out) => {
      const l = /API для 1С: (http:\/\/\S+)/.exec(out);
      const u = /Окно Спутника: (http:\/\/\S+)/.exec(out);
      return l && u ? { listenerUrl: l[1], uiLoginUrl: u[1], token: /Bearer …\): (\S+)/.exec(out)?.[1] } : undefined;
    },
  });
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
