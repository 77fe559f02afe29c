import Fastify from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { Journal } from '../journal/index.ts';
import { FreshHits } from './fresh-hits.ts';
import type { RegateApp } from './method.ts';
import type { TenantRuntime } from './onec.ts';
import { auth } from './plugins/auth.ts';
import { clientError, errors } from './plugins/errors.ts';
import { journaling } from './plugins/journal.ts';
import { quota } from './plugins/quota.ts';
import { httpsOptions } from './plugins/tls.ts';
import { validation } from './plugins/validation.ts';
import type { RegateRepos } from './repos/index.ts';
import { aliasRoutes } from './routes/aliases.ts';
import { docs } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { methodRoutes, type Serves } from './routes/methods.ts';
import { operationRoutes } from './routes/operations.ts';
import { serveRead } from './routes/reads.ts';
import { writer } from './routes/writes.ts';
import type { RegateConfig } from './tenants.ts';

export interface GatewayDeps {
  config: RegateConfig;
  journal?: Journal;
  tenants: Map<string, TenantRuntime>;
  repos: RegateRepos;
  /** Each base's state, for GET /regate/v1/health (the same figures as Sputnik's own health). */
  health: () => Promise<{ tenants: Record<string, unknown>; store?: { state: string } }>;
}

/**
 * The ReGate listener (specs/regate.md): HTTPS only (TLS ≥ 1.2), Basic auth bound to a tenant,
 * RFC 9457 errors, `X-Request-Id` on every answer; reads through the cache and the cap, writes by
 * Idempotency-Key through the cap (or queued durably when 1C is down), REST routes plus the task's
 * own method names as aliases, OpenAPI at /regate/v1/openapi.json and Swagger UI at /regate/docs.
 *
 * Laid out as fastify's demo app: plugins/ for what every request goes through (validation, auth,
 * quota, errors, journal), routes/ for what answers (methods from methods.ts, aliases, operations,
 * health, docs).
 */
export async function createRegateApp(deps: GatewayDeps): Promise<{ app: RegateApp; fresh: FreshHits }> {
  const fresh = new FreshHits({ tenants: deps.tenants, logins: deps.repos.logins, trustedProxies: deps.config.trustedProxies });
  const tls = httpsOptions(deps.config.tls);
  const app = Fastify({
    // The server fastify would make (its timeouts as fastify sets them), with fresh cache hits answered before fastify's handler.
    serverFactory: (handler, opts) => {
      const server = createServer(tls, (req, res) => {
        if (!fresh.answer(req, res)) handler(req, res);
      });
      const { keepAliveTimeout, requestTimeout, connectionTimeout } = opts;
      if (typeof keepAliveTimeout === 'number') server.keepAliveTimeout = keepAliveTimeout;
      if (typeof requestTimeout === 'number') server.requestTimeout = requestTimeout;
      if (typeof connectionTimeout === 'number') server.setTimeout(connectionTimeout);
      return server;
    },
    bodyLimit: 2 * 1024 * 1024,
    requestTimeout: 120_000,
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    // Behind a balancer every connection comes from it: the client's address (wrong logins are counted by it) is in X-Forwarded-For, trusted from those addresses only.
    ...(deps.config.trustedProxies.length > 0 ? { trustProxy: deps.config.trustedProxies } : {}),
    clientErrorHandler: clientError,
  }).withTypeProvider<ZodTypeProvider>();

  await app.register(validation);
  await app.register(auth, { tenants: deps.tenants, logins: deps.repos.logins });
  await app.register(quota, { quota: deps.repos.quota });
  await app.register(errors);
  await app.register(journaling, { journal: deps.journal });
  await app.register(docs);
  app.addHook('preClose', (done) => {
    fresh.close();
    done();
  });

  const serve: Serves = {
    read: (req, reply, call) => {
      // A GET's read call is a function of its URL (an alias's body is not read for a GET).
      if (req.method === 'GET') fresh.remember(req.url, call);
      return serveRead(req, reply, call);
    },
    write: writer(deps.repos),
  };
  await app.register(methodRoutes, serve);
  await app.register(operationRoutes, { idempotency: deps.repos.idempotency });
  await app.register(healthRoutes, { health: deps.health });
  await app.register(aliasRoutes, serve);
  return { app, fresh };
}
