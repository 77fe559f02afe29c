import type { FastifyInstance } from 'fastify';
import { hostname } from 'node:os';
import { listen } from '../core/listen.ts';
import type { ModuleFactory } from '../core/module.ts';
import type { Journal } from '../journal/index.ts';
import type { HealthBody } from '../core/health-shape.ts';
import { toOnecDateTime } from '../listener/onec-values.ts';
import { errorMessage } from '../unknown.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorWorkers } from '../store/worker-pool.ts';
import { createRegateApp } from './app.ts';
import { regateAttention } from './attention.ts';
import type { FreshHits } from './fresh-hits.ts';
import { deliverQueued } from './deliver.ts';
import { ceilingOf } from './limiter.ts';
import { forgetStale, prewarm, tenantRuntime, type TenantRuntime } from './onec.ts';
import { localRepos, type InstanceInfo, type QueueConsumer, type RegateRepos, type StoreHealth } from './repos/index.ts';
import type { RegateConfig } from './tenants.ts';
import { UpstreamThread } from './upstream.ts';

type RegateHealth = NonNullable<HealthBody['regate']>;

/** How long a start waits for a shared store before the gateway serves anyway (503 for what needs the store, until it is there). */
const PG_START_WAIT_MS = 15_000;

export interface RegateRuntime {
  tenants: Map<string, TenantRuntime>;
  /**
   * Runs the writes that were queued while 1C was down, in order per client and per order: the
   * core's worker pool runs it (an idle lane when the queue runs itself, as on PostgreSQL).
   */
  workers: ConnectorWorkers;
  /** Per-tenant state for Sputnik's health and the window; queued writes as of the last count (each call counts again). */
  health(): RegateHealth;
  /** The same with the queued writes counted now (GET /regate/v1/health). */
  healthNow(): Promise<RegateHealth>;
  /** The store's state now (SQLite: Sputnik's own; PostgreSQL: shared, and reconnected by itself). */
  store(): StoreHealth;
  /** Forgets keys older than 72 h (and, on PostgreSQL, ended quota windows and old failed logins); rows removed per table. */
  housekeeping(now: number): Promise<Record<string, number>>;
  /**
   * Reads a tenant's store assortments into its cache (one pre-warm run; the schedule is the
   * recurring job `regate:prewarm:<tenant>`, see regateModule). Waits for the gateway to serve
   * (on PostgreSQL its cluster slots are wired at start); 0 when it stopped first or `signal` aborted.
   */
  prewarm(tenantId: string, signal?: AbortSignal): Promise<number>;
  /** Starts the HTTPS listener (on PostgreSQL: connects and migrates first, waiting a while); resolves with its address, its app and its fresh hits (fresh-hits.ts). */
  listen(): Promise<{ app: FastifyInstance; url: string; fresh: FreshHits }>;
  stop(): Promise<void>;
}

const IDLE_LANE: ConnectorWorkers = { connector: 'regate', concurrency: 1, handle: async () => {} };

