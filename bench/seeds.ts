import { generateDocpartData } from '../main/sandbox/docpart/seed.ts';
import { generateCompany } from '../main/sandbox/onec/seed.ts';
import { fmt, type BenchResult } from './common.ts';

/**
 * The sandbox's seed generators, which tests, the sandbox and the other benchmarks build their data
 * with: the Docpart shop (20,000 orders / ~60,000 lines, what P4 pulls) and the 1C company (3,000
 * items, the fake 1C's default). These figures replace the timed assertions the tests once made
 * (≤ 1.5 s and ≤ 3 s): each is the median of three runs after a warm-up, against a baseline measured
 * in the same run — a structuredClone of what the generator made (copying the data), so the ratio is
 * what generating costs over merely having the objects, whatever the machine's speed.
 */
const NOW = Date.UTC(2024, 2, 15, 9, 0, 0);
const RUNS = 3;

function medianMs(fn: () => unknown): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

export async function benchSeeds(): Promise<BenchResult> {
  const docpart = () => generateDocpartData({ orders: 20_000, seed: 1, now: NOW });
  const company = () => generateCompany({ seed: 1 });
  const d = docpart();
  const c = company();
  const dMs = medianMs(docpart);
  const dCloneMs = medianMs(() => structuredClone(d));
  const cMs = medianMs(company);
  const cCloneMs = medianMs(() => structuredClone(c));
  const dMet = dMs <= 1500;
  const cMet = cMs <= 3000;
  return {
    id: 'seeds',
    title: `Sandbox seed generators: Docpart ${fmt(d.orders.length)} orders / ${fmt(d.items.length)} lines, 1C ${fmt(c.items.length)} items (median of ${RUNS})`,
    rows: [
      { variant: 'structuredClone of the Docpart data (baseline)', ms: fmt(dCloneMs, 1) },
      { variant: 'generateDocpartData({ orders: 20,000 })', ms: fmt(dMs, 1), ratio: fmt(dMs / dCloneMs, 1) + '×', target: '≤ 1,500 ms' },
      { variant: 'structuredClone of the 1C company (baseline)', ms: fmt(cCloneMs, 1) },
      { variant: 'generateCompany() (3,000 items)', ms: fmt(cMs, 1), ratio: fmt(cMs / cCloneMs, 1) + '×', target: '≤ 3,000 ms' },
    ],
    notes: ['The targets are the bounds the tests asserted before speed moved here (test/integration/fake-docpart.test.ts, fake-onec.test.ts).'],
    summary: `Docpart 20,000 orders ${fmt(dMs)} ms (${fmt(dMs / dCloneMs, 1)}× a clone; ≤ 1,500 ${dMet ? 'MET' : 'MISSED'}), 1C 3,000 items ${fmt(cMs)} ms (${fmt(cMs / cCloneMs, 1)}× a clone; ≤ 3,000 ${cMet ? 'MET' : 'MISSED'})`,
  };
}
