import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/**
 * First step of `npm test`: the UI test drives Debian chromium, so a fresh machine gets it here
 * (as root or with passwordless sudo: apt-get), or the run stops before any test with one line
 * that says what to run. Never a skip: a UI test that did not run must not read as passed.
 */
export const CHROMIUM = '/usr/bin/chromium';

export interface Probes {
  chromiumPresent: () => boolean;
  isRoot: () => boolean;
  /** `sudo -n true` succeeds: sudo is there and asks no password. */
  passwordlessSudo: () => boolean;
  aptGet: () => boolean;
}

export type Plan = { kind: 'ready' } | { kind: 'install'; sudo: boolean } | { kind: 'stop'; message: string };

export const INSTALL_MESSAGE = `npm test: ставлю Debian chromium для теста интерфейса (apt-get install chromium)`;
export const STOP_APT_MESSAGE = `npm test: для теста интерфейса нужен ${CHROMIUM}; выполните «sudo apt-get install -y chromium» и запустите npm test снова`;
export const STOP_NO_APT_MESSAGE = `npm test: для теста интерфейса нужен ${CHROMIUM} (Debian chromium); установите его и запустите npm test снова`;
export const FAILED_MESSAGE = `npm test: chromium не установился (${CHROMIUM} нет); выполните «sudo apt-get install -y chromium» и запустите npm test снова`;

export function plan(p: Probes): Plan {
  if (p.chromiumPresent()) return { kind: 'ready' };
  if (!p.aptGet()) return { kind: 'stop', message: STOP_NO_APT_MESSAGE };
  if (p.isRoot()) return { kind: 'install', sudo: false };
  if (p.passwordlessSudo()) return { kind: 'install', sudo: true };
  return { kind: 'stop', message: STOP_APT_MESSAGE };
}

/** The apt-get commands of an install, each as argv. */
export function installCommands(sudo: boolean): string[][] {
  const apt = (...args: string[]) => [...(sudo ? ['sudo', '-n'] : []), 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  return [apt('update', '-qq'), apt('install', '-y', '-qq', 'chromium')];
}

const ok = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

export const systemProbes: Probes = {
  chromiumPresent: () => {
    try {
      accessSync(CHROMIUM, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  isRoot: () => process.getuid?.() === 0,
  passwordlessSudo: () => ok('sudo', ['-n', 'true']),
  aptGet: () => ok('apt-get', ['--version']),
};

/** Exit code for `npm test`: 0 when chromium is there (now), 1 after printing what to run. */
export function ensureChromium(p: Probes = systemProbes, run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] }).status === 0): number {
  const decided = plan(p);
  if (decided.kind === 'ready') return 0;
  if (decided.kind === 'stop') {
    console.error(decided.message);
    return 1;
  }
  console.log(INSTALL_MESSAGE);
  if (installCommands(decided.sudo).every(run) && p.chromiumPresent()) return 0;
  console.error(FAILED_MESSAGE);
  return 1;
}

if (import.meta.main) process.exit(ensureChromium());
