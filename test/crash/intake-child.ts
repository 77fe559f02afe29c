/**
 * The real core with the probe domain, for kill9.test.ts to SIGKILL:
 *   node test/crash/intake-child.ts <dataDir>
 * It loads its modules (most of a start's time) and then waits for a line `open` on stdin before it
 * touches the data dir, so the next run's process loads while the current one is still under load.
 * Once listening it prints {url, token}.
 *
 * A line `hold` on stdin then holds the answer of every PUT whose intake is on disk: the request is
 * never answered, and the child prints {"held": id} for it (its job's id; null for a key already
 * stored). A kill after that line surely cuts off a request that was stored and not acknowledged.
 */
import { flushCompileCache } from 'node:module';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { prop } from '../../main/unknown.ts';
import { probeModule } from '../fixtures/probe-domain.ts';

flushCompileCache(); // loaded: the next child starts from the compile cache (child.ts childEnv)

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: node test/crash/intake-child.ts <dataDir>\n');
  process.exit(2);
}
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

let holding = false;
const opened = Promise.withResolvers<void>();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'open') opened.resolve();
  if (line === 'hold') holding = true;
});

// The probe route writes through ctx.store.commit.run and answers when it resolves (on disk): held there.
const probe: ModuleFactory = (ctx) => {
  const { commit } = ctx.store;
  const held: typeof commit = {
    get batches() {
      return commit.batches;
    },
    async run(fn) {
      const result = await commit.run(fn);
      if (!holding) return result;
      const id = prop(result, 'id');
      say({ held: typeof id === 'number' ? id : null });
      return new Promise<never>(() => {});
    },
  };
  return probeModule({ ...ctx, store: { ...ctx.store, commit: held } });
};

await opened.promise;
const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 } }, {});
const core = await createCore({ config, dataDir, modules: [probe], quiet: true });
const running = await core.start();
say({ url: running.listenerUrl, token: running.listenerToken });
process.on('SIGTERM', () => void core.stop(1000).then(() => process.exit(0)));
