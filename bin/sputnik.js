#!/usr/bin/env node
// The package's bin: Node 24 runs the TypeScript sources directly (type stripping).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`sputnik: нужен Node.js 24 или новее (сейчас ${process.version}). См. README.\n`);
  process.exit(2);
}
const { main } = await import('../main/cli.ts');
await main(process.argv.slice(2));
