// node scripts/onec-dump.ts [--check] [path prefix]: brings the 1C extension dumps under onec/ to
// what Designer writes — modules as UTF-8 with a BOM and CRLF, ConfigDumpInfo.xml listing every
// object — and rebuilds onec/sputnik/ut11 from onec/sputnik/rozn23 and onec/sputnik/ut11-overlay.
// --check changes nothing and exits 1 if a file is out of date. A prefix (e.g. onec/sputnik)
// limits it to the files below.
import { readFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expectedFiles, staleFiles } from './onec-dump/expected.ts';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const prefix = args.find((a) => !a.startsWith('--'))?.replace(/\/$/, '');
const mine = (p: string) => !prefix || p === prefix || p.startsWith(`${prefix}/`);

const expected = expectedFiles(root);
const outdated = [...expected].filter(([p, t]) => mine(p) && (!existsSync(join(root, p)) || readFileSync(join(root, p), 'utf8') !== t));
const stale = staleFiles(root, expected).filter(mine);

for (const [p] of outdated) console.log(`${check ? 'устарел' : 'записан'}: ${p}`);
for (const p of stale) console.log(`${check ? 'лишний' : 'удалён'}: ${p}`);
if (check) {
  process.exitCode = outdated.length + stale.length === 0 ? 0 : 1;
} else {
  for (const [p, t] of outdated) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), t);
  }
  for (const p of stale) rmSync(join(root, p));
}
console.error(outdated.length + stale.length === 0 ? 'Выгрузки 1С: всё актуально' : `Выгрузки 1С: файлов — ${outdated.length + stale.length}`);
