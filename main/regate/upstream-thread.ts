/**
 * The ReGate upstream thread: every tenant's cap (its SessionSlots) and its undici pool to 1C.
 * It runs apart from the gateway's event loop, which serves hundreds of TLS callers: there a 1C
 * answer waited behind that work for milliseconds before its session was counted free and the next
 * caller sent, so each 30 ms call held a session for 35–40 ms. Here an answer frees its slot and
 * the next queued call goes out within the same turn. Plain data in and out (see upstream.ts).
 */
import { parentPort } from 'node:worker_threads';
import { Pool } from 'undici';
import { ConcurrencyLimiter } from './limiter.ts';
import { LimiterTimeout, type Release, type SessionSlots } from './sessions.ts';
import type { ClusterSpec } from './repos/types.ts';
import { isOverload, isTimeoutCode, STAT, type ThreadReply, type ThreadRequest, type ThreadTenant } from './upstream.ts';

interface Line {
  /** The base's session cap: in-process here (one gateway per base); see sessions.ts. */
  slots: SessionSlots;
  pool: Pool;
  authorization: string;
  stats: Int32Array;
  /** Each call also takes a slot of the base's cap shared by every gateway (the main thread holds the store). */
  cluster: boolean;
}

/**
 * The cluster-wide cap on this thread: PgSessionSlots with a pool of its own, so a slot is taken
 * right before the 1C call and given back (or handed to the next call waiting here) right after
 * it, never behind the gateway's busy event loop. Loaded only when a shared store is configured.
 */
interface Cluster {
  slots: import('./postgres/slots.ts').PgSessionSlots;
  isWaitTimeout: (e: unknown) => boolean;
  retryAfter: (e: unknown) => number | undefined;
  close(): Promise<void>;
}
let cluster: Cluster | null = null;
let clusterOpening: Promise<void> | null = null;

async function openCluster(spec: ClusterSpec): Promise<void> {
  const [{ PgStore, PgUnavailable }, { PgNotifications }, { PgSessionSlots, SlotWaitTimeout }] = await Promise.all([
    import('./postgres/connection.ts'),
    import('./postgres/notifications.ts'),
    import('./postgres/slots.ts'),
  ]);
  const ceilings = new Map(spec.ceilings);
  const store = new PgStore({ url: spec.url, password: spec.password, max: spec.connections, applicationName: `sputnik-regate ${spec.instanceId} slots`.slice(0, 63) });
  const notifications = new PgNotifications(store);
  // While other instances wait, a slot is handed on here for up to 2 s (PgSessionSlots' default is
  // 0.5 s) before it goes back to PostgreSQL: each hand-over between instances costs the slot a free,
  // a NOTIFY and a claim, which on a loaded machine took long enough that three instances reached
  // 32–54 % of the ceiling with 0.5 s and 55 % with 2 s in the same conditions (bench regate-cluster).
  // With nobody waiting here or elsewhere, a slot stays this instance's for 100 ms: a booking's next
  // 1C call comes after three round trips of its own, and a free plus a claim on every such call put
  // two more round trips (up to 230 ms each at p99 on a loaded machine) in front of some of them.
  const slots = new PgSessionSlots(store, { instanceId: spec.instanceId, ceiling: (t) => ceilings.get(t) ?? 1, leaseMs: spec.leaseMs, notifications, maxHoldMs: 2000, maxHandovers: 1000, lingerMs: 100 });
  const previous = cluster;
  cluster = {
    slots,
    isWaitTimeout: (e) => e instanceof SlotWaitTimeout,
    retryAfter: (e) => (e instanceof PgUnavailable ? e.retryAfterSeconds : undefined),
    async close() {
      await slots.close(); // idle slots back to PostgreSQL before its pool closes
      await notifications.close();
      await store.close();
    },
  };
  await previous?.close();
}

const lines = new Map<string, Line>();
/** Tenants that could not be opened, and why: their calls fail; the others go on. */
const broken = new Map<string, string>();
const port = parentPort!;

/** The main thread reads limit / in flight / waiting from shared memory (health, admin UI) without a round trip. */
function publish(l: Line): void {
  Atomics.store(l.stats, STAT.limit, l.slots.limit);
  Atomics.store(l.stats, STAT.inFlight, l.slots.inFlight);
  Atomics.store(l.stats, STAT.queued, l.slots.queued);
  Atomics.store(l.stats, STAT.maxInFlight, l.slots.maxInFlight);
}

