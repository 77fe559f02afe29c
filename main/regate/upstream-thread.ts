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
import { isOverload, isTimeoutCode, STAT, type SlotWanted, type ThreadReply, type ThreadRequest, type ThreadTenant } from './upstream.ts';

interface Line {
  /** The base's session cap: in-process here (one gateway per base); see sessions.ts. */
  slots: SessionSlots;
  pool: Pool;
  authorization: string;
  stats: Int32Array;
  /** Each call also takes a slot of the base's cap shared by every gateway (the main thread holds the store). */
  cluster: boolean;
}

/** Calls waiting for the main thread's word on a cluster slot. */
const slotAsks = new Map<number, (verdict: 'ok' | 'timeout' | 'refused') => void>();

/** Asks the main thread for a cluster-wide slot (at most `waitMs`); this thread's own slot stays held meanwhile. */
function clusterSlot(id: number, tenant: string, waitMs: number | undefined): Promise<'ok' | 'timeout' | 'refused'> {
  return new Promise((resolve) => {
    slotAsks.set(id, resolve);
    port.postMessage({ slotWanted: id, tenant, ...(waitMs === undefined ? {} : { waitMs }) } satisfies SlotWanted);
  });
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
  if (line.cluster) {
    // Our own limiter first (the AIMD limit, one client's writes at a time), then the cluster's slot, within what is left of the wait.
    const left = m.waitMs === undefined ? undefined : Math.max(50, m.waitMs - (performance.now() - asked));
    const verdict = await clusterSlot(m.id, m.tenant, left);
    if (verdict !== 'ok') {
      release('ok');
      publish(line);
      return verdict === 'timeout' ? { id: m.id, slotTimeout: true } : { id: m.id, clusterRefused: true };
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
    return { id: m.id, status: res.statusCode, text, ms: performance.now() - started };
  } catch (e) {
    const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : '';
    release(isTimeoutCode(code) ? 'overload' : 'ok');
    return { id: m.id, error: { code, message: e instanceof Error ? e.message : String(e) }, ms: performance.now() - started };
  } finally {
    publish(line);
  }
}

port.on('message', (m: ThreadRequest) => {
  if (m.type === 'open') return open(m.tenant);
  if (m.type === 'slot') {
    const answer = slotAsks.get(m.id);
    slotAsks.delete(m.id);
    return answer?.(m.verdict);
  }
  if (m.type === 'call') {
    void call(m).then(
      (r) => port.postMessage(r),
      (e: unknown) => port.postMessage({ id: m.id, error: { code: 'ERR_THREAD', message: String(e) }, ms: 0 } satisfies ThreadReply),
    );
    return;
  }
  // close: answer nothing more; the pools' sockets go with the thread.
  void Promise.allSettled([...lines.values()].map((l) => l.pool.close())).then(() => port.postMessage({ closed: true }));
});
