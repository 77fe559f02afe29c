import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFake1C, type Fake1C } from './fake.ts';
import type { CompanyOrder } from './seed.ts';

/**
 * The fake 1C on its own (`sputnik sandbox 1c`): the in-process sandbox's HTTP service ReGate and
 * seeded company (seed 1, 3000 items), plain HTTP on loopback, so ReGate gateways in other
 * processes (a cluster on one machine, its tests) can share one 1C and be judged by it.
 * No store and no data dir: everything lives in memory and ends with the process.
 *
 * `GET /_sandbox/stats` (no auth, not a 1C call) answers what the 1C side saw:
 * - `maxConcurrent`: the most calls at the publication at once, those waiting for a session
 *   included (a gateway's cap must keep it at poolSize − 1);
 * - `calls`: every call received (refused ones included);
 * - `orders`: orders created by calls (the seeded ones not counted);
 * - `duplicateOrders`: created orders whose `richestOrderId` or `X-ReGate-Request-Id` an earlier
 *   order already has (exactly-once broken somewhere), counted from the fake's own orders.
 *
 * `GET /_sandbox/stats?sessions=1` adds `sessionCalls` and `sessionMs`: the calls that had a session
 * and the ms they held it in all, so far. Sampled twice, their differences give the sessions busy on
 * average between (Δ sessionMs / Δ wall) and the mean hold of a call (Δ sessionMs / Δ sessionCalls).
 */

export interface Standalone1COptions {
  /** 0 = any free port. */
  port: number;
  /** Sessions of the publication (poolSize), default 10. */
  pool?: number;
  /** How long a call waits for a free session before the pool-exhausted answer, default 5000 (1C's poolTimeout 5 s). */
  poolTimeoutMs?: number;
  /** Every call's handler time, default 30. */
  latencyMs?: number;
  /** Technical user, default regate / regate. */
  user?: string;
  password?: string;
  /** 1C's X-ReGate-Request-Id register, default on; off = a repeated request id books again. */
  register?: boolean;
}

export interface Standalone1CStats {
  maxConcurrent: number;
  calls: number;
  orders: number;
  duplicateOrders: number;
  /** With `?sessions=1`: calls that had a session, and the ms they held it in all. */
  sessionCalls?: number;
  sessionMs?: number;
}

export interface Standalone1C {
  fake: Fake1C;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The HTTP service's base URL (a tenant's `baseUrl`): url + /hs/regate/v1 */
  baseUrl: string;
  statsUrl: string;
  stats(): Standalone1CStats;
  stop(): Promise<void>;
}

export const STANDALONE_BASE_PATH = '/hs/regate/v1';
export const STATS_PATH = '/_sandbox/stats';
export const STANDALONE_USER = 'regate';
export const STANDALONE_PASSWORD = 'regate';
/** The in-process sandbox's request log size: the fake runs for as long as it is left on. */
const KEEP_REQUESTS = 2000;

/** Counts orders created after the seed, and those that repeat an earlier order's ids, as they appear. */
function orderCounter(seeded: CompanyOrder[]) {
  const richestIds = new Set(seeded.map((o) => o.richestOrderId));
  const requestIds = new Set(seeded.flatMap((o) => (o.requestId === null ? [] : [o.requestId])));
  const from = seeded.length;
  let seen = from;
  let duplicates = 0;
  return (orders: CompanyOrder[]): { orders: number; duplicateOrders: number } => {
    // Orders are only ever appended, so each is looked at once.
    for (; seen < orders.length; seen++) {
      const o = orders[seen];
      if (richestIds.has(o.richestOrderId) || (o.requestId !== null && requestIds.has(o.requestId))) duplicates++;
      richestIds.add(o.richestOrderId);
      if (o.requestId !== null) requestIds.add(o.requestId);
    }
    return { orders: orders.length - from, duplicateOrders: duplicates };
  };
}

export async function startStandalone1C(opts: Standalone1COptions): Promise<Standalone1C> {
  let stats: (() => Standalone1CStats) | null = null;
  let held: (() => { sessionCalls: number; sessionMs: number }) | null = null;
  const sideRoute = (req: IncomingMessage, res: ServerResponse): boolean => {
    const [path, query = ''] = (req.url ?? '').split('?');
    if (path !== STATS_PATH) return false;
    // The body, if any, is not read: drain it so the connection can be kept alive.
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Только GET');
      return true;
    }
    const now = stats?.() ?? { maxConcurrent: 0, calls: 0, orders: 0, duplicateOrders: 0 };
    const sessions = new URLSearchParams(query).get('sessions') === '1' ? (held?.() ?? { sessionCalls: 0, sessionMs: 0 }) : undefined;
    const body = JSON.stringify(sessions ? { ...now, ...sessions } : now);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
  const fake = await startFake1C({
    host: '127.0.0.1',
    port: opts.port,
    basePath: STANDALONE_BASE_PATH,
    user: opts.user ?? STANDALONE_USER,
    password: opts.password ?? STANDALONE_PASSWORD,
    poolSize: opts.pool ?? 10,
    poolTimeoutMs: opts.poolTimeoutMs ?? 5000,
    // Every call takes latencyMs: no random latency, no session start cost.
    fixedLatencyMs: opts.latencyMs ?? 30,
    sessionStartMs: 0,
    requestIdRegister: opts.register ?? true,
    keepRequests: KEEP_REQUESTS,
    sideRoute,
  });
  const count = orderCounter(fake.company().orders.slice());
  stats = () => {
    const s = fake.stats();
    return { maxConcurrent: s.maxConcurrent, calls: s.requests, ...count(fake.company().orders) };
  };
  held = () => {
    const s = fake.stats();
    return { sessionCalls: s.sessionCalls, sessionMs: s.sessionMs };
  };
  const current = stats;
  return {
    fake,
    url: fake.url,
    baseUrl: fake.baseUrl,
    statsUrl: fake.url + STATS_PATH,
    stats: current,
    stop: () => fake.stop(),
  };
}
