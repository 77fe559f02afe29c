/**
 * The real core with one connector, as a child process a crash test can SIGKILL:
 *   node test/crash/core-child.ts <dataDir> <passteam|paykeeper|regate> <config JSON> [leaseMs]
 * prints one JSON line {url, token} once the listener answers (with 'regate' also `gatewayUrl`, once
 * the ReGate HTTPS listener answers). SIGTERM stops it cleanly.
 *
 * `leaseMs` (test knob, default 3000): a short outbox lease, so work the killed process held comes
 * back within seconds of a restart instead of 30 s; nothing else changes (lease expiry itself is
 * covered by kill9.test.ts).
 */
import { flushCompileCache } from 'node:module';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import type { Logger } from '../../main/log/logger.ts';
import { regateModule } from '../../main/regate/index.ts';

flushCompileCache(); // loaded: the next child starts from the compile cache (child.ts childEnv)

// ReGate's module only logs where it listens (the core runs quiet): its logger is wrapped to catch that line.
let gateway: { resolve: (url: string) => void; reject: (e: Error) => void } | undefined;
const gatewayUrl = new Promise<string>((resolve, reject) => (gateway = { resolve, reject }));
const regate: ModuleFactory = (ctx) =>
  regateModule({
    ...ctx,
    log: Object.assign(Object.create(ctx.log) as Logger, {
      info: (obj: { url?: string }, msg?: string) => void (msg === 'regate listening' && obj.url && gateway!.resolve(obj.url)),
      error: (obj: { err?: string }, msg?: string) => void gateway!.reject(new Error(`${msg}: ${obj.err}`)),
    }),
  });

// A line `hold` on stdin (CoreChild.holdAnswers): from then on the module's routes send no successful
// answer to a write. onSend runs once the handler has returned, so its intake is on disk: the child
// prints {"held": "<method> <url>"} and the answer never goes out.
let holding = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'hold') holding = true;
});
const holdable =
  (factory: ModuleFactory): ModuleFactory =>
  (ctx) => {
    const m = factory(ctx);
    const routes = m.routes;
    if (!routes) return m;
    return {
      ...m,
      routes: async (app) => {
        app.addHook('onSend', async (req, reply, payload) => {
          if (!holding || req.method === 'GET' || reply.statusCode >= 300) return payload;
          process.stdout.write(`${JSON.stringify({ held: `${req.method} ${req.url}` })}\n`);
          return new Promise<never>(() => {});
        });
        await routes(app);
      },
    };
  };

const MODULES = { passteam: holdable(passteamModule), paykeeper: holdable(paykeeperModule), regate };
const [dataDir, name, configJson, leaseArg] = process.argv.slice(2);
const module = MODULES[name as keyof typeof MODULES];
if (!dataDir || !module || !configJson) {
  process.stderr.write('usage: node test/crash/core-child.ts <dataDir> <passteam|paykeeper|regate> <config JSON> [leaseMs]\n');
  process.exit(2);
}
const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 }, http: { timeoutSeconds: 5, connectTimeoutSeconds: 2 }, ...JSON.parse(configJson) }, {});
const core = await createCore({ config, dataDir, modules: [module], quiet: true, outbox: { leaseMs: Number(leaseArg ?? 3000) } });
const running = await core.start();
const ready = { url: running.listenerUrl, token: running.listenerToken, ...(name === 'regate' ? { gatewayUrl: await gatewayUrl } : {}) };
process.stdout.write(`${JSON.stringify(ready)}\n`);
process.on('SIGTERM', () => void core.stop(2000).then(() => process.exit(0)));
