import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sameSecret } from '../../http-server/secret.ts';
import type { RegateServer } from '../method.ts';
import type { TenantRuntime } from '../onec.ts';
import { RegateProblem } from '../problem.ts';
import type { LoginThrottle } from '../repos/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The base the caller's Basic credentials are bound to (every route but health and the docs). */
    tenant?: TenantRuntime;
    /** X-Request-Id: the caller's own, or one made here; on every answer and every problem. */
    requestId: string;
    /** The answer's text as sent, for the journal. */
    replyText?: string;
  }
}

/** Open to anyone: the gateway's health and its documentation. */
const isOpen = (path: string) => path === '/regate/v1/health' || path === '/regate/v1/openapi.json' || path.startsWith('/regate/docs');

/** The base a request was admitted for (the auth hook ran before every route that asks). */
export function tenantOf(req: FastifyRequest): TenantRuntime {
  if (!req.tenant) throw new Error('ReGate: a route that needs a base was reached without one');
  return req.tenant;
}

/**
 * Every request gets its X-Request-Id; every one but health and the docs needs Basic credentials
 * bound to a tenant. Ten wrong ones in a row from one address and it waits a minute.
 */
const plugin: FastifyPluginAsyncZod<{ tenants: Map<string, TenantRuntime>; logins: LoginThrottle }, RegateServer> = async (app, { tenants, logins }) => {
  app.decorateRequest('requestId', '');

  async function admit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ip = req.ip;
    const seen = await logins.check(ip);
    if (seen.blocked) throw new RegateProblem(429, 'too_many_logins', 'Слишком много неверных входов', 'Слишком много неверных логинов и паролей подряд: подождите минуту', { retryAfterSeconds: 60 });
    const tenant = authenticate(req.headers.authorization, tenants);
    if (!tenant) {
      await logins.failed(ip);
      reply.header('WWW-Authenticate', 'Basic realm="ReGate", charset="UTF-8"');
      throw new RegateProblem(401, 'unauthorized', 'Нужна авторизация', 'Неверный логин или пароль ReGate', { retryable: false });
    }
    if (seen.failures > 0) await logins.succeeded(ip);
    req.tenant = tenant;
  }

  // Callback-style: an async hook costs fastify extra promise turns on every request.
  app.addHook('onRequest', (req, reply, done) => {
    req.requestId = String(req.headers['x-request-id'] ?? req.id).slice(0, 100);
    reply.header('X-Request-Id', req.requestId);
    if (isOpen(req.url.split('?')[0])) return done();
    admit(req, reply).then(() => done(), done);
  });
};

export const auth = fp(plugin, { name: 'regate-auth' });

function authenticate(header: string | undefined, tenants: Map<string, TenantRuntime>): TenantRuntime | undefined {
  const m = /^basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1].trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const user = decoded.slice(0, i);
  const password = decoded.slice(i + 1);
  for (const t of tenants.values()) if (t.tenant.user === user && sameSecret(password, t.tenant.password)) return t;
  return undefined;
}
