/**
 * `npm run bench` (= node bench/run.ts [id…]): runs the benchmarks and prints each as a table
 * with ratios against a baseline measured in the same run. Not part of `npm test`; no timed
 * assertions — the figures are for people to read.
 */
import { availableParallelism, cpus } from 'node:os';
import { printTable, type BenchResult } from './common.ts';
import { benchGroupCommit } from './group-commit.ts';
import { benchP1 } from './p1-intake.ts';
import { benchP1Cards } from './p1-cards.ts';
import { benchP2 } from './p2-bonus.ts';
import { benchP3 } from './p3-drain.ts';
import { benchP6 } from './p6-startup.ts';
import { benchInvoiceBatch } from './invoice-batch.ts';
import { benchP5 } from './p5-export.ts';
import { benchP4 } from './p4-docpart.ts';
import { benchRegate } from './regate.ts';
import { benchRegateCluster } from './regate-cluster.ts';
import { benchSlowDisk } from './slow-disk.ts';
import { benchHostileMemory } from './hostile-memory.ts';
import { benchJournalSearch } from './journal-search.ts';
import { benchShellLoop } from './shell-loop.ts';
import { benchSeeds } from './seeds.ts';

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  'group-commit': benchGroupCommit,
  p1: benchP1,
  'p1-cards': benchP1Cards,
  'slow-disk': benchSlowDisk,
  p2: benchP2,
  p3: benchP3,
  p6: benchP6,
  p4: benchP4,
  p5: benchP5,
  'invoice-batch': benchInvoiceBatch,
  regate: benchRegate,
  'regate-cluster': benchRegateCluster,
  'hostile-memory': benchHostileMemory,
  'journal-search': benchJournalSearch,
  'shell-loop': benchShellLoop,
  seeds: benchSeeds,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

console.log(`node ${process.version}, ${availableParallelism()} × ${cpus()[0]?.model ?? 'cpu'}, ${process.platform}`);
const results: BenchResult[] = [];
for (const id of wanted.length ? wanted : Object.keys(BENCHES)) {
  const r = await BENCHES[id]!();
  console.log(`\n== ${r.title}`);
  printTable(r.rows);
  for (const n of r.notes) console.log(`  note: ${n}`);
  results.push(r);
}
console.log('\n== Summary');
for (const r of results) console.log(`  ${r.id.padEnd(13)} ${r.summary}`);
