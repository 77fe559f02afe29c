/**
 * ReGate on several instances (README «ReGate on several machines»): three `sputnik serve`
 * processes sharing one PostgreSQL (a private server on this machine), one fake 1C in its own
 * process (`sputnik sandbox 1c`, pool 10, every call 30 ms), load generators (bench/load.ts) in
 * processes of their own, one per instance, as a balancer spreads the callers.
 *
 * 1. Uncached: reads that each miss the cache and client writes, through the three instances: 1C's
 *    calls per second against the cluster-wide ceiling (poolSize − 1) / latency, and the most calls
 *    1C saw at once (the cap: ≤ poolSize − 1).
 * 2. Cached: one assortment page warmed on every instance, the same 50 keep-alive connections
 *    through one instance and spread over three, side by side.
 * 3. A booking's latency on PostgreSQL and on SQLite in the same run: one instance of each, the
 *    same bookings, the same 1C.
 *
 *   node bench/run.ts regate-cluster        (or node bench/regate-cluster.ts)
 *
 * Diagnostics (defaults: everything, as above): REGATE_CLUSTER_PARTS=U (or U,C / B …) runs only those
 * parts; REGATE_CLUSTER_U=u runs only the named uncached runs (s = SQLite gateway, p = one PostgreSQL
 * instance, u = the three); REGATE_CLUSTER_SLOTS=1 adds a column of the cluster slots owned in
 * PostgreSQL (sampled every 5 ms: a slot between instances is unowned there); REGATE_CLUSTER_DIRECT=1 adds a row of 9 connections straight to the fake
 * (no gateway: the hold and busy the machine allows with no gateway work); REGATE_CLUSTER_PROF=DIR
 * runs the first of the three instances under `node --cpu-prof` (its main and upstream threads'
 * profiles land in DIR when the bench stops it).
 */
const PARTS = new Set((process.env.REGATE_CLUSTER_PARTS ?? 'U,C,B').split(','));
const U_RUNS = new Set((process.env.REGATE_CLUSTER_U ?? 's,p,u').split(','));
import { readdirSync, readFileSync } from 'node:fs';
import { AUTH, agent, catalogue, clusterConfig, fakeStats, gatewayHealth, kill9, startCluster, startInstance, type Instance } from '../test/helpers/regate-cluster.ts';
import { fmt, type BenchResult } from './common.ts';
// The same fake 1C (pool, latency) and the same cached-page run as bench regate.
import { CACHED_CONNECTIONS, CACHED_SECONDS, errorsOf, LATENCY_MS, loadGen, POOL, statusText, WARMUP, type LoadOut, type Template } from './regate.ts';

