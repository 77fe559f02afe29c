import type { Journal } from '../journal/index.ts';
import { ReadCache } from './cache.ts';
import { REGATE_METHODS, timeoutFor } from './methods.ts';
import { RegateProblem } from './problem.ts';
import { LimiterTimeout, type CallKind } from './sessions.ts';
import type { RegateTenant } from './tenants.ts';
import { Upstream, UpstreamFailure, type UpstreamAnswer, type UpstreamRequest, type UpstreamThread } from './upstream.ts';

/** One 1C base behind the gateway: its upstream (pool and cap), its cache, the last 1C outcome. */
export interface TenantRuntime {
  tenant: RegateTenant;
  upstream: Upstream;
  cache: ReadCache;
  /** The last 1C outcome: 'ok', or why not. */
  onec: 'ok' | 'degraded' | 'down';
}

/** `cluster`: the base's cap is shared with other gateways (PostgreSQL); each call also takes a cluster slot. */
export function tenantRuntime(tenant: RegateTenant, thread: UpstreamThread, journal?: Journal, opts: { cluster?: boolean } = {}): TenantRuntime {
  return { tenant, upstream: new Upstream(tenant, thread, journal, opts), cache: new ReadCache(), onec: 'ok' };
}

/** Forgets the tenant's cached reads a write made stale (1C paths; a trailing `*` covers every path starting so). */
export function forgetStale(t: TenantRuntime, paths: string[]): void {
  for (const p of paths) {
    if (p.endsWith('*')) t.cache.invalidate(`${t.tenant.id}:${p.slice(0, -1)}`);
    else t.cache.delete(`${t.tenant.id}:${p}`);
  }
}

/** How long a request waits for a slot of the cap before a read answers 503 and a write is queued. */
const SLOT_WAIT_MS = { read: 5000, write: 10_000 };

/**
 * Makes a 1C call inside the tenant's cap (waiting at most `waitMs` for a slot); its outcome steers
 * the AIMD limit (in the upstream thread) and the tenant's health. The one way every 1C call is
 * made: requests, pre-warming, queued writes.
 */
export async function underCap(tenant: TenantRuntime, kind: CallKind, call: UpstreamRequest, opts: { key?: string; waitMs?: number } = {}): Promise<UpstreamAnswer> {
  try {
    const r = await tenant.upstream.call(kind, call, opts);
    tenant.onec = 'ok';
    return r;
  } catch (e) {
    if (e instanceof UpstreamFailure) tenant.onec = e.kind === 'down' ? 'down' : 'degraded';
    throw e;
  }
}

/** A request's write found no slot in time: it is queued instead. */
export class SlotTimeout extends Error {}

/** A request's 1C call: a read that finds no slot in time is 503; a write throws SlotTimeout (it is queued). */
export async function limited(tenant: TenantRuntime, kind: CallKind, key: string | undefined, call: UpstreamRequest): Promise<UpstreamAnswer> {
  try {
    return await underCap(tenant, kind, call, { key, waitMs: SLOT_WAIT_MS[kind] });
  } catch (e) {
    if (!(e instanceof LimiterTimeout)) throw e;
    if (kind === 'write') throw new SlotTimeout();
    throw new RegateProblem(503, 'onec_busy', '1С занята', 'Все сеансы 1С заняты; повторите позже', { retryAfterSeconds: 5 });
  }
}

/** 1C said no (404 unknown store, 409 already paid, 422 amount ≠ sum): its words and particulars, our shape. */
export function businessProblem(answer: { status: number; body: unknown }): RegateProblem {
  const b = answer.body !== null && typeof answer.body === 'object' ? answer.body : {};
  const field = (name: string): unknown => (Object.hasOwn(b, name) ? Reflect.get(b, name) : undefined);
  const code = field('code');
  const detail = String(field('detail') ?? field('message') ?? 'отказ 1С');
  return new RegateProblem(answer.status, typeof code === 'string' ? code : `onec_${answer.status}`, String(field('title') ?? 'Отказ 1С'), detail, { retryable: false, details: field('details') });
}

/** A write's final outcome from 1C's answer: done with its body, or failed with the problem made of its refusal. */
export function writeOutcome(answer: { status: number; body: unknown }): { state: 'done' | 'failed'; status: number; answer: unknown; problem?: RegateProblem } {
  if (answer.status < 400) return { state: 'done', status: answer.status, answer: answer.body };
  const problem = businessProblem(answer);
  return { state: 'failed', status: answer.status, answer: problem.stored(), problem };
}

/** A read of `path` for pre-warming: through the cap, a read's share; a refusal fails it. */
async function load(t: TenantRuntime, method: 'city' | 'citystore' | 'assortment', path: string): Promise<unknown> {
  const a = await underCap(t, 'read', { method: 'GET', path, timeoutMs: timeoutFor(t.tenant, method, 'read') });
  if (a.status >= 400) throw businessProblem(a);
  return a.body;
}

/** The `items` of a list 1C answered, as the ids pre-warming walks. */
function ids(list: unknown): string[] {
  const items = list !== null && typeof list === 'object' && 'items' in list && Array.isArray(list.items) ? list.items : [];
  return items.flatMap((i: unknown) => (i !== null && typeof i === 'object' && 'id' in i && typeof i.id === 'string' ? [i.id] : []));
}

/**
 * Reads the first assortment page of every store of a tenant into the cache, one call at a time
 * (a read share of the cap, never the crowd's): hundreds of callers then find it fresh. The paths
 * and cache keys are the methods' own (methods.ts), so requests find what was read here. An
 * aborted `signal` (a stop) ends it between stores.
 */
export async function prewarm(t: TenantRuntime, signal?: AbortSignal): Promise<number> {
  const key = (path: string) => `${t.tenant.id}:${path}`;
  const { city, citystore, assortment } = REGATE_METHODS;
  const path = {
    cities: city.onec({ params: {}, query: {}, body: undefined }),
    stores: (cityId: string) => citystore.onec({ params: { cityId }, query: {}, body: undefined }),
    assortment: (storeId: string) => assortment.onec({ params: { storeId }, query: {}, body: undefined }),
  };
  const cities = await t.cache.get(key(path.cities), city.policy, () => load(t, 'city', path.cities));
  let warmed = 0;
  for (const cityId of ids(cities.value)) {
    const stores = await t.cache.get(key(path.stores(cityId)), citystore.policy, () => load(t, 'citystore', path.stores(cityId)));
    for (const storeId of ids(stores.value)) {
      if (signal?.aborted) return warmed; // a stop: what is warmed stays, the rest waits for the next run
      await t.cache.refresh(key(path.assortment(storeId)), () => load(t, 'assortment', path.assortment(storeId)));
      warmed++;
    }
  }
  return warmed;
}
