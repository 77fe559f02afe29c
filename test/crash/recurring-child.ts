/**
 * A process with one recurring job, for a crash test to SIGKILL:
 *   node test/crash/recurring-child.ts <dataDir> <mid-run|between>
 * `mid-run`: its run never ends; prints {"running": true} once it has started (the job is leased).
 * `between`: its run ends at once; prints {"planned": true} once that completion (and the next run
 * it plans, an hour on) is committed. Then it waits to be killed.
 */
import { Recurring } from '../../main/core/recurring.ts';
import { openStore } from '../../main/store/index.ts';
import { WorkerPool } from '../../main/store/worker-pool.ts';

const [dataDir, mode] = process.argv.slice(2);
if (!dataDir || (mode !== 'mid-run' && mode !== 'between')) {
  process.stderr.write('usage: node test/crash/recurring-child.ts <dataDir> <mid-run|between>\n');
  process.exit(2);
}
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const store = openStore(dataDir, { leaseMs: 60_000 });
const recurring = new Recurring(store);
const pool = new WorkerPool(store.outbox);
recurring.add({
  connector: 'docpart',
  key: 'crash:pull',
  every: 3_600_000,
  run: mode === 'mid-run' ? () => (say({ running: true }), new Promise<never>(() => {})) : async () => 'ok',
});
for (const lane of recurring.lanes([])) pool.register(lane);
if (mode === 'between') pool.once('settled', () => say({ planned: true }));
await recurring.start();
pool.start();
setInterval(() => {}, 60_000);
