// Counts type escapes in main/ by the TypeScript syntax tree (comments and `as const` do not count):
// `x as T` / `<T>x` casts and non-null `x!`. `node scripts/count-casts.ts [dir] [--list] [--non-null]`:
// --list lists the casts, --non-null lists the non-null assertions (the same way, per file in the summary).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const root = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'main');
const list = args.includes('--list');
const listNonNull = args.includes('--non-null');

function* files(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

let casts = 0;
let nonNull = 0;
const perFile = new Map<string, number>();
const perFileNonNull = new Map<string, number>();
for (const file of files(root)) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    const isCast = ts.isAsExpression(node) || ts.isTypeAssertionExpression(node);
    if (isCast && !(ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(source) === 'const')) {
      casts++;
      perFile.set(file, (perFile.get(file) ?? 0) + 1);
      if (list) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        console.log(`${path.relative(process.cwd(), file)}:${line}: ${node.getText(source).replace(/\s+/g, ' ').slice(0, 140)}`);
      }
    }
    if (ts.isNonNullExpression(node)) {
      nonNull++;
      perFileNonNull.set(file, (perFileNonNull.get(file) ?? 0) + 1);
      if (listNonNull) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        console.log(`${path.relative(process.cwd(), file)}:${line}: ${node.getText(source).replace(/\s+/g, ' ').slice(0, 140)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
console.log(`casts ${casts}, non-null assertions ${nonNull} in ${path.relative(process.cwd(), root) || '.'}`);
const top = (counts: Map<string, number>, label: string): void => {
  for (const [file, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${n} ${label} ${path.relative(process.cwd(), file)}`);
};
if (!list && !listNonNull) {
  top(perFile, 'casts');
  top(perFileNonNull, 'non-null');
}
