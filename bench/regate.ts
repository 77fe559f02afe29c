import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { basename, join } from 'node:path';
import { Agent, request } from 'undici';
import { parseConfig } from '../main/config/load.ts';
import { Journal } from '../main/journal/index.ts';
import { createRegate, type RegateRuntime } from '../main/regate/index.ts';
import { startFake1C, type Fake1C, type Fake1CStats } from '../main/sandbox/onec/fake.ts';
import { openStore, type Store } from '../main/store/index.ts';
import { startCheckpointer } from '../main/store/checkpointer.ts';
import { DB_FILE } from '../main/store/db.ts';
import { WorkerPool } from '../main/store/worker-pool.ts';
import { regateConfig } from '../test/helpers/regate-cluster.ts';
import { selfSigned } from '../test/helpers/tls.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * ReGate (specs/regate.md), two figures:
 *
 * 1. Uncached: 500 concurrent Richest.store callers (the load generator's process, TLS), half
 *    assortment reads that all miss the cache (every request has its own cursor, half of them a
 *    groupId too), half `PUT /clients/{id}` with a unique Idempotency-Key each, for 8 s after 2 s
 *    of warm-up, against the fake 1C (its own process) with poolSize 10 and every handler 30 ms.
 *    The gateway keeps one session free, so its ceiling is (10 − 1) / 30 ms = 300 calls/s; the
 *    fake's own capacity is 10 / 30 ms = 333 calls/s. Target: ≥ 90 % of the ceiling the gateway
 *    may use (300/s), 0 errors (4xx/5xx/transport; a 202 queued write is not an error), and the
 *    fake's maxConcurrent ≤ 9. Side by side: the same load straight to the fake (plain HTTP,
 *    Basic of the technical user).
 * 2. Cached: one assortment page warmed, then 50 keep-alive TLS connections GET it for 5 s.
 *    Target ≥ 10,000 req/s. Rows: a bare node:https server answering the same bytes (this
 *    machine's ceiling for TLS + HTTP), the gateway as Sputnik wires it (journal on), and the
 *    gateway without a journal (diagnostic).
 *
 * REGATE_CPU_PROF=1 adds a profiled run of (2) (inspector, this process = the gateway) and prints
 * the top self-time functions as notes; its figures are not used.
 */
export const POOL = 10;
export const LATENCY_MS = 30;
const CALLERS = 500;
const SECONDS = 8;
export const WARMUP = 2;
export const CACHED_CONNECTIONS = 50;
export const CACHED_SECONDS = 5;
const CACHED_TARGET = 10_000;
/** Issue 20: cached pages through one gateway at ≥ 0.85 of a bare node:https server sending the same bytes. */
const CACHED_OF_BARE = 0.85;
/** Cached-page rounds (bare / ReGate / ReGate without journal each once a round) and each one's window. */
const CACHED_ROUNDS = 3;
const ROUND_SECONDS = 3;
/** Cached pages: a small one (the summary's figure) and the integration test's 50 items. */
const PAGE_LIMITS = [5, 50];
const AUTH = `Basic ${Buffer.from('richest:sandbox').toString('base64')}`;

/** What the fake's child process reports of itself: its addresses and credentials, and the company's stores and groups. */
type FakeInfo = Pick<Fake1C, 'url' | 'baseUrl' | 'basePath' | 'user' | 'password' | 'authorization'> & { stores: string[]; groups: string[] };

// ---- the fake 1C in a child process: `node bench/regate.ts --fake-child` ----
if (process.argv[1] === import.meta.filename && process.argv[2] === '--fake-child') {
  const fake = await startFake1C({ latencyScale: 0, fixedLatencyMs: LATENCY_MS, poolSize: POOL });
  const c = fake.company();
  process.on('message', (m: { id: number; cmd: string }) => {
    let result: unknown = null;
    if (m.cmd === 'stats') result = fake.stats();
    if (m.cmd === 'reset') fake.resetStats();
    if (m.cmd === 'cpu') result = (process.cpuUsage().user + process.cpuUsage().system) / 1000;
    if (m.cmd === 'stop') void fake.stop().then(() => process.exit(0));
    process.send!({ id: m.id, result });
  });
  const info: FakeInfo = {
    url: fake.url,
    baseUrl: fake.baseUrl,
    basePath: fake.basePath,
    user: fake.user,
    password: fake.password,
    authorization: fake.authorization,
    stores: c.stores.map((s) => s.id),
    groups: [...new Set(c.items.map((i) => i.groupId))],
  };
  process.send!({ id: 0, result: info });
}

export class FakeChild {
  readonly #proc: ChildProcess;
  #next = 1;
  readonly #waiting = new Map<number, (r: unknown) => void>();
  readonly ready: Promise<FakeInfo>;

  constructor() {
    this.#proc = fork(import.meta.filename, ['--fake-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.ready = new Promise((resolve) => this.#waiting.set(0, resolve as (r: unknown) => void));
    this.#proc.on('message', (m: { id: number; result: unknown }) => {
      this.#waiting.get(m.id)?.(m.result);
      this.#waiting.delete(m.id);
    });
  }

  call<T>(cmd: string): Promise<T> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve as (r: unknown) => void);
      this.#proc.send({ id, cmd });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.#proc.once('exit', r));
    this.#proc.send({ id: this.#next++, cmd: 'stop' });
    await exited;
  }
}

