import { accessSync, constants } from 'node:fs';
import { aptCommands, ensurePackage, machineProbes, planFor, runQuietly, type Plan, type Probes as PackageProbes, type Wanted } from './ensure-package.ts';

/** First step of `npm test`: the UI test drives Debian chromium (see ensure-package.ts). */
export const CHROMIUM = '/usr/bin/chromium';

export interface Probes {
  chromiumPresent: () => boolean;
  isRoot: () => boolean;
  passwordlessSudo: () => boolean;
  aptGet: () => boolean;
}

export type { Plan };

export const INSTALL_MESSAGE = `npm test: ставлю Debian chromium для теста интерфейса (apt-get install chromium)`;
export const STOP_APT_MESSAGE = `npm test: для теста интерфейса нужен ${CHROMIUM}; выполните «sudo apt-get install -y chromium» и запустите npm test снова`;
export const STOP_NO_APT_MESSAGE = `npm test: для теста интерфейса нужен ${CHROMIUM} (Debian chromium); установите его и запустите npm test снова`;
export const FAILED_MESSAGE = `npm test: chromium не установился (${CHROMIUM} нет); выполните «sudo apt-get install -y chromium» и запустите npm test снова`;

const CHROMIUM_PACKAGE: Wanted = {
  name: 'chromium',
  messages: { install: INSTALL_MESSAGE, stopApt: STOP_APT_MESSAGE, stopNoApt: STOP_NO_APT_MESSAGE, failed: FAILED_MESSAGE },
};

const asPackage = (p: Probes): PackageProbes => ({ ...p, present: p.chromiumPresent });

export const plan = (p: Probes): Plan => planFor(CHROMIUM_PACKAGE, asPackage(p));

export const installCommands = (sudo: boolean): string[][] => aptCommands('chromium', sudo);

export const systemProbes: Probes = {
  ...machineProbes(() => false),
  chromiumPresent: () => {
    try {
      accessSync(CHROMIUM, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/** Exit code for `npm test`: 0 when chromium is there (now), 1 after printing what to run. */
export function ensureChromium(p: Probes = systemProbes, run = runQuietly): number {
  return ensurePackage(CHROMIUM_PACKAGE, asPackage(p), run);
}

if (import.meta.main) process.exit(ensureChromium());
