/**
 * The real core with the PayKeeper connector, as a child process the invoice crash test can SIGKILL:
 *   node test/crash/invoices-child.ts <dataDir> <fakeUrl> <user> <password> [leaseMs]
 * prints one JSON line {url, token} once the listener answers. `leaseMs` as in cards-child.ts.
 */
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';

const [dataDir, fakeUrl, user, password, leaseArg] = process.argv.slice(2);
if (!dataDir || !fakeUrl || !user || !password) {
  process.stderr.write('usage: node test/crash/invoices-child.ts <dataDir> <fakeUrl> <user> <password> [leaseMs]\n');
  process.exit(2);
}
const { config } = parseConfig(
  {
    listener: { port: 0 },
    ui: { port: 0 },
    paykeeper: { enabled: true, baseUrl: fakeUrl, user, password, concurrency: 4 },
    http: { timeoutSeconds: 5, connectTimeoutSeconds: 2 },
  },
  {},
);
const core = await createCore({ config, dataDir, modules: [paykeeperModule], quiet: true, outbox: { leaseMs: Number(leaseArg ?? 3000) } });
const running = await core.start();
process.stdout.write(`${JSON.stringify({ url: running.listenerUrl, token: running.listenerToken })}\n`);
process.on('SIGTERM', () => void core.stop(2000).then(() => process.exit(0)));
