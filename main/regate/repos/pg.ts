import { DeliveryError } from '../../errors.ts';
import { PgStore, PgUnavailable } from '../postgres/connection.ts';
import { PgIdempotency } from '../postgres/idempotency.ts';
import type { PgRegate } from '../postgres/index.ts';
import { instanceOrigin, newInstanceId, PgInstances } from '../postgres/instances.ts';
import { RenewalHealth } from '../postgres/leases.ts';
import { PgLoginThrottle } from '../postgres/logins.ts';
import { migrate } from '../postgres/migrations.ts';
import { PgNotifications } from '../postgres/notifications.ts';
import { PgWriteQueue, QUEUE_CHANNEL, type PgQueueItem } from '../postgres/queue.ts';
import { PgQuota } from '../postgres/quota.ts';
import { RegateProblem } from '../problem.ts';
import type { RegateRepos } from './index.ts';
import { MemoryLoginThrottle, MemoryQuotaWindows } from './memory-limits.ts';
import {
  toRecord,
  type Begin,
  type BeginInput,
  type CacheChanges,
  type Deliver,
  type IdempotencyRepo,
  type InstanceInfo,
  type LoginThrottle,
  type QueueConsumer,
  type QuotaWindows,
  type StoreHealth,
  type WriteQueue,
  type WriteResult,
} from './types.ts';

/**
 * ReGate's repositories on a PostgreSQL shared by several gateways (main/regate/postgres/ holds the
 * tables and their statements; this file puts them behind the gateway's interfaces):
 * - keys by Idempotency-Key with the sending instance and its lease; a dead instance's writes are
 *   put back in their line after the lease and sent again with the same request id; an instance that
 *   lives but lost PostgreSQL for longer sends nothing more under its lapsed lease, and what it still
 *   stores about the write (outcome, forget, hand-over to the queue) is fenced by the lease's token:
 *   after a takeover it changes nothing (logged), the key keeps the taker's result;
 * - the queue of writes, claimed by any instance, one at a time per client or order;
 * - a write whose client or order is busy on another instance queues behind it (202), so two
 *   writes of one line are never in 1C at once, whichever instances took them;
 * - the session cap per 1C base across the instances (PgSessionSlots, opened by the upstream
 *   thread from `cluster`: taken and given back there, next to the 1C call);
 * - quota windows and failed logins counted together;
 * - cache invalidations sent to every instance (NOTIFY), and every cache flushed when the LISTEN
 *   connection comes back from a break (what was sent meanwhile is lost).
 *
 * PostgreSQL away: every store call fails at once with the 503 problem (Retry-After); quota and
 * logins fall back to this instance's own counts meanwhile (cached reads still answer).
 */

export const CACHE_CHANNEL = 'regate_cache_stale';

/** How long an address's login check (blocked or not, its failures) is taken as known without asking PostgreSQL again. */
const LOGIN_CHECK_MS = 1000;

/**
 * How long an instance that stopped beating stays listed (and in regate_instances): long enough for
 * the operator to see that one died and when; a clean stop removes its row at once.
 */
const INSTANCES_KEPT_MS = 3_600_000;

/** NOTIFY's payload is limited to 8000 bytes: a longer list of stale paths is sent as "everything of the tenant". */
const MAX_PAYLOAD = 7000;

