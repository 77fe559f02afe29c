import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../main/config/load.ts';
import { createCore } from '../main/core/index.ts';
import { probeModule } from '../test/fixtures/probe-domain.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * P1 durable ack: PUT → 202 only after the commit, at 10 keep-alive connections, against a
 * node:http JSON echo in this same process (baseline). The load comes from a separate process.
 * P1 is specified on PUT /v1/cards/{code}?wait=0, which does not exist yet; the probe route
 * /v1/_probe/items/:key goes through the same listener and intake path (group commit + outbox).
 */
const CONNECTIONS = 10;
const SECONDS = 5;
const WARMUP = 1;
// ~340 bytes of JSON, the size the architecture's prototype measured.
const BODY = JSON.stringify({ value: `Иванов Иван Иванович, карта 2000000012345, бонусы 1250.50; ${'x'.repeat(240)}` });

interface Load {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  latenciesMs: [number, number, number];
}

function load(opts: { url: string; method: 'PUT' | 'POST'; path: string; token?: string }): Promise<Load> {
  const args = { ...opts, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP, body: BODY };
  const child = spawn(process.execPath, [new URL('./load.ts', import.meta.url).pathname, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited with ${code}`)))),
  );
}

/** The baseline: parse the JSON body, answer it back; nothing durable. */
async function echoServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ echo: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const row = (name: string, l: Load, base: Load) => ({
  server: name,
  'req/s': fmt(l.requests / l.seconds),
  ratio: fmt(l.requests / base.requests, 2),
  'p50 ms': fmt(l.latenciesMs[0], 2),
  'p99 ms': fmt(l.latenciesMs[1], 2),
  'max ms': fmt(l.latenciesMs[2], 1),
  statuses: Object.entries(l.statuses).map(([s, n]) => `${s}×${n}`).join(' '),
  errors: l.errors,
});

function intake(journal: boolean): Promise<Load & { commits: number }> {
  return withTempDir(async (dataDir) => {
    const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 } }, {});
    const core = await createCore({ config, dataDir, modules: [probeModule], quiet: true });
    if (!journal) Object.assign(core.journal, { record: async () => null });
    const running = await core.start();
    try {
      const l = await load({ url: running.listenerUrl, method: 'PUT', path: '/v1/_probe/items/k{i}', token: running.listenerToken });
      return { ...l, commits: core.store.commit.batches };
    } finally {
      await core.stop(1000);
    }
  });
}

export async function benchP1(): Promise<BenchResult> {
  const echo = await echoServer();
  const base = await load({ url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`, method: 'POST', path: '/echo' });
  await new Promise((r) => echo.close(r));

  const probe = await intake(true);
  // Diagnostic, not P1: the same with the listener's per-request journal row stubbed out, to show
  // what the journal costs on the intake path (the architecture's prototype had no journal).
  const bare = await intake(false);

  const ratio = probe.requests / base.requests;
  const p99 = probe.latenciesMs[1];
  return {
    id: 'p1',
    title: `P1 durable ack: ${CONNECTIONS} keep-alive connections, ${SECONDS} s (+${WARMUP} s warm-up), ${Buffer.byteLength(BODY)}-byte JSON`,
    rows: [
      row('node:http JSON echo (baseline)', base, base),
      row('PUT /v1/_probe/items/:key → 202', probe, base),
      row('  same, journal stubbed (diagnostic)', bare, base),
    ],
    notes: [
      'P1 is specified on PUT /v1/cards/{code}?wait=0, which does not exist yet; the probe route uses the same listener, group commit and outbox enqueue.',
      `Group commits (incl. warm-up): ${fmt(probe.commits)} with journal, ${fmt(bare.commits)} without.`,
    ],
    summary: `P1 ratio ${fmt(ratio, 2)} (target ≥ 0.33) ${ratio >= 1 / 3 ? 'MET' : 'MISSED'}; p99 ${fmt(p99, 2)} ms (target ≤ 5) ${p99 <= 5 ? 'MET' : 'MISSED'}`,
  };
}