const CEILING = ((POOL - 1) / LATENCY_MS) * 1000;
const UNCACHED_CALLERS = 300;
const UNCACHED_SECONDS = 8;
const BOOKING_CONNECTIONS = 20;
const BOOKING_SECONDS = 6;
/** The uncached load's own warm-up: fresh instances (cold JIT, 100 TLS handshakes each, first slot claims) reach their pace only after a few seconds. */
const U_WARMUP = 4;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const merge = (outs: LoadOut[]) => {
  const statuses: Record<string, number> = {};
  for (const o of outs) for (const [k, n] of Object.entries(o.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  return statuses;
};

/**
 * Reads that each miss the cache (their own cursor) and client writes (their own key), `tag` keeping
 * generators apart. Each generator counts {i} from 0 and a run's pages stay fresh in an instance's
 * cache for the next run, so every generator of the bench writes its offsets with `zeros` leading
 * zeros of its own: the same pages, other cache keys.
 */
function uncachedLoad(store: string, tag: string, zeros: number): Template[] {
  const out: Template[] = [];
  for (let k = 0; k < 4; k++) {
    out.push({ method: 'GET', path: `/regate/v1/stores/${store}/assortment?limit=20&cursor={b64:${store}:${'0'.repeat(zeros)}{i}}` });
    out.push({ method: 'PUT', path: `/regate/v1/clients/bench-${tag}-{i}`, headers: { 'idempotency-key': `bench-${tag}-{i}` }, body: JSON.stringify({ name: 'Клиент {i}', phone: '+7999{i}' }) });
  }
  return out;
}

/** Bookings of every seeded client in turn (one unlimited item at its price), each its own order and key. */
function bookingLoad(cat: Awaited<ReturnType<typeof catalogue>>, clients: string[], tag: string): Template[] {
  return clients.map((client, k) => {
    const item = cat.items[k % cat.items.length];
    const body = { richestOrderId: `RS-${tag}-{i}`, client: { externalId: client }, storeId: cat.stores[0], delivery: { address: 'Москва, ул. Ленина, 1' }, lines: [{ itemId: item.id, qty: 1, price: item.price }] };
    return { method: 'POST' as const, path: '/regate/v1/orders', headers: { 'idempotency-key': `book-${tag}-{i}` }, body: JSON.stringify(body) };
  });
}

/** One load generator per instance, run together; `connections` spread over them. */
function spread(nodes: Instance[], connections: number, seconds: number, requests: (n: number) => Template[], warmupSeconds = WARMUP): Promise<LoadOut[]> {
  const per = Math.ceil(connections / nodes.length);
  return Promise.all(nodes.map((node, n) => loadGen({ url: node.url, authorization: AUTH, insecure: true, requests: requests(n), connections: per, seconds, warmupSeconds })));
}

export async function benchRegateCluster(): Promise<BenchResult> {
  const started = await startCluster({ instances: 3, pool: POOL, latencyMs: LATENCY_MS });
  try {
    const { pg, fake, nodes, clients, cat } = started;
    const profDir = process.env.REGATE_CLUSTER_PROF;
    if (profDir) {
      // The first instance again, profiled (a clean stop at the end writes its profiles).
      await kill9(nodes[0]);
      nodes[0] = await startInstance({ ...started.setup, env: { ...started.setup.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } });
    }
    const solo = await startInstance(clusterConfig({ pgUrl: pg.url, pg, baseUrl: fake.baseUrl, poolSize: POOL, sqlite: true }));
    const rows: BenchResult['rows'] = [];
    const notes: string[] = [];

    // ---- 1. uncached: three instances, and one SQLite gateway as the same run's baseline ----
    /**
     * Answers that came from 1C per second inside the generators' own windows: a 200 (each read its own
     * cursor, so a cache miss) or a 201/200 write is one 1C call each; a 202 (a queued write) is not counted.
     */
    let generators = 0;
    const gatewayPids = [solo.pid, ...nodes.map((n) => n.pid)];
    const uncachedRun = async (targets: Instance[], tag: string) => {
      const sampling = sessionSamples(fake.statsUrl, { gateways: gatewayPids, fake: fake.child.pid ?? 0 });
      const owning = process.env.REGATE_CLUSTER_SLOTS ? slotsOwned(pg.url, pg.password) : undefined;
      const first = generators;
      generators += targets.length;
      const outs = await spread(targets, UNCACHED_CALLERS, UNCACHED_SECONDS, (n) => uncachedLoad(cat.stores[0], `${tag}${n}`, first + n + 1), U_WARMUP);
      const samples = await sampling.stop();
      const owned = await owning?.stop();
      const fromOneC = sum(outs.map((o) => Object.entries(o.statuses).filter(([k]) => k === '200' || k === '201').reduce((a, [, n]) => a + n, 0)));
      // 1C's sessions over the window every generator measured in.
      const held = sessionsBetween(samples, Math.max(...outs.map((o) => o.window[0])), Math.min(...outs.map((o) => o.window[1])));
      const inWindow = owned?.filter((o) => o.at >= Math.max(...outs.map((o) => o.window[0])) && o.at <= Math.min(...outs.map((o) => o.window[1])));
      const slots = inWindow && inWindow.length > 0 ? sum(inWindow.map((o) => o.owned)) / inWindow.length : undefined;
      return { outs, calls: fromOneC / UNCACHED_SECONDS, stats: await fakeStats(fake), held, slots };
    };
    const uRow = (variant: string, r: Awaited<ReturnType<typeof uncachedRun>>) => ({
      variant,
      'req/s': fmt(r.calls),
      'of target': `${fmt((r.calls / CEILING) * 100)} %`,
      'p50 ms': fmt(Math.max(...r.outs.map((o) => o.latenciesMs[0]))),
      'p99 ms': fmt(Math.max(...r.outs.map((o) => o.latenciesMs[1]))),
      errors: sum(r.outs.map(errorsOf)),
      '1C max conc.': r.stats.maxConcurrent,
      '1C busy': r.held ? fmt(r.held.busy, 2) : '',
      ...(r.slots === undefined ? {} : { 'slots owned': fmt(r.slots, 2) }),
      'hold ms': r.held ? fmt(r.held.holdMs, 1) : '',
      'CPU % gw/pg/1C/load/rest': r.held ? r.held.cpu : '',
      statuses: statusText(merge(r.outs)),
    });
    let calls = NaN;
    let afterU = await fakeStats(fake);
    if (PARTS.has('U')) {
      const cpuNotes: string[] = [];
      const runs: Array<[string, Awaited<ReturnType<typeof uncachedRun>>]> = [];
      if (U_RUNS.has('s')) {
        runs.push([`U ${UNCACHED_CALLERS} callers, one gateway on SQLite (same run)`, await uncachedRun([solo], 's')]);
        await drain(solo);
      }
      if (U_RUNS.has('p')) {
        runs.push([`U ${UNCACHED_CALLERS} callers, one instance on PostgreSQL (diag.)`, await uncachedRun([nodes[0]], 'p')]);
        await drain(nodes[0]);
      }
      if (U_RUNS.has('u')) {
        const cluster = await uncachedRun(nodes, 'u');
        calls = cluster.calls;
        afterU = cluster.stats;
        runs.push([`U ${UNCACHED_CALLERS} callers over 3 instances (PostgreSQL)`, cluster]);
      }
      for (const [variant, r] of runs) {
        rows.push(uRow(variant, r));
        if (r.held) cpuNotes.push(`${variant.split(',')[0]} ${variant.includes('SQLite') ? 'SQLite' : variant.includes('3 instances') ? '3 PG' : '1 PG'}: ${r.held.threads}`);
      }
      if (PARTS.has('direct') || process.env.REGATE_CLUSTER_DIRECT) {
        // No gateway: 9 connections straight to the fake, each its own cursor (plain HTTP, the technical user's Basic).
        const sampling = sessionSamples(fake.statsUrl, { gateways: gatewayPids, fake: fake.child.pid ?? 0 });
        const base = new URL(fake.baseUrl);
        const direct = await loadGen({
          url: base.origin,
          authorization: `Basic ${Buffer.from('regate:regate').toString('base64')}`,
          requests: [{ method: 'GET', path: `${base.pathname}/stores/${cat.stores[0]}/assortment?limit=20&cursor={b64:${cat.stores[0]}:{i}}` }],
          connections: POOL - 1,
          seconds: UNCACHED_SECONDS,
          warmupSeconds: 1,
        });
        const held = sessionsBetween(await sampling.stop(), direct.window[0], direct.window[1]);
        rows.push({
          variant: `D ${POOL - 1} connections straight to the fake (no gateway)`,
          'req/s': fmt(direct.requests / direct.seconds),
          'of target': `${fmt((direct.requests / direct.seconds / CEILING) * 100)} %`,
          'p50 ms': fmt(direct.latenciesMs[0], 1),
          'p99 ms': fmt(direct.latenciesMs[1], 1),
          errors: errorsOf(direct),
          '1C busy': held ? fmt(held.busy, 2) : '',
          'hold ms': held ? fmt(held.holdMs, 1) : '',
          'CPU % gw/pg/1C/load/rest': held ? held.cpu : '',
          statuses: statusText(direct.statuses),
        });
      }
      for (const node of nodes) await drain(node);
      notes.push(
        `U = uncached: ${UNCACHED_CALLERS} callers (${UNCACHED_CALLERS / 3} per instance; all on the one gateway for the baseline), ${UNCACHED_SECONDS} s after ${U_WARMUP} s warm-up, reads that each miss the cache and PUT /clients/{id} with their own keys in turn; req/s = answers from 1C (200 and 201, each one 1C call; 202 = queued, not counted) per second inside the generators' windows; target = the cluster-wide ceiling (pool − 1) / latency = ${fmt(CEILING)}/s. 1C max conc. = the most calls the fake saw at once over the run (cap: ≤ ${POOL - 1}). p50/p99: the worst instance's.`,
        `U 1C busy = the fake's sessions in use on average over the generators' common window (its session-ms sampled every ${SAMPLE_MS} ms: Δ session-ms / Δ wall), of the ${POOL - 1} the gateways may use; hold ms = how long a call held its session (the ${LATENCY_MS} ms handler, the fake's own work, its timer's lag on a busy machine). 1C's calls/s = busy / hold: the ceiling needs ${POOL - 1} busy at ${LATENCY_MS} ms. Busy below ${POOL - 1} = slots idle between calls (a call's way back from 1C and the next one's way there, slot hand-overs); hold above ${LATENCY_MS} ms = 1C (here: the fake on this machine) slower than its handler.`,
        `U CPU % = each group's user+system time (/proc) over the same window, in % of one core (the machine has 2 = 200 %): gw = every gateway process (all threads; idle ones included), pg = the PostgreSQL server's processes, 1C = the fake, load = the load generators, rest = the machine's busy time less those (this bench process, anything else). By thread name, over all gateways: ${cpuNotes.join(' | ')}`,
      );
    }

    // ---- 2. one cached page: one instance vs three ----
    let threeRate = NaN;
    let oneRate = NaN;
    if (PARTS.has('C')) {
      const page = `/regate/v1/stores/${cat.stores[0]}/assortment?limit=5`;
      for (const node of nodes) {
        for (let k = 0; k < 2; k++) {
          const r = await fetchPage(node.url, page);
          if (r !== 200) throw new Error(`cache warm-up: ${r}`);
        }
      }
      const one = await loadGen({ url: nodes[0].url, authorization: AUTH, insecure: true, requests: [{ method: 'GET', path: page }], connections: CACHED_CONNECTIONS, seconds: CACHED_SECONDS, warmupSeconds: WARMUP });
      const three = await spread(nodes, CACHED_CONNECTIONS, CACHED_SECONDS, () => [{ method: 'GET', path: page }]);
      oneRate = one.requests / one.seconds;
      threeRate = sum(three.map((o) => o.requests)) / CACHED_SECONDS;
      rows.push(
        { variant: `C one instance, ${CACHED_CONNECTIONS} connections`, 'req/s': fmt(oneRate), 'of target': '1.00×', 'p50 ms': fmt(one.latenciesMs[0], 1), 'p99 ms': fmt(one.latenciesMs[1], 1), errors: errorsOf(one), statuses: statusText(one.statuses) },
        {
          variant: `C three instances, ${CACHED_CONNECTIONS} connections spread`,
          'req/s': fmt(threeRate),
          'of target': `${fmt(threeRate / oneRate, 2)}×`,
          'p50 ms': fmt(Math.max(...three.map((o) => o.latenciesMs[0])), 1),
          'p99 ms': fmt(Math.max(...three.map((o) => o.latenciesMs[1])), 1),
          errors: sum(three.map(errorsOf)),
          statuses: statusText(merge(three)),
        },
      );
      notes.push(
        `C = cached: the 5-item assortment page warmed on every instance, then ${CACHED_CONNECTIONS} keep-alive TLS connections GET it for ${CACHED_SECONDS} s (after ${WARMUP} s warm-up), against one instance and spread over three (one load generator each). "of target" here = the ratio to one instance. On this 2-core machine the three instances and their load generators share the same two cores: three instances can only add what one left idle; on three machines each would have its own.`,
      );
    }

    // ---- 3. a booking's latency: PostgreSQL vs SQLite ----
    let p99 = { pg: NaN, sqlite: NaN };
    if (PARTS.has('B')) {
      const book = async (node: Instance, tag: string) => {
        const r = await loadGen({ url: node.url, authorization: AUTH, insecure: true, requests: bookingLoad(cat, clients, tag), connections: BOOKING_CONNECTIONS, seconds: BOOKING_SECONDS, warmupSeconds: WARMUP });
        return r;
      };
      const onSqlite = await book(solo, 'sqlite');
      const onPg = await book(nodes[0], 'pg');
      for (const [name, r] of [['SQLite (one gateway)', onSqlite], ['PostgreSQL (one of the three)', onPg]] as const) {
        rows.push({
          variant: `B booking on ${name}, ${BOOKING_CONNECTIONS} connections`,
          'req/s': fmt(r.requests / r.seconds),
          'p50 ms': fmt(r.latenciesMs[0], 1),
          'p99 ms': fmt(r.latenciesMs[1], 1),
          errors: errorsOf(r),
          statuses: statusText(r.statuses),
        });
      }
      notes.push(
        `B = bookings: POST /orders, ${BOOKING_CONNECTIONS} connections for ${BOOKING_SECONDS} s after ${WARMUP} s, each its own order and Idempotency-Key, the ${clients.length} seeded clients in turn, one instance at a time against the same fake 1C (${LATENCY_MS} ms a call). A booking on PostgreSQL is: the key recorded (INSERT … ON CONFLICT), its client's line checked on the other instances, a cluster slot taken and given back (or handed on), 1C's answer stored with a NOTIFY when the line has queued writes, the assortment's invalidation sent; on SQLite: the key recorded with an fsync, the outbox line checked, 1C's answer stored.`,
      );
      p99 = { pg: onPg.latenciesMs[1], sqlite: onSqlite.latenciesMs[1] };
    }
    const final = await fakeStats(fake);
    notes.push(`1C over the whole run: ${fmt(final.calls)} calls, max ${final.maxConcurrent} at once, ${final.orders} orders, ${final.duplicateOrders} duplicates.`);
    const met = calls >= 0.9 * CEILING && afterU.maxConcurrent <= POOL - 1;
    return {
      id: 'regate-cluster',
      title: `ReGate cluster: 3 × sputnik serve + 1 PostgreSQL ${'(private, fsync off)'} + fake 1C (pool ${POOL}, ${LATENCY_MS} ms) + load generators, all on this machine`,
      rows,
      notes,
      summary:
        `uncached ${fmt(calls)} 1C calls/s = ${fmt((calls / CEILING) * 100)} % of ${fmt(CEILING)}/s, 1C max ${afterU.maxConcurrent} (≤ ${POOL - 1}) ${met ? 'MET' : 'MISSED'}; ` +
        `cached three/one ${fmt(threeRate / oneRate, 2)}× (${fmt(threeRate)} vs ${fmt(oneRate)} req/s); booking p99 PG ${fmt(p99.pg, 1)} ms vs SQLite ${fmt(p99.sqlite, 1)} ms`,
    };
  } finally {
    if (process.env.REGATE_CLUSTER_PROF) {
      started.nodes[0].child.kill('SIGTERM');
      await started.nodes[0].exited;
    }
    started.stop();
    await agent.close().catch(() => {});
  }
}

/** The cluster slots owned (leased) in PostgreSQL, sampled every 5 ms until stopped (REGATE_CLUSTER_SLOTS). */
function slotsOwned(url: string, password: string): { stop(): Promise<Array<{ at: number; owned: number }>> } {
  const out: Array<{ at: number; owned: number }> = [];
  let on = true;
  const loop = (async () => {
    const { default: pg } = await import('pg');
    const u = new URL(url);
    u.password = encodeURIComponent(password);
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      while (on) {
        const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM regate_slots WHERE owner IS NOT NULL AND lease_until > clock_timestamp()`);
        out.push({ at: performance.timeOrigin + performance.now(), owned: rows[0].n });
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await c.end();
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return out;
    },
  };
}

const SAMPLE_MS = 250;
interface SessionSample {
  /** Epoch ms. */
  at: number;
  sessionCalls: number;
  sessionMs: number;
  cpu: CpuSample;
}

/** CPU ticks (/proc, 1/100 s) by group of processes, the gateways' by thread name, and the machine's busy ticks. */
interface CpuSample {
  groups: Record<'gw' | 'pg' | '1C' | 'load', number>;
  threads: Map<string, number>;
  /** Every other process by name. */
  others: Map<string, number>;
  busy: number;
}

const TICKS_PER_S = 100;
const cmdlines = new Map<number, string>();
/** utime + stime of /proc/<path>/stat, with its ppid and comm; undefined if it is gone. */
function statOf(path: string): { ppid: number; comm: string; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${path}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

function cpuSample(pids: { gateways: number[]; fake: number }): CpuSample {
  const groups = { gw: 0, pg: 0, '1C': 0, load: 0 };
  const threads = new Map<string, number>();
  const others = new Map<string, number>();
  const gateways = new Set(pids.gateways);
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = statOf(name);
    if (!st) continue;
    if (gateways.has(pid)) {
      groups.gw += st.ticks;
      try {
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          const t = statOf(`${pid}/task/${tid}`);
          if (t) threads.set(t.comm, (threads.get(t.comm) ?? 0) + t.ticks);
        }
      } catch {
        // gone
      }
    } else if (pid === pids.fake) groups['1C'] += st.ticks;
    else if (st.comm === 'postgres') groups.pg += st.ticks;
    else if (st.ppid === process.pid) {
      let cmd = cmdlines.get(pid);
      if (cmd === undefined) {
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          cmd = '';
        }
        cmdlines.set(pid, cmd);
      }
      if (cmd.includes('load.ts')) groups.load += st.ticks;
      else others.set(st.comm, (others.get(st.comm) ?? 0) + st.ticks);
    } else others.set(st.comm, (others.get(st.comm) ?? 0) + st.ticks);
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4];
  return { groups, threads, others, busy };
}

/** The fake's session counters (`/_sandbox/stats?sessions=1`) and the processes' CPU every SAMPLE_MS until stopped. */
function sessionSamples(statsUrl: string, pids: { gateways: number[]; fake: number }): { stop(): Promise<SessionSample[]> } {
  const samples: SessionSample[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      try {
        const s = (await (await fetch(`${statsUrl}?sessions=1`)).json()) as { sessionCalls?: number; sessionMs?: number };
        samples.push({ at: performance.timeOrigin + performance.now(), sessionCalls: s.sessionCalls ?? 0, sessionMs: s.sessionMs ?? 0, cpu: cpuSample(pids) });
      } catch {
        // a missed sample: the next one counts
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return samples;
    },
  };
}

/**
 * Sessions busy on average and the mean hold of a call between the first and the last sample inside
 * [from, to] (epoch ms), with each group's CPU over the same span (% of one core) and the gateways' by thread.
 */
function sessionsBetween(samples: SessionSample[], from: number, to: number): { busy: number; holdMs: number; cpu: string; threads: string } | undefined {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const [a, b] = [inside[0], inside.at(-1)];
  if (!a || !b || b.at - a.at < 1000 || b.sessionCalls === a.sessionCalls) return undefined;
  const pc = (ticks: number) => (ticks / TICKS_PER_S / ((b.at - a.at) / 1000)) * 100;
  const g = (k: keyof CpuSample['groups']) => pc(b.cpu.groups[k] - a.cpu.groups[k]);
  const known = g('gw') + g('pg') + g('1C') + g('load');
  const cpu = [g('gw'), g('pg'), g('1C'), g('load'), pc(b.cpu.busy - a.cpu.busy) - known].map((x) => fmt(x)).join('/');
  const byName = (before: Map<string, number>, after: Map<string, number>) =>
    [...after]
      .map(([name, t]) => [name, pc(t - (before.get(name) ?? 0))] as const)
      .filter(([, x]) => x >= 0.5)
      .sort((x, y) => y[1] - x[1])
      .map(([name, x]) => `${name} ${fmt(x)}`)
      .join(', ');
  const threads = `${byName(a.cpu.threads, b.cpu.threads)}; other processes: ${byName(a.cpu.others, b.cpu.others) || 'none'}`;
  return { busy: (b.sessionMs - a.sessionMs) / (b.at - a.at), holdMs: (b.sessionMs - a.sessionMs) / (b.sessionCalls - a.sessionCalls), cpu, threads };
}

/** Waits for an instance's queued writes (202s) to be done, so the next part starts from a quiet 1C. */
async function drain(node: Instance): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const h = await gatewayHealth(node.url);
    if (Object.values(h.tenants).every((t) => t.queuedWrites === 0)) return;
  }
}

async function fetchPage(base: string, page: string): Promise<number> {
  const { request } = await import('undici');
  const r = await request(new URL(page, base), { dispatcher: agent, headers: { authorization: AUTH } });
  await r.body.dump();
  return r.statusCode;
}

if (import.meta.main) {
  const { printTable } = await import('./common.ts');
  const r = await benchRegateCluster();
  console.log(`\n== ${r.title}`);
  printTable(r.rows);
  for (const n of r.notes) console.log(`  note: ${n}`);
  console.log(`  ${r.summary}`);
}
