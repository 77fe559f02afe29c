/**
 * HTTP load generator, run as its own process so it does not share the event loop (or the core
 * it lands on) with the server under test:
 *   node bench/load.ts '{"url","method","path","token?","connections","seconds","warmupSeconds","body"}'
 * `path` may contain {i}, replaced by a unique number per request. Prints one JSON line:
 * {requests, seconds, statuses, errors, latenciesMs: [p50, p99, max], total}: `requests` and
 * `statuses` count answers that arrived inside the measured window; latencies are of requests sent inside it.
 *
 * Optional (bench/regate.ts): `authorization` (the whole header, instead of `token`), `insecure`
 * (TLS without certificate checks, for a self-signed server), and `requests`: templates
 * `{method, path, body?, headers?}` used in turn (request i takes template i mod n) instead of
 * method/path/body. In a template's path, headers and body `{i}` is the request number and
 * `{b64:…}` is replaced by the base64url of what it encloses (after {i}). `total` counts every
 * answer, warm-up and overrun included: `{statuses, errors, errorCodes}`; `cpuMs` is this process's CPU time;
 * `window` the measured window as epoch ms (to line other processes' counters up with it).
 */
import { Pool } from 'undici';
import { quantile } from './common.ts';

type Method = 'GET' | 'PUT' | 'POST' | 'PATCH';
interface Template { method: Method; path: string; body?: string; headers?: Record<string, string> }
const o = JSON.parse(process.argv[2]!) as {
  url: string; method: Method; path: string; token?: string;
  connections: number; seconds: number; warmupSeconds: number; body?: string;
  authorization?: string; insecure?: boolean; requests?: Template[];
};
const pool = new Pool(o.url, { connections: o.connections, pipelining: 1, ...(o.insecure ? { connect: { rejectUnauthorized: false } } : {}) });
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (o.token) headers.authorization = `Bearer ${o.token}`;
if (o.authorization) headers.authorization = o.authorization;
const templates: Template[] = o.requests ?? [{ method: o.method, path: o.path, body: o.body }];

const fill = (s: string, i: number) => {
  const t = s.replaceAll('{i}', String(i));
  return t.includes('{b64:') ? t.replace(/\{b64:([^}]*)\}/g, (_, x: string) => Buffer.from(x, 'utf8').toString('base64url')) : t;
};
function requestFor(i: number) {
  const t = templates[i % templates.length];
  if (!o.requests) return { method: t.method, path: t.path.replace('{i}', String(i)), headers, body: t.body };
  const h = { ...headers };
  if (t.body === undefined) delete h['content-type'];
  for (const [k, v] of Object.entries(t.headers ?? {})) h[k] = fill(v, i);
  return { method: t.method, path: fill(t.path, i), headers: h, body: t.body === undefined ? undefined : fill(t.body, i) };
}

const start = performance.now();
const measureFrom = start + o.warmupSeconds * 1000;
const end = measureFrom + o.seconds * 1000;
const latencies: number[] = [];
const statuses: Record<number, number> = {};
const total = { statuses: {} as Record<number, number>, errors: 0, errorCodes: {} as Record<string, number> };
let errors = 0;
let i = 0;

async function connection(): Promise<void> {
  for (let t = performance.now(); t < end; t = performance.now()) {
    try {
      const res = await pool.request(requestFor(i++));
      await res.body.dump();
      const done = performance.now();
      total.statuses[res.statusCode] = (total.statuses[res.statusCode] ?? 0) + 1;
      // Throughput: answers completed inside the window, whenever they were sent (with hundreds
      // of callers queued for a second or more, counting only requests both sent and answered
      // inside the window would miss a second's worth at each edge). Latency: requests sent inside it.
      if (done >= measureFrom && done <= end) statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (t >= measureFrom) latencies.push(done - t);
    } catch (e) {
      errors++;
      total.errors++;
      const code = (e as { code?: string }).code ?? (e as Error).name;
      total.errorCodes[code] = (total.errorCodes[code] ?? 0) + 1;
    }
  }
}

await Promise.all(Array.from({ length: o.connections }, connection));
await pool.close();
latencies.sort((a, b) => a - b);
const answered = Object.values(statuses).reduce((a, n) => a + n, 0);
process.stdout.write(`${JSON.stringify({ requests: answered, seconds: o.seconds, statuses, errors, latenciesMs: [quantile(latencies, 0.5), quantile(latencies, 0.99), latencies.at(-1) ?? NaN], total, cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000, window: [performance.timeOrigin + measureFrom, performance.timeOrigin + end] })}\n`);