function open(t: ThreadTenant): void {
  try {
    const line: Line = {
      slots: new ConcurrencyLimiter({ poolSize: t.poolSize }),
      pool: new Pool(new URL(t.baseUrl).origin, { connections: t.poolSize, keepAliveTimeout: 30_000 }),
      authorization: t.authorization,
      stats: new Int32Array(t.stats),
      cluster: t.cluster ?? false,
    };
    lines.set(t.id, line);
    broken.delete(t.id);
    publish(line);
  } catch (e) {
    broken.set(t.id, e instanceof Error ? e.message : String(e));
  }
}

/**
 * Gives a cluster slot back after the call's own limiter slot: that release starts this base's next
 * waiting call, which asks for a cluster slot within the same turn, so by the next one the slot is
 * handed to it here instead of going back to PostgreSQL and being claimed again (two round trips
 * and a NOTIFY per call otherwise).
 */
function freeCluster(clusterRelease: (() => Promise<void>) | undefined): void {
  if (clusterRelease) setImmediate(() => void clusterRelease());
}

async function call(m: Extract<ThreadRequest, { type: 'call' }>): Promise<ThreadReply> {
  const line = lines.get(m.tenant);
  if (!line) return { id: m.id, error: { code: 'ERR_TENANT', message: broken.get(m.tenant) ?? `tenant ${m.tenant} is not open` }, ms: 0 };
  let release: Release;
  const asked = performance.now();
  const waiting = line.slots.acquire(m.kind, { key: m.key, waitMs: m.waitMs });
  publish(line);
  try {
    release = await waiting;
  } catch (e) {
    publish(line);
    if (e instanceof LimiterTimeout) return { id: m.id, slotTimeout: true };
    throw e;
  }
  publish(line);
  let clusterRelease: (() => Promise<void>) | undefined;
  if (line.cluster) {
    // Our own limiter first (the AIMD limit, one client's writes at a time), then the cluster's slot, within what is left of the wait.
    const c = cluster;
    if (!c) {
      release('ok');
      publish(line);
      return { id: m.id, clusterRefused: { retryAfterSeconds: 2 } };
    }
    try {
      clusterRelease = await c.slots.acquire(m.tenant, { waitMs: m.waitMs === undefined ? undefined : Math.max(50, m.waitMs - (performance.now() - asked)) });
    } catch (e) {
      release('ok');
      publish(line);
      if (c.isWaitTimeout(e)) return { id: m.id, slotTimeout: true };
      return { id: m.id, clusterRefused: { retryAfterSeconds: c.retryAfter(e) ?? 2 } };
    }
  }
  const headers: Record<string, string> = { authorization: line.authorization, accept: 'application/json' };
  if (m.requestId) headers['x-regate-request-id'] = m.requestId;
  if (m.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  const started = performance.now();
  try {
    const res = await line.pool.request({ method: m.method, path: m.path, headers, body: m.body, headersTimeout: m.timeoutMs, bodyTimeout: m.timeoutMs });
    const text = await res.body.text();
    release(isOverload(res.statusCode, text) ? 'overload' : 'ok');
    freeCluster(clusterRelease);
    return { id: m.id, status: res.statusCode, text, ms: performance.now() - started };
  } catch (e) {
    const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : '';
    release(isTimeoutCode(code) ? 'overload' : 'ok');
    freeCluster(clusterRelease);
    return { id: m.id, error: { code, message: e instanceof Error ? e.message : String(e) }, ms: performance.now() - started };
  } finally {
    publish(line);
  }
}

port.on('message', (m: ThreadRequest) => {
  if (m.type === 'open') return open(m.tenant);
  if (m.type === 'cluster') {
    const opening = openCluster(m.spec).catch(() => {
      // The driver could not load: the cluster's calls stay refused (503), the others go on.
    });
    clusterOpening = opening;
    return;
  }
  if (m.type === 'call') {
    void call(m).then(
      (r) => port.postMessage(r),
      (e: unknown) => port.postMessage({ id: m.id, error: { code: 'ERR_THREAD', message: String(e) }, ms: 0 } satisfies ThreadReply),
    );
    return;
  }
  // close: answer nothing more; the pools' sockets go with the thread, the cluster's slots back to PostgreSQL.
  void Promise.allSettled([...lines.values()].map((l) => l.pool.close()))
    .then(() => clusterOpening)
    .then(() => cluster?.close())
    .catch(() => {})
    .then(() => port.postMessage({ closed: true }));
});
