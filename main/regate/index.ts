import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import { listen } from '../core/listen.ts';
import type { ModuleFactory } from '../core/module.ts';
import { DeliveryError } from '../errors.ts';
import type { Journal } from '../journal/index.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorWorkers } from '../store/worker-pool.ts';
import { createRegateApp, prewarm, REGATE_JOB, tenantRuntime, underCap, writeOutcome, writeQueueKey, type TenantRuntime } from './gateway.ts';
import { IdempotencyStore } from './idempotency.ts';
import { methodOf, timeoutFor } from './methods.ts';
import { UpstreamFailure, UpstreamThread } from './upstream.ts';

export interface RegateRuntime {
  tenants: Map<string, TenantRuntime>;
  idempotency: IdempotencyStore;
  /** Runs the writes that were queued while 1C was down, in order per client and per order. */
  workers: ConnectorWorkers;
  /** Per-tenant state for the health and the window. */
  health(): NonNullable<import('../listener/health.ts').HealthBody['regate']>;
  /** Reads each tenant's store assortments into the cache on its `prewarmSeconds` timer; returns a stop function. */
  startPrewarm(log?: Logger): () => void;
  /** Starts the HTTPS listener; resolves with its address. */
  listen(): Promise<{ app: FastifyInstance; url: string }>;
  stop(): Promise<void>;
}

export function createRegate(deps: { config: () => Config['regate']; store: Store; journal?: Journal }): RegateRuntime {
  const cfg = deps.config();
  // The tenants' caps and pools run on their own thread, started by the first 1C call.
  const thread = new UpstreamThread();
  const tenants = new Map(cfg.tenants.map((t) => [t.id, tenantRuntime(t, thread, deps.journal)]));
  const idempotency = new IdempotencyStore(deps.store);
  let app: FastifyInstance | undefined;

  const workers: ConnectorWorkers = {
    connector: 'regate',
    concurrency: Math.max(1, ...[...tenants.values()].map((t) => t.upstream.ceiling)),
    handle: async (job) => {
      const rec = idempotency.get((job.payload as { id: number }).id);
      if (!rec || rec.state === 'done' || rec.state === 'failed') return;
      const tenant = tenants.get(rec.tenant);
      if (!tenant) throw new DeliveryError('refused', 'regate_tenant_gone', `База ${rec.tenant} больше не настроена в ReGate`);
      // The same timeout as the write had on the direct path (a record keeps only its HTTP method and 1C path).
      const timeoutMs = timeoutFor(tenant.tenant, methodOf(rec.method, rec.path), 'write');
      try {
        const call = { method: rec.method as 'POST', path: rec.path, body: rec.body === null ? undefined : JSON.parse(rec.body), requestId: rec.key, timeoutMs };
        // The limiter's key is the client or order itself, as on the direct path: a queued write and
        // a direct one of the same client are never in 1C side by side. (Records older than the
        // order_key column have '' there and fall back to the job's key.)
        const answer = await underCap(tenant, 'write', call, { key: rec.order_key || job.key });
        // 1C's answer is the write's result, a refusal as a failed operation with its problem (as on the direct path).
        const outcome = writeOutcome(answer);
        return { record: () => idempotency.finish(rec.id, outcome.state, answer.status, outcome.answer) };
      } catch (e) {
        const f = e instanceof UpstreamFailure ? e : null;
        // 1C's request-id register makes a retry after a timeout safe: every failure here is retried.
        throw new DeliveryError(f?.kind === 'refused_auth' ? 'auth' : 'retry', f?.problem.code ?? 'regate_failed', f?.problem.message ?? String(e));
      }
    },
  };

  let url: string | null = null;
  const runtime: RegateRuntime = {
    tenants,
    idempotency,
    workers,
    health() {
      const queued = deps.store.db.prepare(`SELECT tenant, COUNT(*) AS n FROM regate_requests WHERE state IN ('queued', 'running') GROUP BY tenant`).all() as Array<{ tenant: string; n: number }>;
      return {
        url,
        tenants: Object.fromEntries(
          [...tenants.values()].map((t) => [
            t.tenant.id,
            { onec: t.onec, limit: t.upstream.limit, inFlight: t.upstream.inFlight, waiting: t.upstream.queued, queuedWrites: queued.find((q) => q.tenant === t.tenant.id)?.n ?? 0, cacheHitRate: Math.round(t.cache.hitRate * 100) / 100 },
          ]),
        ),
      };
    },
    async listen() {
      const c = deps.config();
      // Writes a dead process was sending: their outcome is unknown, so they are sent again, in order,
      // with the same request id (1C's register answers a repeat with the first result).
      deps.store.db.transaction(() => {
        for (const r of idempotency.interrupted()) {
          idempotency.finish(r.id, 'queued', null, undefined);
          deps.store.outbox.enqueue({ connector: 'regate', kind: REGATE_JOB, key: writeQueueKey(r.tenant, r.order_key), payload: { id: r.id }, coalesce: false });
        }
      })();
      app = await createRegateApp({ config: c, store: deps.store, journal: deps.journal, tenants, idempotency, health: () => runtime.health() });
      const a = await listen(app, c.host, c.port, 'ReGate', 'regate.port');
      url = `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
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
              .catch((e) => log?.warn({ tenant: t.tenant.id, err: (e as Error).message }, 'regate prewarm failed'))
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
    housekeeping: (now) => ({ regate_requests: regate.idempotency.prune(now) }),
    start: async () => {
      if (!ctx.config().regate.enabled) return;
      try {
        const { url } = await regate.listen();
        log.info({ url }, 'regate listening');
      } catch (e) {
        log.error({ err: (e as Error).message }, 'regate did not start');
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
