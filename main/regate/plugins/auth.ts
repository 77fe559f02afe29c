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

/** Open to anyone: the gateway's health and its documentation (`url` with its query, if any). */
const isOpen = (url: string) => url.startsWith('/regate/docs') || isPath(url, '/regate/v1/health') || isPath(url, '/regate/v1/openapi.json');
const isPath = (url: string, path: string) => url.startsWith(path) && (url.length === path.length || url[path.length] === '?');

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

  /** After the address's login check: the credentials; a failure is counted, a success after failures clears them. */
  async function admitted(req: FastifyRequest, reply: FastifyReply, ip: string, seen: { blocked: boolean; failures: number }): Promise<void> {
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
    req.requestId = requestIdOf(req.headers['x-request-id'], req.id);
    reply.header('X-Request-Id', req.requestId);
    if (isOpen(req.url)) return done();
    const ip = req.ip;
    logins.check(ip).then((seen) => {
      // The usual case (no failures, right credentials) is settled here, without admitted()'s promise.
      const tenant = !seen.blocked && seen.failures === 0 ? authenticate(req.headers.authorization, tenants) : undefined;
      if (tenant) {
        req.tenant = tenant;
        return done();
      }
      admitted(req, reply, ip, seen).then(() => done(), done);
    }, done);
  });
};

export const auth = fp(plugin, { name: 'regate-auth' });

/** X-Request-Id: the caller's own (its first 100 characters), or `made` (a new UUID). */
export const requestIdOf = (header: string | string[] | undefined, made: string): string => String(header ?? made).slice(0, 100);

/**
 * Each tenant's credentials as a client sends them, `Basic base64(user:password)`; null for a login
 * with a colon (a client's user-id ends at the first colon: the header would be read otherwise).
 */
const canonical = new WeakMap<TenantRuntime['tenant'], string | null>();
function canonicalHeader(t: TenantRuntime['tenant']): string | null {
  let h = canonical.get(t);
  if (h === undefined) canonical.set(t, (h = t.user.includes(':') ? null : `Basic ${Buffer.from(`${t.user}:${t.password}`, 'utf8').toString('base64')}`));
  return h;
}

/** The base these Basic credentials are bound to, or undefined (no header, a wrong login or password). */
export function authenticate(header: string | undefined, tenants: Map<string, TenantRuntime>): TenantRuntime | undefined {
  if (header === undefined) return undefined;
  // Clients send the header the one usual way: compared whole (in constant time), nothing decoded.
  for (const t of tenants.values()) {
    const h = canonicalHeader(t.tenant);
    if (h !== null && sameSecret(header, h)) return t;
  }
  // Any other spelling (another case, spaces, no padding) the long way.
  const m = /^basic\s+(.+)$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1].trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const user = decoded.slice(0, i);
  const password = decoded.slice(i + 1);
  for (const t of tenants.values()) if (t.tenant.user === user && sameSecret(password, t.tenant.password)) return t;
  return undefined;
}