export interface PgReposOptions {
  url: string;
  password?: string;
  /** Connections of this instance's pool. */
  connections: number;
  /** Running writes and claimed queue items: another instance takes them this long after their last renewal. Session slots: half of it. */
  leaseMs: number;
  /** Each tenant's cluster-wide ceiling (poolSize − 1). */
  ceilings: Array<[tenant: string, ceiling: number]>;
  /** How often an idle consumer looks at the queue besides NOTIFY (default 1000 ms). */
  pollMs?: number;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** What the repositories use of PostgreSQL (main/regate/postgres/); the session slots live on the upstream thread (ClusterSpec). */
type Pg = Omit<PgRegate, 'slots' | 'close'>;

export interface PgRepos extends RegateRepos {
  pg: Pg;
  /** Connects and migrates in the background (retrying while PostgreSQL is away); resolves when done or after `waitMs`, whichever first. */
  start(waitMs: number): Promise<void>;
  /** Whether the schema is in place and the repositories may be used. */
  readonly ready: boolean;
  instances(): Promise<InstanceInfo[]>;
  close(): Promise<void>;
}

/** The problem a caller gets while the store is away (the reason, with the server's address, stays in health and the log). */
function storeProblem(e: PgUnavailable | null): RegateProblem {
  return new RegateProblem(503, 'store_unavailable', 'Хранилище ReGate недоступно', e ? 'Общее хранилище шлюзов (PostgreSQL) недоступно; повторите позже' : 'Шлюз ещё подключается к общему хранилищу (PostgreSQL); повторите позже', {
    retryAfterSeconds: e?.retryAfterSeconds ?? 2,
  });
}

const asProblem = (e: unknown): unknown => (e instanceof PgUnavailable ? storeProblem(e) : e);

export function pgRepos(opts: PgReposOptions): PgRepos {
  const instanceId = newInstanceId();
  const store = new PgStore({ url: opts.url, password: opts.password, max: opts.connections, applicationName: `sputnik-regate ${instanceId}`.slice(0, 63) });
  const common = {
    instanceId,
    leaseMs: opts.leaseMs,
    // One per instance: while its renewals fail, neither its writes nor its queue claim anything new.
    renewals: new RenewalHealth(),
    onRenewError: (e: unknown) => opts.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'regate: a lease was not renewed (PostgreSQL away?)'),
  };
  const pg: Pg = {
    instanceId,
    store,
    notifications: new PgNotifications(store),
    instances: new PgInstances(store, instanceId),
    idempotency: new PgIdempotency(store, common),
    queue: new PgWriteQueue(store, common),
    quota: new PgQuota(store),
    logins: new PgLoginThrottle(store),
  };
  let ready = false;
  const startedAt = Date.now();
  /** Runs `fn` on the store; before the schema is in place, or with PostgreSQL away, the 503 problem. */
  const use = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!ready) throw storeProblem(null);
    try {
      return await fn();
    } catch (e) {
      throw asProblem(e);
    }
  };

  /** A late word of this instance about a write another instance took over: not stored, only said. */
  const notOurs = (id: number, what: string) =>
    opts.log?.warn({ write: id }, `regate: ${what} came after the write was taken over by another instance (its lease had run out): nothing changed, the key keeps the other's result`);

  const idempotency: IdempotencyRepo = {
    begin: (input: BeginInput) =>
      use(async (): Promise<Begin> => {
        const b = await pg.idempotency.begin({ tenant: input.tenant, key: input.key, method: input.verb, path: input.path, body: input.body, orderKey: input.line, methodName: input.method });
        return { kind: b.kind, record: toRecord(b.record), lineBusy: b.lineBusy };
      }),
    // Not stored because PostgreSQL is away (503): after its lease the write is sent again with its request id, and 1C's register answers with what it did.
    finish: async (id: number, result: WriteResult) => {
      if (!(await use(() => pg.idempotency.finish(id, result.state, result.status, result.answer)))) notOurs(id, 'its outcome');
    },
    forget: async (id: number) => {
      if (!(await use(() => pg.idempotency.forget(id)))) notOurs(id, 'freeing its key');
    },
    get: (id: number) => use(async () => {
      const r = await pg.idempotency.get(id);
      return r && toRecord(r);
    }),
    // On PostgreSQL's clock: every instance agrees when 72 h are over.
    prune: (_now: number, batch?: number) => use(() => pg.idempotency.prune(batch)),
  };

  const queue: WriteQueue = {
    // A write whose lease may have run out by this instance's clock (PostgreSQL slow or away since it
    // was recorded) is not sent from here: it is queued, if it is still ours, like one of a busy line.
    busy: async (write, lineBusy) => {
      try {
        return (lineBusy ?? (await use(() => pg.queue.busyElsewhere(write.tenant, write.line)))) || !pg.idempotency.holds(write.id);
      } catch (e) {
        // The caller gets 503 and nobody sends the write from here: it must not stay under a lease this
        // instance renews (the key would say 409 forever). Its lease runs out, it is put back in its line
        // and sent with its request id.
        pg.idempotency.abandon(write.id);
        throw e;
      }
    },
    enqueue: async (write) => {
      // This instance no longer sends it either way: queued under its lease, or not stored (its lease then runs out).
      const lease = pg.idempotency.handOff(write.id);
      if (!lease || !(await use(() => pg.queue.enqueue(write.id, lease)))) notOurs(write.id, 'queueing it');
    },
    // A dead instance's writes (running, lease out) back in their line; never the ones this instance is sending.
    requeueInterrupted: () => use(() => pg.queue.requeueExpired({ exclude: pg.idempotency.sending })),
    counts: () => use(() => pg.queue.counts()),
    consumer: (deliver, concurrency): QueueConsumer => ({
      kind: 'self',
      start: () => new PgQueueConsumer(pg, deliver, { concurrency, pollMs: opts.pollMs ?? 1000, maintainMs: Math.max(250, Math.round(opts.leaseMs / 3)), ready: () => ready, log: opts.log }).start(),
    }),
  };

  // While PostgreSQL is away, quota and failed logins are counted by this instance alone: the
  // gateway keeps answering cached reads rather than failing every request at the door.
  const localQuota = new MemoryQuotaWindows();
  const quota: QuotaWindows = {
    hit: async (tenant, limit) => {
      if (!ready) return localQuota.hit(tenant, limit);
      try {
        return await pg.quota.hit(tenant, limit);
      } catch (e) {
        if (e instanceof PgUnavailable) return localQuota.hit(tenant, limit);
        throw e;
      }
    },
  };
  const localLogins = new MemoryLoginThrottle();
  const shared = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, local: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (!ready) return local(...a);
      try {
        return await fn(...a);
      } catch (e) {
        if (e instanceof PgUnavailable) return local(...a);
        throw e;
      }
    };
  // Every request's login is checked; asking PostgreSQL each time would cost a round trip per cached
  // page. An address's answer is kept for a second: any failure or success here asks again at once,
  // so only a block made on another instance reaches this one up to a second late.
  const checkShared = shared((ip: string) => pg.logins.check(ip), (ip) => localLogins.check(ip));
  const checked = new Map<string, { at: number; state: { blocked: boolean; failures: number } }>();
  // The check under way per address: callers that come while it is asked share its answer (a
  // balancer's address sends dozens of requests in the time one check takes, and each asked again).
  // A failure or success here drops it: a check that left before must not answer the ones after.
  const asking = new Map<string, Promise<{ blocked: boolean; failures: number }>>();
  const logins: LoginThrottle = {
    check: (ip) => {
      const known = logins.checkNow(ip);
      if (known) return Promise.resolve(known);
      const now = performance.now();
      const pending = asking.get(ip);
      if (pending) return pending;
      const p = checkShared(ip).then(
        (state) => {
          if (asking.get(ip) === p) {
            asking.delete(ip);
            checked.delete(ip); // re-inserted last: Map order is the eviction order
            checked.set(ip, { at: now, state });
            if (checked.size > 10_000) checked.delete(checked.keys().next().value!);
          }
          return state;
        },
        (e: unknown) => {
          if (asking.get(ip) === p) asking.delete(ip);
          throw e;
        },
      );
      asking.set(ip, p);
      return p;
    },
    checkNow: (ip) => {
      const known = checked.get(ip);
      return known && performance.now() - known.at < LOGIN_CHECK_MS ? known.state : undefined;
    },
    failed: (ip) => {
      checked.delete(ip);
      asking.delete(ip);
      return shared((a: string) => pg.logins.failed(a), (a) => localLogins.failed(a))(ip);
    },
    succeeded: (ip) => {
      checked.delete(ip);
      asking.delete(ip);
      return shared((a: string) => pg.logins.succeeded(a), (a) => localLogins.succeeded(a))(ip);
    },
  };

  const changes = new PgCacheChanges(pg);

  const health = (): StoreHealth => {
    const h = pg.store.health;
    if (h.state !== 'up') return { kind: 'postgres', state: h.state, since: h.since, reason: h.reason };
    if (!ready) return { kind: 'postgres', state: 'reconnecting', since: startedAt, reason: 'Подключение к PostgreSQL и обновление схемы' };
    return { kind: 'postgres', state: 'up', since: null, reason: null };
  };

  // The instance beats every third of the lease, as its leases are renewed: health calls it alive
  // while its last beat is within the lease, the span after which the others take its writes over.
  const keptMs = Math.max(INSTANCES_KEPT_MS, opts.leaseMs * 4);
  let beating: NodeJS.Timeout | undefined;
  let beat: Promise<unknown> | undefined;
  // One at a time: beats into a PostgreSQL that stalls must not pile up and take the whole pool.
  const doBeat = () => (beat ??= pg.instances.beat().catch(() => undefined).finally(() => (beat = undefined))); // PostgreSQL away: the store's health says so
  const instances = async (): Promise<InstanceInfo[]> => {
    const list = await use(() => pg.instances.list({ leaseMs: opts.leaseMs, withinMs: keptMs }));
    return list.map((i) => ({ id: i.id, ...instanceOrigin(i.id), self: i.id === instanceId, alive: i.alive, startedAt: i.startedAt, seenAt: i.heartbeatAt, slots: i.slots, writes: i.writes }));
  };

  let starting: Promise<void> | undefined;
  let closed = false;
  const connect = async (): Promise<void> => {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await pg.store.ready();
        const m = await migrate(pg.store);
        if (m.from !== m.to) opts.log?.info({ from: m.from, to: m.to }, 'regate: PostgreSQL schema migrated');
        await doBeat();
        if (closed) return;
        beating = setInterval(() => void doBeat(), Math.max(250, Math.round(opts.leaseMs / 3)));
        beating.unref();
        ready = true;
        return;
      } catch (e) {
        if (closed) return;
        // PostgreSQL away (the probe brings it back) or a schema from a newer ReGate (said in the log and health until fixed).
        opts.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'regate: PostgreSQL not ready');
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))).unref());
      }
    }
  };

  return {
    pg,
    get ready() {
      return ready;
    },
    idempotency,
    queue,
    quota,
    logins,
    changes,
    store: health,
    instances,
    // The upstream thread opens its own pool for the slots (a slot is taken and given back there, next to the 1C call).
    cluster: { url: opts.url, password: opts.password, instanceId, leaseMs: Math.max(1000, Math.round(opts.leaseMs / 2)), ceilings: opts.ceilings, connections: 4 },
    async housekeeping(): Promise<Record<string, number>> {
      if (!ready) return {};
      return { regate_quota: await pg.quota.prune(), regate_failed_logins: await pg.logins.prune(), regate_instances: await pg.instances.prune(keptMs) };
    },
    start(waitMs) {
      starting ??= connect();
      return Promise.race([starting, new Promise<void>((r) => setTimeout(r, waitMs).unref())]);
    },
    async close() {
      closed = true;
      clearInterval(beating);
      changes.close();
      pg.idempotency.close();
      pg.queue.close();
      // A clean stop leaves the list at once rather than showing as dead for an hour.
      if (ready) await pg.instances.leave().catch(() => undefined);
      await pg.notifications.close();
      await pg.store.close();
    },
  };
}