// ---- the load generator (bench/load.ts) in its own process ----
export interface Template { method: 'GET' | 'PUT' | 'POST'; path: string; body?: string; headers?: Record<string, string> }
export interface LoadOut {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  latenciesMs: [number, number, number];
  total: { statuses: Record<string, number>; errors: number; errorCodes: Record<string, number> };
  cpuMs: number;
  /** The measured window, epoch ms. */
  window: [number, number];
}

export function loadGen(opts: { url: string; authorization: string; insecure?: boolean; requests: Template[]; connections: number; seconds: number; warmupSeconds: number }): Promise<LoadOut> {
  const child = spawn(process.execPath, [new URL('./load.ts', import.meta.url).pathname, JSON.stringify({ method: 'GET', path: '/', ...opts })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadOut) : reject(new Error(`load generator exited with ${code}`)))),
  );
}

/** Reads and writes in turn; `prefix` is /regate/v1 (gateway) or the fake's base path (direct). */
export function mixedLoad(info: FakeInfo, prefix: string, direct: boolean): Template[] {
  const out: Template[] = [];
  for (let k = 0; k < 8; k++) {
    const store = info.stores[k % info.stores.length];
    const group = k % 2 ? `&groupId=${info.groups[(k * 7) % info.groups.length]}` : '';
    // {i} is unique per request: every cursor (so every cache key) is new, so every read misses.
    out.push({ method: 'GET', path: `${prefix}/stores/${store}/assortment?limit=20${group}&cursor={b64:${store}:{i}}` });
    out.push({
      method: 'PUT',
      path: `${prefix}/clients/bench-{i}`,
      headers: { [direct ? 'x-regate-request-id' : 'idempotency-key']: `bench-key-{i}` },
      body: JSON.stringify({ name: 'Клиент {i}', phone: '+7999{i}' }),
    });
  }
  return out;
}

const isError = (status: string) => Number(status) >= 400;
const count = (s: Record<string, number>, ok: (status: string) => boolean) => Object.entries(s).filter(([k]) => ok(k)).reduce((a, [, n]) => a + n, 0);
export const statusText = (s: Record<string, number>) => Object.entries(s).map(([k, n]) => `${k}×${n}`).join(' ');
/** Transport errors and 4xx/5xx answers over the whole run (202 = a queued write, not an error). */
export const errorsOf = (l: LoadOut) => l.total.errors + count(l.total.statuses, isError);

/** The gateway in this process as the regate module wires it: store, journal (optional), worker pool. */
export async function startGateway(dir: string, tls: { keyFile: string; certFile: string }, fake: FakeInfo, withJournal: boolean) {
  const { config } = parseConfig({ regate: regateConfig({ tls, baseUrl: fake.baseUrl, password: 'sandbox', onecUser: fake.user, onecPassword: fake.password, poolSize: POOL }) }, {});
  const store: Store = openStore(dir, { leaseMs: 3000 });
  const checkpointer = startCheckpointer(join(dir, DB_FILE)); // as core.start() does: WAL checkpoints off the event loop
  const journal = withJournal ? new Journal(store, { ...config.journal, secrets: () => ['sandbox', fake.password] }) : undefined;
  const regate: RegateRuntime = createRegate({ config: () => config.regate, store, journal });
  const pool = new WorkerPool(store.outbox);
  pool.register(regate.workers);
  pool.start();
  const { url } = await regate.listen();
  return {
    url,
    regate,
    journal,
    store,
    async stop() {
      await regate.stop();
      await pool.stop(1000);
      journal?.flush();
      await checkpointer.stop();
      store.close();
    },
  };
}

