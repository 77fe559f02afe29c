import type { FastifyInstance } from 'fastify';
import { listen } from '../core/listen.ts';
import type { ModuleFactory } from '../core/module.ts';
import type { Journal } from '../journal/index.ts';
import type { HealthBody } from '../listener/health.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorWorkers } from '../store/worker-pool.ts';
import { createRegateApp } from './app.ts';
import { deliverQueued } from './deliver.ts';
import { prewarm, tenantRuntime, type TenantRuntime } from './onec.ts';
import { localRepos, type IdempotencyRepo, type RegateRepos } from './repos/index.ts';
import type { RegateConfig } from './tenants.ts';
import { UpstreamThread } from './upstream.ts';

type RegateHealth = NonNullable<HealthBody['regate']>;

export interface RegateRuntime {
  tenants: Map<string, TenantRuntime>;
  idempotency: IdempotencyRepo;
  /**
   * Runs the writes that were queued while 1C was down, in order per client and per order: the
   * core's worker pool runs it (an idle lane when the queue runs itself).
   */
  workers: ConnectorWorkers;
  /** Per-tenant state for Sputnik's health and the window; queued writes as of the last count (each call counts again). */
  health(): RegateHealth;
  /** The same with the queued writes counted now (GET /regate/v1/health). */
  healthNow(): Promise<RegateHealth>;
  /** Reads each tenant's store assortments into the cache on its `prewarmSeconds` timer; returns a stop function. */
  startPrewarm(log?: Logger): () => void;
  /** Starts the HTTPS listener; resolves with its address. */
  listen(): Promise<{ app: FastifyInstance; url: string }>;
  stop(): Promise<void>;
}

export function createRegate(deps: { config: () => RegateConfig; store: Store; journal?: Journal; repos?: RegateRepos }): RegateRuntime {
  const cfg = deps.config();
  // The tenants' caps and pools run on their own thread, started by the first 1C call.
  const thread = new UpstreamThread();
  const tenants = new Map(cfg.tenants.map((t) => [t.id, tenantRuntime(t, thread, deps.journal)]));
  const repos = deps.repos ?? localRepos(deps.store);
  const consumer = repos.queue.consumer(deliverQueued(tenants), Math.max(1, ...[...tenants.values()].map((t) => t.upstream.ceiling)));
  let stopConsumer: (() => Promise<void>) | undefined;
  let app: FastifyInstance | undefined;
  let url: string | null = null;

  let queued = new Map<string, number>();
  let counting: Promise<Map<string, number>> | undefined;
  const count = () =>
    (counting ??= repos.queue
      .counts()
      .then((c) => (queued = c))
      .finally(() => (counting = undefined)));
  const snapshot = (): RegateHealth => ({
    url,
    tenants: Object.fromEntries(
      [...tenants.values()].map((t) => [
        t.tenant.id,
        { onec: t.onec, limit: t.upstream.limit, inFlight: t.upstream.inFlight, waiting: t.upstream.queued, queuedWrites: queued.get(t.tenant.id) ?? 0, cacheHitRate: Math.round(t.cache.hitRate * 100) / 100 },
      ]),
    ),
  });

  const runtime: RegateRuntime = {
    tenants,
    idempotency: repos.idempotency,
    workers: consumer.kind === 'workers' ? consumer.workers : { connector: 'regate', concurrency: 1, handle: async () => {} },
    health() {
      count().catch(() => {}); // the next health has it; a failed count keeps the last one
      return snapshot();
    },
    async healthNow() {
      queued = await repos.queue.counts();
      return snapshot();
    },
    async listen() {
      const c = deps.config();
      await repos.queue.requeueInterrupted();
      app = await createRegateApp({ config: c, journal: deps.journal, tenants, repos, health: () => runtime.healthNow() });
      const a = await listen(app, c.host, c.port, 'ReGate', 'regate.port');
      url = `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
      if (consumer.kind === 'self') stopConsumer = consumer.start();
      return { app, url };
    },
    startPrewarm(log) {
      const timers = [...tenants.values()]
        .filter((t) => t.tenant.prewarmSeconds > 0)
        .map((t) => {
          let busy = false;
          const run = () => {
            if (busy) return;
            busy = true;
            prewarm(t)
              .catch((e: unknown) => log?.warn({ tenant: t.tenant.id, err: e instanceof Error ? e.message : String(e) }, 'regate prewarm failed'))
              .finally(() => (busy = false));
          };
          run();
          const timer = setInterval(run, t.tenant.prewarmSeconds * 1000);
          timer.unref();
          return timer;
        });
      return () => timers.forEach(clearInterval);
    },
    async stop() {
      await stopConsumer?.();
      await app?.close();
      await thread.close();
    },
  };
  return runtime;
}

/** ReGate as a core module: its listener and the worker for queued writes (off unless regate.enabled). */
export const regateModule: ModuleFactory = (ctx) => {
  const regate = createRegate({ config: () => ctx.config().regate, store: ctx.store, journal: ctx.journal });
  const log: Logger = ctx.log;
  return {
    name: 'regate',
    workers: regate.workers,
    health: () => (ctx.config().regate.enabled ? { regate: regate.health() } : {}),
    // Keys are kept 72 h (specs/regate.md), whether or not the gateway is on now.
    housekeeping: async (now) => ({ regate_requests: await regate.idempotency.prune(now) }),
    start: async () => {
      if (!ctx.config().regate.enabled) return;
      try {
        const { url } = await regate.listen();
        log.info({ url }, 'regate listening');
      } catch (e) {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'regate did not start');
        await regate.stop();
        throw e; // a taken port fails the start as the 1C API's does, rather than a gateway that silently is not there
      }
      const stopPrewarm = regate.startPrewarm(log);
      return async () => {
        stopPrewarm();
        await regate.stop();
      };
    },
  };
};
