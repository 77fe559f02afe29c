/**
 * HTTP load generator, run as its own process so it does not share the event loop (or the core
 * it lands on) with the server under test:
 *   node bench/load.ts '{"url","method","path","token?","connections","seconds","warmupSeconds","body"}'
 * `path` may contain {i}, replaced by a unique number per request. Prints one JSON line:
 * {requests, seconds, statuses, errors, latenciesMs: [p50, p99, max]}.
 */
import { Pool } from 'undici';
import { quantile } from './common.ts';

const o = JSON.parse(process.argv[2]!) as {
  url: string; method: 'PUT' | 'POST'; path: string; token?: string;
  connections: number; seconds: number; warmupSeconds: number; body: string;
};
const pool = new Pool(o.url, { connections: o.connections, pipelining: 1 });
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (o.token) headers.authorization = `Bearer ${o.token}`;

const start = performance.now();
const measureFrom = start + o.warmupSeconds * 1000;
const end = measureFrom + o.seconds * 1000;
const latencies: number[] = [];
const statuses: Record<number, number> = {};
let errors = 0;
let i = 0;

async function connection(): Promise<void> {
  for (let t = performance.now(); t < end; t = performance.now()) {
    try {
      const res = await pool.request({ method: o.method, path: o.path.replace('{i}', String(i++)), headers, body: o.body });
      await res.body.dump();
      const done = performance.now();
      if (t >= measureFrom && done <= end) {
        latencies.push(done - t);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: o.connections }, connection));
await pool.close();
latencies.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ requests: latencies.length, seconds: o.seconds, statuses, errors, latenciesMs: [quantile(latencies, 0.5), quantile(latencies, 0.99), latencies.at(-1) ?? NaN] })}\n`);