export function createRegate(deps: { config: () => RegateConfig; store: Store; journal?: Journal; repos?: RegateRepos; log?: Logger }): RegateRuntime {
  const cfg = deps.config();
  // On PostgreSQL the repositories are opened at start (listen): the driver loads only then.
  const shared = !deps.repos && cfg.store.kind === 'postgres';
  const cluster = shared || Boolean(deps.repos?.cluster);
  // The tenants' caps and pools run on their own thread, started by the first 1C call.
  const thread = new UpstreamThread();
  const tenants = new Map(cfg.tenants.map((t) => [t.id, tenantRuntime(t, thread, deps.journal, { cluster })]));
  const concurrency = Math.max(1, ...[...tenants.values()].map((t) => t.upstream.ceiling));
  let repos: RegateRepos | undefined;
  let consumer: QueueConsumer | undefined;
  /** Wires a store's repositories: its cache changes into the tenants' caches, its cluster slots into the thread, its queue's consumer. */
  const attach = (r: RegateRepos) => {
    repos = r;
    r.changes.subscribe({
      stale: (tenant, paths) => {
        const t = tenants.get(tenant);
        if (t) forgetStale(t, paths);
      },
      all: () => tenants.forEach((t) => t.cache.clear()),
    });
    if (r.cluster) thread.useCluster(r.cluster);
    consumer = r.queue.consumer(deliverQueued(tenants, r.changes), concurrency);
  };
  if (!shared) attach(deps.repos ?? localRepos(deps.store));
  let stopConsumer: (() => Promise<void>) | undefined;
  // Pre-warming starts once the gateway serves (true) and never after a stop (false); a stop also ends a run under way.
  const serving = Promise.withResolvers<boolean>();
  const stopping = new AbortController();
  const untilServing = (signal: AbortSignal) =>
    signal.aborted
      ? Promise.resolve(false)
      : new Promise<boolean>((resolve) => {
          const onAbort = () => resolve(false);
          signal.addEventListener('abort', onAbort, { once: true });
          void serving.promise.then((ok) => {
            signal.removeEventListener('abort', onAbort);
            resolve(ok);
          });
        });
  let app: FastifyInstance | undefined;
  let url: string | null = null;
  let closing: Promise<void> | undefined;

  let queued = new Map<string, number>();
  let counting: Promise<Map<string, number>> | undefined;
  const count = () =>
    (counting ??= (repos ? repos.queue.counts() : Promise.resolve(queued))
      .then((c) => (queued = c))
      .finally(() => (counting = undefined)));
  // The instances sharing the store, as of the last listing (each health call lists again, one at a
  // time, as it counts the queue); one gateway on its own store is the only one, and says so now.
  const startedAt = Date.now();
  let listed: InstanceInfo[] = [];
  let listing: Promise<unknown> | undefined;
  const list = () => {
    if (!repos?.instances) return;
    listing ??= repos
      .instances()
      .then((l) => (listed = l), () => undefined) // the store away: the last list, and its state says why
      .finally(() => (listing = undefined));
  };
  const instances = (): InstanceInfo[] => {
    if (repos && !repos.instances) {
      const inFlight = [...tenants.values()].reduce((n, t) => n + t.upstream.inFlight, 0);
      return [{ id: `${hostname()}/${process.pid}`, host: hostname(), pid: process.pid, self: true, alive: true, startedAt, seenAt: null, slots: inFlight, writes: null }];
    }
    return listed;
  };
  const storeHealth = (): StoreHealth => repos?.store() ?? { kind: cfg.store.kind, state: 'reconnecting', since: null, reason: 'Шлюз ещё не запущен' };
  const snapshot = (): RegateHealth => {
    const s = storeHealth();
    return {
      url,
      tenants: Object.fromEntries(
        [...tenants.values()].map((t) => [
          t.tenant.id,
          { onec: t.onec, limit: t.upstream.limit, inFlight: t.upstream.inFlight, waiting: t.upstream.queued, queuedWrites: queued.get(t.tenant.id) ?? 0, cacheHitRate: Math.round(t.cache.hitRate * 100) / 100 },
        ]),
      ),
      store: { kind: s.kind, state: s.state, since: s.since === null ? null : toOnecDateTime(s.since), reason: s.reason },
      instances: instances().map((i) => ({ ...i, startedAt: toOnecDateTime(i.startedAt), seenAt: i.seenAt === null ? null : toOnecDateTime(i.seenAt) })),
    };
  };

  const runtime: RegateRuntime = {
    tenants,
    get workers() {
      return consumer?.kind === 'workers' ? consumer.workers : IDLE_LANE;
    },
    store: () => storeHealth(),
    health() {
      count().catch(() => {}); // the next health has it; a failed count keeps the last one
      list();
      return snapshot();
    },
    async healthNow() {
      // The store away: the last count, and the store's state says why it is not newer.
      await count().catch(() => {});
      return snapshot();
    },
    async housekeeping(now) {
      if (!repos || repos.store().state !== 'up') return {};
      return { regate_requests: await repos.idempotency.prune(now), ...(await repos.housekeeping?.()) };
    },
    async listen() {
      const c = deps.config();
      if (!repos) {
        const { pgRepos } = await import('./repos/pg.ts');
        const ceilings = new Map(c.tenants.map((t) => [t.id, ceilingOf(t.poolSize)]));
        const r = pgRepos({
          url: c.store.url ?? '',
          password: c.store.password,
          connections: c.store.connections,
          leaseMs: c.store.leaseSeconds * 1000,
          ceilings: [...ceilings],
          log: deps.log,
        });
        attach(r);
        await r.start(PG_START_WAIT_MS);
        if (!r.ready) deps.log?.warn({ reason: r.store().reason }, 'regate: serving without PostgreSQL for now (503 for writes and uncached reads until it answers)');
      }
      const r = repos!;
      // Writes a dead process was sending go back in line (on PostgreSQL: only those whose instance's lease ran out; the queue's rounds repeat it).
      if (r.store().kind === 'sqlite') await r.queue.requeueInterrupted();
      else await r.queue.requeueInterrupted().catch(() => 0);
      const made = await createRegateApp({ config: c, journal: deps.journal, tenants, repos: r, health: () => runtime.healthNow() });
      app = made.app;
      const a = await listen(app, c.host, c.port, 'ReGate', 'regate.port');
      url = `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
      if (consumer?.kind === 'self') stopConsumer = consumer.start();
      serving.resolve(true);
      return { app, url, fresh: made.fresh };
    },
    async prewarm(tenantId, signal) {
      const t = tenants.get(tenantId);
      const cut = signal ? AbortSignal.any([signal, stopping.signal]) : stopping.signal;
      if (!t || !(await untilServing(cut))) return 0;
      // A call a stop cut short is no failure of the pre-warm.
      return prewarm(t, cut).catch((e: unknown) => {
        if (cut.aborted) return 0;
        throw e;
      });
    },
    stop() {
      closing ??= (async () => {
        stopping.abort();
        serving.resolve(false);
        await stopConsumer?.();
        await app?.close();
        await thread.close();
        await repos?.close?.();
      })();
      return closing;
    },
  };
  return runtime;
}

/**
 * The recurring job that pre-warms a tenant's cache, and its outbox connector: a lane of its own per
 * tenant, so a pre-warm (one 1C read after another, for as long as the base takes) never holds a
 * slot of the queued writes' lane, of another base's pre-warm or of the core's housekeeping.
 */
export const prewarmKey = (tenantId: string) => `regate:prewarm:${tenantId}`;
/** Its lane: an outbox connector's name is `[a-z][a-z0-9_]*`, so a tenant id's `_` and `-` are spelled `__` and `_d` (two ids, two lanes). */
export const prewarmLane = (tenantId: string) => `regate_prewarm_${tenantId.replace(/[_-]/g, (c) => (c === '_' ? '__' : '_d'))}`;

/** ReGate as a core module: its listener, the worker for queued writes and the pre-warming (off unless regate.enabled). */
export const regateModule: ModuleFactory = (ctx) => {
  const log: Logger = ctx.log;
  const regate = createRegate({ config: () => ctx.config().regate, store: ctx.store, journal: ctx.journal, log });
  // Pre-warming is a recurring outbox job per tenant, in this instance's own store: the cache it
  // fills is this instance's, so with several instances on PostgreSQL each warms its own (the job
  // is never shared). A failed run is logged and the next one waits its interval, as before: it is
  // no delivery, so it does not make a connector failing (the base's own state, `onec` in the
  // health, says when 1C does not answer) nor retry on the outbox's backoff, sooner than asked.
  // A tenant no longer configured has no lane: its job stays queued and never runs.
  const prewarmSeconds = (id: string) => ctx.config().regate.tenants.find((t) => t.id === id)?.prewarmSeconds ?? 0;
  const prewarmJobs = [...regate.tenants.keys()].map((id) =>
    ctx.recurring<number>({
      connector: prewarmLane(id),
      key: prewarmKey(id),
      enabled: () => ctx.config().regate.enabled && prewarmSeconds(id) > 0,
      every: () => prewarmSeconds(id) * 1000,
      run: async ({ signal }) => {
        try {
          return await regate.prewarm(id, signal);
        } catch (e) {
          log.warn({ tenant: id, err: errorMessage(e) }, 'regate prewarm failed');
          return 0;
        }
      },
    }),
  );
  return {
    name: 'regate',
    workers: regate.workers,
    health: () => (ctx.config().regate.enabled ? { regate: regate.health() } : {}),
    attention: () => (ctx.config().regate.enabled ? regateAttention(regate.store()) : { items: [], total: 0 }),
    // Keys are kept 72 h (specs/regate.md), whether or not the gateway is on now (on PostgreSQL: while it runs).
    housekeeping: (now) => regate.housekeeping(now),
    start: async () => {
      if (!ctx.config().regate.enabled) return;
      try {
        const { url } = await regate.listen();
        log.info({ url }, 'regate listening');
      } catch (e) {
        log.error({ err: errorMessage(e) }, 'regate did not start');
        await regate.stop();
        throw e; // a taken port fails the start as the 1C API's does, rather than a gateway that silently is not there
      }
      // The cache starts empty: warm it now (a run the worker pool already started waited for the
      // gateway and warms it), then every prewarmSeconds after (the plan the store keeps).
      for (const job of prewarmJobs) if (!job.running()) job.runNow().catch(() => {}); // switched off: nothing to warm
      return () => regate.stop();
    },
  };
};
