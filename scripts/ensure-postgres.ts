import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackage, machineProbes, type Wanted } from './ensure-package.ts';

/** Second step of `npm test`: ReGate's cluster tests start a private PostgreSQL server (initdb + pg_ctl). */
const ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin dir (Debian keeps each major under /usr/lib/postgresql/N/bin), or undefined. */
export function postgresBinDir(root = ROOT): string | undefined {
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0], 'bin') : undefined;
}

export const POSTGRES_PACKAGE: Wanted = {
  name: 'postgresql',
  messages: {
    install: 'npm test: ставлю Debian postgresql для тестов ReGate на нескольких машинах (apt-get install postgresql)',
    stopApt: 'npm test: для тестов ReGate нужен PostgreSQL (initdb, pg_ctl); выполните «sudo apt-get install -y postgresql» и запустите npm test снова',
    stopNoApt: 'npm test: для тестов ReGate нужен PostgreSQL (initdb и pg_ctl в /usr/lib/postgresql/N/bin); установите его и запустите npm test снова',
    failed: 'npm test: postgresql не установился (нет /usr/lib/postgresql/N/bin/initdb); выполните «sudo apt-get install -y postgresql» и запустите npm test снова',
  },
};

if (import.meta.main) process.exit(ensurePackage(POSTGRES_PACKAGE, machineProbes(() => postgresBinDir() !== undefined)));
