import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { electronBinary } from '../main/desktop/electron-binary.ts';
import { defaultDataDir, userConfigFile } from '../main/config/paths.ts';

/**
 * `npm start`: the desktop app when Electron's binary is installed, otherwise service mode on
 * the user's config (or the sandbox when there is none), so a new user always sees Sputnik run.
 */
const ROOT = resolve(import.meta.dirname, '..');
const DUPLICATE_SIGNAL_MS = 1000;

export const NO_ELECTRON_MESSAGE =
  'Электрон (Electron) не установлен: его бинарник не скачался при установке — запускаю Спутник в режиме службы.';

export function serveArgs(configFile: string, hasConfig: boolean, dataDir: string): string[] {
  return ['main/cli.ts', 'serve', ...(hasConfig ? ['--config', configFile] : ['--sandbox']), '--data-dir', dataDir];
}

export function desktopBundlesBuilt(root: string): boolean {
  return ['out/main/desktop.js', 'out/preload/index.cjs', 'out/renderer/index.html'].every((f) => existsSync(join(root, f)));
}

function run(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
}

function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((done) => {
    child.once('error', (error) => {
      console.error(`Не удалось запустить ${child.spawnfile}: ${error.message}`);
      done(1);
    });
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

async function runToEnd(command: string, args: string[]): Promise<void> {
  const code = await exitCode(run(command, args));
  if (code !== 0) throw new Error(`${[command, ...args].join(' ')} завершился с кодом ${code}`);
}

function npmRun(script: string): Promise<void> {
  // Under `npm start` npm tells us its own CLI; reusing it avoids npm.cmd/shell quirks on Windows.
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.[cm]?js$/.test(npmCli)) return runToEnd(process.execPath, [npmCli, 'run', script]);
  return runToEnd(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', script]);
}

/**
 * Runs the long-lived child until it exits. On POSIX it gets its own process group: a terminal
 * Ctrl+C would otherwise reach it twice (directly and forwarded), and the service treats a
 * second signal as "exit now, skip the graceful stop". Windows consoles deliver Ctrl+C to the
 * child themselves, so there only SIGTERM is forwarded.
 */
async function supervise(command: string, args: string[]): Promise<number> {
  const posix = process.platform !== 'win32';
  const child = run(command, args, { detached: posix });
  let lastForward = 0;
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // `npm start` relays Ctrl+C to us and the terminal sends it too: one keypress, one signal.
    if (Date.now() - lastForward < DUPLICATE_SIGNAL_MS) return;
    lastForward = Date.now();
    child.kill(signal);
  };
  process.on('SIGINT', () => (posix ? forward('SIGINT') : undefined));
  process.on('SIGTERM', () => forward('SIGTERM'));
  // A closed terminal must not leave the detached child running without its parent.
  if (posix) process.on('SIGHUP', () => forward('SIGTERM'));
  return exitCode(child);
}

async function main(): Promise<number> {
  const electron = electronBinary(ROOT);
  if (electron) {
    if (!desktopBundlesBuilt(ROOT)) await npmRun('build:desktop');
    return supervise(electron, ['.']);
  }
  console.log(NO_ELECTRON_MESSAGE);
  if (!existsSync(join(ROOT, 'out/renderer/index.html'))) await npmRun('build');
  const configFile = userConfigFile(process.env, process.platform, homedir());
  const dataDir = defaultDataDir(process.env, process.platform, homedir());
  return supervise(process.execPath, serveArgs(configFile, existsSync(configFile), dataDir));
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Спутник не запустился: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
