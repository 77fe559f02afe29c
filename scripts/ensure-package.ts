import { spawnSync } from 'node:child_process';

/**
 * A Debian package a test needs (chromium for the UI test, postgresql for ReGate's cluster tests):
 * present → go on; absent → apt-get as root or with passwordless sudo; otherwise stop with one line
 * that says what to run. Never a skip: a test that did not run must not read as passed.
 */
export interface Probes {
  present: () => boolean;
  isRoot: () => boolean;
  /** `sudo -n true` succeeds: sudo is there and asks no password. */
  passwordlessSudo: () => boolean;
  aptGet: () => boolean;
}

export interface Wanted {
  /** The Debian package name. */
  name: string;
  messages: { install: string; stopApt: string; stopNoApt: string; failed: string };
}

export type Plan = { kind: 'ready' } | { kind: 'install'; sudo: boolean } | { kind: 'stop'; message: string };

export function planFor(w: Wanted, p: Probes): Plan {
  if (p.present()) return { kind: 'ready' };
  if (!p.aptGet()) return { kind: 'stop', message: w.messages.stopNoApt };
  if (p.isRoot()) return { kind: 'install', sudo: false };
  if (p.passwordlessSudo()) return { kind: 'install', sudo: true };
  return { kind: 'stop', message: w.messages.stopApt };
}

/** The apt-get commands of an install, each as argv. */
export function aptCommands(name: string, sudo: boolean): string[][] {
  const apt = (...args: string[]) => [...(sudo ? ['sudo', '-n'] : []), 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  return [apt('update', '-qq'), apt('install', '-y', '-qq', name)];
}

const ok = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

export const machineProbes = (present: () => boolean): Probes => ({
  present,
  isRoot: () => process.getuid?.() === 0,
  passwordlessSudo: () => ok('sudo', ['-n', 'true']),
  aptGet: () => ok('apt-get', ['--version']),
});

export const runQuietly = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;

/** Exit code: 0 when the package is there (now), 1 after printing what to run. */
export function ensurePackage(w: Wanted, p: Probes, run = runQuietly): number {
  const decided = planFor(w, p);
  if (decided.kind === 'ready') return 0;
  if (decided.kind === 'stop') {
    console.error(decided.message);
    return 1;
  }
  console.log(w.messages.install);
  if (aptCommands(w.name, decided.sudo).every(run) && p.present()) return 0;
  console.error(w.messages.failed);
  return 1;
}
