/**
 * The real core with one connector, as a child process a crash test can SIGKILL:
 *   node test/crash/core-child.ts <dataDir> <passteam|paykeeper> <config JSON> [leaseMs]
 * prints one JSON line {url, token} once the listener answers. SIGTERM stops it cleanly.
 *
 * `leaseMs` (test knob, default 3000): a short outbox lease, so work the killed process held comes
 * back within seconds of a restart instead of 30 s; nothing else changes (lease expiry itself is
 * covered by kill9.test.ts).
 */
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';

const MODULES = { passteam: passteamModule, paykeeper: paykeeperModule };
const [dataDir, name, configJson, leaseArg] = process.argv.slice(2);
const module = MODULES[name as keyof typeof MODULES];
if (!dataDir || !module || !configJson) {
  process.stderr.write('usage: node test/crash/core-child.ts <dataDir> <passteam|paykeeper> <config JSON> [leaseMs]\n');
  process.exit(2);
}
const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 }, http: { timeoutSeconds: 5, connectTimeoutSeconds: 2 }, ...JSON.parse(configJson) }, {});
const core = await createCore({ config, dataDir, modules: [module], quiet: true, outbox: { leaseMs: Number(leaseArg ?? 3000) } });
const running = await core.start();
process.stdout.write(`${JSON.stringify({ url: running.listenerUrl, token: running.listenerToken })}\n`);
process.on('SIGTERM', () => void core.stop(2000).then(() => process.exit(0)));