/**
 * Invalidations over NOTIFY: this instance's caches forget at once, the others when they hear it
 * (their own notifications included: this instance skips its own). A LISTEN connection that comes
 * back from a break may have missed some, so every cache forgets everything then.
 */
class PgCacheChanges implements CacheChanges {
  readonly #pg: Pg;
  readonly #subscribers = new Set<{ stale(tenant: string, paths: string[]): void; all(): void }>();
  readonly #off: Array<() => void>;

  constructor(pg: Pg) {
    this.#pg = pg;
    this.#off = [
      pg.notifications.on(CACHE_CHANNEL, (payload) => {
        const change = parseChange(payload);
        if (!change || change.from === pg.instanceId) return;
        for (const s of this.#subscribers) s.stale(change.tenant, change.paths);
      }),
      pg.notifications.onReconnect(() => {
        for (const s of this.#subscribers) s.all();
      }),
    ];
  }

  async publish(tenant: string, paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    for (const s of this.#subscribers) s.stale(tenant, paths);
    let payload = JSON.stringify([this.#pg.instanceId, tenant, paths]);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify([this.#pg.instanceId, tenant, ['*']]);
    await this.#pg.notifications.notify(CACHE_CHANNEL, payload);
  }

  subscribe(on: { stale(tenant: string, paths: string[]): void; all(): void }): () => void {
    this.#subscribers.add(on);
    return () => void this.#subscribers.delete(on);
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
  }
}

function parseChange(payload: string): { from: string; tenant: string; paths: string[] } | null {
  try {
    const v: unknown = JSON.parse(payload);
    if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string' || !Array.isArray(v[2])) return null;
    return { from: v[0], tenant: v[1], paths: v[2].filter((p): p is string => typeof p === 'string') };
  } catch {
    return null;
  }
}

/**
 * The queue's consumer on PostgreSQL: claims the heads of the lines (at most `concurrency` in
 * flight) when NOTIFY says something may be claimable and at every poll, delivers each to 1C with
 * its request id, stores 1C's final word and completes the item; a failed attempt goes back in its
 * place after the backoff. Every third of the lease it puts the writes of dead instances back in
 * their lines (requeueExpired), so they are finished by whoever is alive.
 */
class PgQueueConsumer {
  readonly #pg: Pg;
  readonly #deliver: Deliver;
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #maintainMs: number;
  readonly #ready: () => boolean;
  readonly #log: PgReposOptions['log'];
  readonly #running = new Map<number, Promise<void>>();
  readonly #off: Array<() => void> = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #pumping = false;
  #again = false;
  #maintaining = false;
  #stopped = false;

  constructor(pg: Pg, deliver: Deliver, opts: { concurrency: number; pollMs: number; maintainMs: number; ready: () => boolean; log?: PgReposOptions['log'] }) {
    this.#pg = pg;
    this.#deliver = deliver;
    this.#concurrency = opts.concurrency;
    this.#pollMs = opts.pollMs;
    this.#maintainMs = opts.maintainMs;
    this.#ready = opts.ready;
    this.#log = opts.log;
  }

  start(): () => Promise<void> {
    this.#off.push(
      this.#pg.notifications.on(QUEUE_CHANNEL, () => void this.#pump()),
      this.#pg.notifications.onReconnect(() => void this.#pump()),
    );
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#pollMs, () => void this.#pump());
    every(this.#maintainMs, () => void this.#maintain());
    void this.#pump();
    return () => this.#stop();
  }

  /** Dead instances' writes back in their lines. */
  async #maintain(): Promise<void> {
    // One round at a time: rounds into a PostgreSQL that stalls must not pile up and take the whole pool.
    if (this.#stopped || !this.#ready() || this.#maintaining) return;
    this.#maintaining = true;
    try {
      const n = await this.#pg.queue.requeueExpired({ exclude: this.#pg.idempotency.sending });
      if (n > 0) this.#log?.info({ writes: n }, 'regate: writes of a stopped instance put back in line');
    } catch {
      // PostgreSQL away: the next round tries again.
    } finally {
      this.#maintaining = false;
    }
  }

  async #pump(): Promise<void> {
    if (this.#stopped || !this.#ready()) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        const free = this.#concurrency - this.#running.size;
        if (free <= 0) break;
        const items = await this.#pg.queue.claim(free);
        for (const item of items) this.#run(item);
        // Every one asked for came: there may be more.
        if (items.length === free) this.#again = true;
      } while (this.#again && !this.#stopped);
    } catch {
      // PostgreSQL away: the next poll or NOTIFY tries again.
    } finally {
      this.#pumping = false;
    }
  }

  #run(item: PgQueueItem): void {
    const id = item.requestId;
    const p = this.#send(item)
      .catch((e: unknown) => {
        // The outcome could not be stored (PostgreSQL away): the claim's lease runs out and the write is sent again with its request id.
        this.#log?.warn({ write: id, err: e instanceof Error ? e.message : String(e) }, 'regate: a queued write was not completed');
      })
      .finally(() => {
        // Unless claimed again meanwhile (that run settles it): a run that ended without settling its
        // claim (a statement failed before the write was sent or completed) gives it up — renewed, it
        // would hold the write and its line forever; it runs out and the item is claimed again. After
        // a stop, releaseAll gives such claims back.
        if (this.#running.get(id) === p) {
          this.#running.delete(id);
          if (!this.#stopped) this.#pg.queue.abandon(id);
        }
        void this.#pump();
      });
    this.#running.set(id, p);
  }

  async #send(item: PgQueueItem): Promise<void> {
    const { idempotency, queue } = this.#pg;
    const id = item.requestId;
    const r = await idempotency.get(id);
    if (!r || r.state === 'done' || r.state === 'failed') {
      // Finished by an instance that died before completing the item (or the key was forgotten).
      await queue.complete(id);
      return;
    }
    if (!queue.holds(id)) {
      // Its claim ran out by this instance's clock while it looked (PostgreSQL slow): another instance may hold it now; not sent from here.
      queue.abandon(id);
      return;
    }
    let result: WriteResult;
    try {
      result = await this.#deliver(toRecord(r));
    } catch (e) {
      if (this.#stopped) return; // a stop cut it short: released for the others below
      if (e instanceof DeliveryError && e.outcome === 'refused') {
        result = { state: 'failed', status: 502, answer: new RegateProblem(502, e.code, 'Запись не выполнена', e.message, { retryable: false }).stored() };
      } else {
        await queue.fail(id, e instanceof Error ? e.message : String(e));
        return;
      }
    }
    // The outcome and the item's end in one statement, only while the claim is still ours.
    if (!(await queue.complete(id, result))) {
      this.#log?.warn({ write: id }, 'regate: a queued write\'s outcome came after its claim had run out and was taken by another instance: nothing changed, the key keeps the other\'s result');
    }
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    for (const off of this.#off.splice(0)) off();
    for (const t of this.#timers.splice(0)) clearInterval(t);
    // Writes in 1C now end (their answers are stored) or, after a few seconds, are given back: another instance sends them again with their request id.
    await Promise.race([Promise.allSettled(this.#running.values()), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.#pg.queue.releaseAll().catch(() => 0);
  }
}