/** A run with the CPU each process used, in % of one core over its wall time: gateway (this process) / fake 1C / load generator. */
async function measured(fake: FakeChild, fn: () => Promise<LoadOut>): Promise<{ r: LoadOut; cpu: string }> {
  const c0 = process.cpuUsage();
  const f0 = await fake.call<number>('cpu');
  const t0 = performance.now();
  const r = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const f = (await fake.call<number>('cpu')) - f0;
  const pc = (ms: number) => fmt((ms / wall) * 100);
  return { r, cpu: `${pc((c.user + c.system) / 1000)}/${pc(f)}/${pc(r.cpuMs)} %` };
}

/** With REGATE_CPU_PROF set: `fn` under the inspector's sampling profiler (this process = the gateway). */
async function profiled(fn: () => Promise<unknown>): Promise<string[]> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  await fn();
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  return topCosts(profile as Parameters<typeof topCosts>[0]);
}

/** Top self-time functions of a CPU profile, and the share per source (file or package). */
function topCosts(profile: { nodes: Array<{ id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }> }): string[] {
  const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const byFn = new Map<string, number>();
  const bySrc = new Map<string, number>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url ? basename(url) : '';
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + (n.hitCount ?? 0));
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const src = m ? m[1] : url.startsWith('node:') ? url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/') : url.includes('/main/') ? `sputnik ${url.split('/main/')[1]}` : functionName || '(native)';
    bySrc.set(src, (bySrc.get(src) ?? 0) + (n.hitCount ?? 0));
  }
  const pct = (n: number) => `${fmt((n / total) * 100, 1)} %`;
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, n]) => `${pct(n)} ${name}`);
  return [`profile, top self time: ${top(byFn, 14).join('; ')}`, `profile by source: ${top(bySrc, 12).join('; ')}`];
}

