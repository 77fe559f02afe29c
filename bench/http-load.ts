import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fmt } from './common.ts';

/** P1-style HTTP load: the load generator process, the in-memory echo baseline, a result row. */
export const P1_CONNECTIONS = 10;
export const P1_SECONDS = 5;
export const P1_WARMUP = 1;

export interface Load {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  latenciesMs: [number, number, number];
}

/** bench/load.ts in its own process (it must not share the event loop with the server under test). */
export function load(opts: { url: string; method: 'PUT' | 'POST'; path: string; token?: string; body: string; connections?: number; seconds?: number }): Promise<Load> {
  const args = { connections: P1_CONNECTIONS, seconds: P1_SECONDS, warmupSeconds: P1_WARMUP, ...opts };
  const child = spawn(process.execPath, [new URL('./load.ts', import.meta.url).pathname, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load generator exited with ${code}`)))),
  );
}

/** The baseline: parse the JSON body, answer it back; nothing durable. */
export async function echoServer(): Promise<Server> {
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

export const row = (name: string, l: Load, base: Load) => ({
  server: name,
  'req/s': fmt(l.requests / l.seconds),
  ratio: fmt(l.requests / base.requests, 2),
  'p50 ms': fmt(l.latenciesMs[0], 2),
  'p99 ms': fmt(l.latenciesMs[1], 2),
  'max ms': fmt(l.latenciesMs[2], 1),
  statuses: Object.entries(l.statuses).map(([s, n]) => `${s}×${n}`).join(' '),
  errors: l.errors,
});
