import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const CLI = fileURLToPath(new URL('../../main/cli.ts', import.meta.url));

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

const children: ChildProcess[] = [];

export interface Served {
  child: ChildProcess;
  listenerUrl: string;
  uiLoginUrl: string;
  token: string | undefined;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `sputnik serve …` and resolves once it printed its addresses. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env } });
    children.push(child);
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout.on('data', (d) => {
      out += d;
      const l = /API для 1С: (http:\/\/\S+)/.exec(out);
      const u = /Окно Спутника: (http:\/\/\S+)/.exec(out);
      if (l && u) {
        const t = /Bearer …\): (\S+)/.exec(out);
        resolve({ child, listenerUrl: l[1], uiLoginUrl: u[1], token: t?.[1], stdout: () => out, stderr: () => err, exited });
      }
    });
    child.stderr.on('data', (d) => (err += d));
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready\n${out}\n${err}`)));
  });
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
