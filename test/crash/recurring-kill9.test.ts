import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recurring } from '../../main/core/recurring.ts';
import { openStore } from '../../main/store/index.ts';
import { WorkerPool, type Settled } from '../../main/store/worker-pool.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A recurring job survives a SIGKILL: killed mid-run or between runs, the restarted process finds
 * exactly one pending run of the key (no second one planned beside it), and a run the kill cut
 * short runs again once its lease has expired — once.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CHILD = resolve(ROOT, 'test/crash/recurring-child.ts');
const KEY = 'crash:pull';

/** Runs the child until its first line, then SIGKILLs it. */
async function killAfterLine(dataDir: string, mode: 'mid-run' | 'between'): Promise<Record<string, unknown>> {
  const proc = spawn(process.execPath, [CHILD, dataDir, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(proc, 'exit');
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok);
    proc.once('exit', (code, signal) => fail(new Error(`child exited early (${code ?? signal}):\n${stderr}`)));
  });
  proc.kill('SIGKILL');
  await exited;
  return JSON.parse(line) as Record<string, unknown>;
}

/** The restarted process, its clock two minutes on (past the killed one's 60 s lease). */
async function restart(dataDir: string) {
  const clock = { t: Date.now() + 120_000 };
  const store = openStore(dataDir, { now: () => clock.t, leaseMs: 600 });
  const recurring = new Recurring(store);
  const pool = new WorkerPool(store.outbox);
  let runs = 0;
  recurring.add({ connector: 'docpart', key: KEY, every: 3_600_000, run: async () => `run ${++runs}` });
  for (const lane of recurring.lanes([])) pool.register(lane);
  const pending = () => store.sql.all<{ id: number; state: string; next_run_at: number }>(`SELECT id, state, next_run_at FROM jobs WHERE key = ? AND state IN ('queued', 'running') ORDER BY id`, KEY);
  await recurring.start();
  return { clock, store, pool, pending, runs: () => runs };
}

describe('a recurring job and SIGKILL', () => {
  it('killed mid-run: after the restart exactly one pending run, which runs once when its lease has expired', { timeout: 30_000 }, async () => {
    const dataDir = tempDir('sputnik-recurring-');
    expect(await killAfterLine(dataDir, 'mid-run')).toEqual({ running: true });
    const r = await restart(dataDir);
    try {
      // The killed process's run is still leased: start planned no second run beside it.
      const [held] = r.pending();
      expect(r.pending()).toEqual([{ id: held.id, state: 'running', next_run_at: expect.any(Number) }]);
      const settled = once(r.pool, 'settled') as Promise<[Settled]>;
      r.pool.start(); // recovers the expired lease
      expect((await settled)[0]).toMatchObject({ outcome: 'done', job: { id: held.id } });
      expect(r.runs()).toBe(1);
      expect(r.pending()).toEqual([{ id: expect.any(Number), state: 'queued', next_run_at: r.clock.t + 3_600_000 }]);
    } finally {
      await r.pool.stop(100);
      r.store.close();
    }
  });

  it('killed between runs: after the restart exactly the one run planned before the kill', { timeout: 30_000 }, async () => {
    const dataDir = tempDir('sputnik-recurring-');
    const before = Date.now();
    expect(await killAfterLine(dataDir, 'between')).toEqual({ planned: true });
    const r = await restart(dataDir);
    try {
      const planned = r.pending();
      expect(planned).toEqual([{ id: expect.any(Number), state: 'queued', next_run_at: expect.any(Number) }]);
      // An hour after the killed process's run ended: not moved to now by the restart.
      expect(planned[0].next_run_at).toBeGreaterThanOrEqual(before + 3_600_000);
      r.pool.start();
      expect(r.pending()).toEqual(planned);
      expect(r.runs()).toBe(0);
    } finally {
      await r.pool.stop(100);
      r.store.close();
    }
  });
});
