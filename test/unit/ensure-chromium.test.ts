import { afterEach, describe, expect, it, vi } from 'vitest';
import { ensureChromium, FAILED_MESSAGE, INSTALL_MESSAGE, installCommands, plan, STOP_APT_MESSAGE, STOP_NO_APT_MESSAGE, type Probes } from '../../scripts/ensure-chromium.ts';

/** A machine: chromium present or not (and whether an install makes it appear), root, sudo, apt-get. */
function machine(m: { chromium: boolean; root?: boolean; sudo?: boolean; apt?: boolean; installWorks?: boolean }) {
  let installed = m.chromium;
  const ran: string[] = [];
  const probes: Probes = {
    chromiumPresent: () => installed,
    isRoot: () => m.root ?? false,
    passwordlessSudo: () => m.sudo ?? false,
    aptGet: () => m.apt ?? true,
  };
  const run = (argv: string[]) => {
    ran.push(argv.join(' '));
    if (argv.includes('install') && (m.installWorks ?? true)) installed = true;
    return m.installWorks ?? true;
  };
  return { probes, run, ran };
}

const said = () => {
  const out = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  return () => [...out.mock.calls, ...err.mock.calls].map((c) => c.join(' '));
};

afterEach(() => vi.restoreAllMocks());

describe('npm test sets up chromium before any test runs', () => {
  it('decides: present → go on; absent → apt-get as root or with passwordless sudo, otherwise stop', () => {
    expect(plan(machine({ chromium: true }).probes)).toEqual({ kind: 'ready' });
    expect(plan(machine({ chromium: true, apt: false }).probes)).toEqual({ kind: 'ready' });
    expect(plan(machine({ chromium: false, root: true }).probes)).toEqual({ kind: 'install', sudo: false });
    expect(plan(machine({ chromium: false, root: true, sudo: true }).probes)).toEqual({ kind: 'install', sudo: false });
    expect(plan(machine({ chromium: false, sudo: true }).probes)).toEqual({ kind: 'install', sudo: true });
    expect(plan(machine({ chromium: false }).probes)).toEqual({ kind: 'stop', message: STOP_APT_MESSAGE });
    expect(plan(machine({ chromium: false, root: true, apt: false }).probes)).toEqual({ kind: 'stop', message: STOP_NO_APT_MESSAGE });
  });

  it('present: runs nothing and says nothing', () => {
    const lines = said();
    const m = machine({ chromium: true });
    expect(ensureChromium(m.probes, m.run)).toBe(0);
    expect(m.ran).toEqual([]);
    expect(lines()).toEqual([]);
  });

  it('absent, root: apt-get update, then install, then the tests run', () => {
    const lines = said();
    const m = machine({ chromium: false, root: true });
    expect(ensureChromium(m.probes, m.run)).toBe(0);
    expect(m.ran).toEqual(['env DEBIAN_FRONTEND=noninteractive apt-get update -qq', 'env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium']);
    expect(lines()).toEqual([INSTALL_MESSAGE]);
  });

  it('absent, passwordless sudo: the same through sudo -n, which never waits for a password', () => {
    const m = machine({ chromium: false, sudo: true });
    said();
    expect(ensureChromium(m.probes, m.run)).toBe(0);
    expect(m.ran).toEqual(installCommands(true).map((a) => a.join(' ')));
    expect(m.ran.every((c) => c.startsWith('sudo -n env DEBIAN_FRONTEND=noninteractive apt-get '))).toBe(true);
  });

  it('absent, no root and no sudo: stops with one line naming the command, running nothing', () => {
    const lines = said();
    const m = machine({ chromium: false });
    expect(ensureChromium(m.probes, m.run)).toBe(1);
    expect(m.ran).toEqual([]);
    expect(lines()).toEqual([STOP_APT_MESSAGE]);
    expect(STOP_APT_MESSAGE).toContain('sudo apt-get install -y chromium');
    expect(STOP_APT_MESSAGE).not.toContain('\n');
  });

  it('an install that fails (no network, no package) stops the run with what to do', () => {
    const lines = said();
    const m = machine({ chromium: false, root: true, installWorks: false });
    expect(ensureChromium(m.probes, m.run)).toBe(1);
    expect(m.ran).toEqual(['env DEBIAN_FRONTEND=noninteractive apt-get update -qq']); // stops at the first failed step
    expect(lines()).toEqual([INSTALL_MESSAGE, FAILED_MESSAGE]);
  });
});
