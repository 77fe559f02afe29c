// node scripts/bsl-check.ts [repository root]: checks the 1C side's BSL (onec/**/*.bsl and the
// ```bsl blocks of the Markdown) and prints one `file:line: message` per finding; exit 1 if any.
import { resolve } from 'node:path';
import { checkRepo } from './bsl-check/check.ts';

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
const findings = checkRepo(root);
for (const f of findings) console.log(`${f.file}:${f.line}: ${f.message}`);
console.error(findings.length === 0 ? 'BSL: замечаний нет' : `BSL: замечаний — ${findings.length}`);
process.exitCode = findings.length === 0 ? 0 : 1;