export async function benchRegate(): Promise<BenchResult> {
  const fake = new FakeChild();
  const info = await fake.ready;
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  const prof = Boolean(process.env.REGATE_CPU_PROF);
  try {
    return await withTempDir(async (dir) => {
      const tls = selfSigned(dir);
      const gw = await startGateway(join(dir, 'gw'), tls, info, true);
      const rows: BenchResult['rows'] = [];
      const notes: string[] = [];
      try {
        // ---- 1. uncached, 500 callers ----
        const uncached = () => loadGen({ url: gw.url, authorization: AUTH, insecure: true, requests: mixedLoad(info, '/regate/v1', false), connections: CALLERS, seconds: SECONDS, warmupSeconds: WARMUP });
        const pending = () => gw.store.sql.value<number>(`SELECT COUNT(*) FROM regate_requests WHERE state IN ('queued', 'running')`) ?? 0;
        const drained = async () => {
          // Writes queued (202) run later through the worker pool: let them finish before reading the fake's maximum.
          for (const end = Date.now() + 30_000; pending() > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
        };
        await fake.call('reset');
        const lag = monitorEventLoopDelay({ resolution: 10 });
        lag.enable();
        const via = await measured(fake, uncached);
        lag.disable();
        await drained();
        gw.journal!.flush();
        const seen = gw.store.sql.get<{ n: number; avg: number }>(`SELECT COUNT(*) AS n, AVG(duration_ms) AS avg FROM journal WHERE direction = 'out'`) ?? { n: 0, avg: 0 };
        const viaStats = await fake.call<Fake1CStats>('stats');
        await new Promise((r) => setTimeout(r, 500));
        await fake.call('reset');
        const direct = await measured(fake, () => loadGen({ url: info.url, authorization: info.authorization, requests: mixedLoad(info, info.basePath, true), connections: CALLERS, seconds: SECONDS, warmupSeconds: WARMUP }));
        const directStats = await fake.call<Fake1CStats>('stats');
        // Diagnostic: the fake alone at its pool size (10 callers, no queue anywhere): what 30 ms calls really give here.
        const ten = await measured(fake, () => loadGen({ url: info.url, authorization: info.authorization, requests: mixedLoad(info, info.basePath, true), connections: POOL, seconds: SECONDS / 2, warmupSeconds: 1 }));

        const ceiling = (POOL - 1) / (LATENCY_MS / 1000);
        const capacity = POOL / (LATENCY_MS / 1000);
        const answered = (l: LoadOut) => count(l.statuses, (s) => Number(s) < 300 && s !== '202') / l.seconds;
        const viaRate = answered(via.r);
        const viaErrors = errorsOf(via.r);
        const heldMs = viaStats.sessionMs / viaStats.sessionCalls;
        const ofFake = (POOL - 1) / (heldMs / 1000);
        const ofCeiling = (rate: number) => `${fmt((rate / ceiling) * 100)} %`;
        rows.push(
          { variant: `U capacity ${POOL - 1} sessions / ${LATENCY_MS} ms = gateway ceiling`, 'req/s': fmt(ceiling), 'of target': '100 %' },
          { variant: `U capacity ${POOL} sessions / ${LATENCY_MS} ms = the fake's`, 'req/s': fmt(capacity), 'of target': ofCeiling(capacity) },
          {
            variant: `U ${CALLERS} callers via ReGate`,
            'req/s': fmt(viaRate),
            'of target': ofCeiling(viaRate),
            'p50 ms': fmt(via.r.latenciesMs[0]),
            'p99 ms': fmt(via.r.latenciesMs[1]),
            errors: viaErrors,
            '202': via.r.total.statuses['202'] ?? 0,
            '1C max conc.': viaStats.maxConcurrent,
            'CPU gw/1C/load': via.cpu,
            statuses: statusText(via.r.statuses),
          },
          {
            variant: `U ${CALLERS} callers straight to the fake`,
            'req/s': fmt(answered(direct.r)),
            'of target': ofCeiling(answered(direct.r)),
            'p50 ms': fmt(direct.r.latenciesMs[0]),
            'p99 ms': fmt(direct.r.latenciesMs[1]),
            errors: errorsOf(direct.r),
            '1C max conc.': directStats.maxConcurrent,
            'CPU gw/1C/load': direct.cpu,
            statuses: statusText(direct.r.statuses),
          },
          {
            variant: `U ${POOL} callers straight to the fake (diag.)`,
            'req/s': fmt(answered(ten.r)),
            'of target': ofCeiling(answered(ten.r)),
            'p50 ms': fmt(ten.r.latenciesMs[0], 1),
            'p99 ms': fmt(ten.r.latenciesMs[1], 1),
            errors: errorsOf(ten.r),
            'CPU gw/1C/load': ten.cpu,
            statuses: statusText(ten.r.statuses),
          },
        );
        notes.push(
          `U = uncached: ${CALLERS} callers, ${SECONDS} s after ${WARMUP} s warm-up, reads (each its own cursor, so each a cache miss; half with a groupId) and PUT /clients/{id} (unique Idempotency-Key) in turn. ` +
            `req/s = answers from 1C (2xx except 202) in the window; "of target" = of the gateway's ceiling, pool − 1 = ${POOL - 1} sessions (one kept free for 1C's own users): that is what it can reach, the fake's ${fmt(capacity)}/s is out of reach by design. Errors: 4xx/5xx/transport over the whole run; 202 = queued writes (not errors).`,
          `U via ReGate: all answers ${statusText(via.r.total.statuses)}${via.r.total.errors ? `, transport errors ${JSON.stringify(via.r.total.errorCodes)}` : ''}; the fake: ${fmt(viaStats.requests)} calls, max ${viaStats.maxConcurrent} at once at the publication, ${viaStats.maxInFlight} sessions busy at most, ${viaStats.overflows} overflows (queued writes drained before reading these). ` +
            `A 1C call held a session of the fake ${fmt(heldMs, 1)} ms on average (handler ${fmt(LATENCY_MS)} ms + the fake's own work and timer lag), so ${POOL - 1} sessions could give at most ${fmt(ofFake)}/s here: ReGate reached ${fmt((viaRate / ofFake) * 100)} % of that. ` +
            `The same call as the gateway saw it (journal, slot held): ${fmt(seen.avg, 1)} ms; the gateway's event-loop delay p50 ${fmt(lag.percentile(50) / 1e6, 1)} ms, p99 ${fmt(lag.percentile(99) / 1e6)} ms, max ${fmt(lag.max / 1e6)} ms.`,
          `U straight to the fake: all answers ${statusText(direct.r.total.statuses)}${direct.r.total.errors ? `, transport errors ${JSON.stringify(direct.r.total.errorCodes)}` : ''}; max ${directStats.maxConcurrent} requests at once at the publication, ${directStats.maxInFlight} sessions busy (none left for 1C's own users), ${directStats.overflows} overflows (the fake answers 406 after a 5 s pool wait).`,
        );
        if (prof) {
          await new Promise((r) => setTimeout(r, 500));
          notes.push(...(await profiled(uncached)).map((n) => `U ${n}`));
          await drained();
        }

        // ---- 2. one cached page, 50 keep-alive TLS connections ----
        const plain = await startGateway(join(dir, 'gw-nojournal'), tls, info, false);
        const cert = { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile), minVersion: 'TLSv1.2' as const };
        let primary: { rate: number; ratios: number[]; errors: number; p99: number } | undefined;
        try {
          for (const limit of PAGE_LIMITS) {
            const page = `/regate/v1/stores/${info.stores[0]}/assortment?limit=${limit}`;
            const warm = async (url: string) => {
              const first = await request(`${url}${page}`, { dispatcher: insecure, headers: { authorization: AUTH } });
              const bytes = Buffer.from(await first.body.arrayBuffer());
              const again = await request(`${url}${page}`, { dispatcher: insecure, headers: { authorization: AUTH } });
              await again.body.dump();
              if (first.statusCode !== 200 || again.headers['x-cache'] !== 'HIT') throw new Error(`cache warm-up: ${first.statusCode} then X-Cache ${String(again.headers['x-cache'])}`);
              return { bytes, etag: String(again.headers.etag) };
            };
            const { bytes: body, etag } = await warm(gw.url);
            await warm(plain.url);
            const cached = (url: string) => loadGen({ url, authorization: AUTH, insecure: true, requests: [{ method: 'GET', path: page }], connections: CACHED_CONNECTIONS, seconds: ROUND_SECONDS, warmupSeconds: 1 });
            const size = `${fmt(body.length / 1024, 1)} KB`;
            // Baseline: node:https answering the same bytes (same certificate), nothing else: the gateway's
            // head too (a request id of the same length, X-Cache, ETag), so the load generator reads the same.
            const head = ['x-request-id', '00000000-0000-4000-8000-000000000000', 'x-cache', 'HIT', 'etag', etag, 'content-type', 'application/json; charset=utf-8', 'content-length', String(body.length)];
            const bare = createHttpsServer(cert, (_req, res) => {
              res.writeHead(200, head);
              res.end(body);
            });
            await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
            const variants = [
              { name: 'bare node:https, same bytes', url: `https://127.0.0.1:${(bare.address() as AddressInfo).port}` },
              { name: 'ReGate, journal on (as in Sputnik)', url: gw.url },
              { name: 'ReGate, no journal (diag.)', url: plain.url },
            ];
            // Rounds, each variant once a round in a rotating order: this VM's speed drifts by tens of
            // per cent within a minute, so one window each, one after the other, compared the drift.
            const runs = variants.map(() => [] as Array<{ r: LoadOut; cpu: string; calls: number }>);
            try {
              for (let round = 0; round < CACHED_ROUNDS; round++) {
                for (let k = 0; k < variants.length; k++) {
                  const i = (k + round) % variants.length;
                  const before = (await fake.call<Fake1CStats>('stats')).requests;
                  const m = await measured(fake, () => cached(variants[i].url));
                  runs[i].push({ ...m, calls: (await fake.call<Fake1CStats>('stats')).requests - before });
                }
              }
            } finally {
              await new Promise<void>((r) => bare.close(() => r()));
            }
            const rateOf = (m: { r: LoadOut }) => m.r.requests / m.r.seconds;
            const medianRun = <T extends { r: LoadOut }>(xs: T[]): T => [...xs].sort((a, b) => rateOf(a) - rateOf(b))[Math.floor(xs.length / 2)];
            variants.forEach((v, i) => {
              const m = medianRun(runs[i]);
              rows.push({
                variant: `C limit=${limit} (${size}): ${v.name}`,
                'req/s': fmt(rateOf(m)),
                'of target': `${fmt((rateOf(m) / CACHED_TARGET) * 100)} %`,
                'p50 ms': fmt(m.r.latenciesMs[0], 1),
                'p99 ms': fmt(m.r.latenciesMs[1], 1),
                errors: runs[i].reduce((n, x) => n + errorsOf(x.r), 0),
                '1C calls': i === 0 ? '' : runs[i].reduce((n, x) => n + x.calls, 0),
                'CPU gw/1C/load': m.cpu,
                statuses: statusText(m.r.statuses),
              });
            });
            const ratios = (i: number) => runs[i].map((m, round) => rateOf(m) / rateOf(runs[0][round]));
            const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
            notes.push(
              `C limit=${limit}: req/s round by round: ${variants.map((v, i) => `${v.name.split(',')[0]}${i === 2 ? ' (no journal)' : ''} ${runs[i].map((m) => fmt(rateOf(m))).join(' ')}`).join('; ')}. ` +
                `ReGate over bare, each round: ${ratios(1).map((x) => fmt(x, 2)).join(' ')} (median ${fmt(median(ratios(1)), 2)}; target ≥ ${CACHED_OF_BARE}); no journal: ${ratios(2).map((x) => fmt(x, 2)).join(' ')}.`,
            );
            if (limit === PAGE_LIMITS[0]) {
              const m = medianRun(runs[1]);
              primary = { rate: rateOf(m), ratios: ratios(1), errors: runs[1].reduce((n, x) => n + errorsOf(x.r), 0), p99: m.r.latenciesMs[1] };
            }
            if (prof) notes.push(...(await profiled(() => cached(gw.url))).map((n) => `C limit=${limit} ${n}`));
          }
        } finally {
          await plain.stop();
        }
        notes.push(
          `C = cached: one assortment page warmed, then ${CACHED_CONNECTIONS} keep-alive TLS connections GET it for ${ROUND_SECONDS} s (after 1 s warm-up), ${CACHED_ROUNDS} rounds of bare / ReGate / ReGate without journal in a rotating order; a row is its median round (errors and 1C calls: all rounds); target ≥ ${fmt(CACHED_TARGET)} req/s and ≥ ${CACHED_OF_BARE} of the bare server in the same round. CPU gw/1C/load = % of one core used by the gateway (this process), the fake and the load generator; the machine has 2 cores.`,
        );

        if (!primary) throw new Error('no cached run');
        const { rate, ratios } = primary;
        const ofBare = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
        const met1 = viaRate >= 0.9 * ceiling && viaErrors === 0 && viaStats.maxConcurrent <= POOL - 1;
        const met2 = rate >= CACHED_TARGET && ofBare >= CACHED_OF_BARE && primary.errors === 0;
        return {
          id: 'regate',
          title: `ReGate over TLS (RSA 2048, self-signed): fake 1C in its own process, poolSize ${POOL}, every call ${LATENCY_MS} ms; load generator in its own process`,
          rows,
          notes,
          summary:
            `uncached ${fmt(viaRate)} calls/s = ${ofCeiling(viaRate)} of ${fmt(ceiling)}/s (pool − 1; target ≥ 90 %), ${viaErrors} errors, 1C max ${viaStats.maxConcurrent} (≤ ${POOL - 1}) ${met1 ? 'MET' : 'MISSED'}; ` +
            `cached limit=${PAGE_LIMITS[0]} page ${fmt(rate)} req/s p99 ${fmt(primary.p99, 1)} ms, ${fmt(ofBare, 2)} of bare node:https (median of ${ratios.map((x) => fmt(x, 2)).join(' ')}) (target ≥ ${fmt(CACHED_TARGET)} req/s and ≥ ${CACHED_OF_BARE}) ${met2 ? 'MET' : 'MISSED'}`,
        };
      } finally {
        await gw.stop();
      }
    });
  } finally {
    await insecure.close();
    await fake.stop();
  }
}
