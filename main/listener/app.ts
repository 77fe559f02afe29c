import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { errors, SputnikError } from '../errors.ts';
import { toError } from '../unknown.ts';
import type { Journal } from '../journal/index.ts';
import { parseOnecBody } from './body.ts';
import { BodyReader } from './body-reader.ts';
import type { Readable } from 'node:stream';
import { allowedHostSet, installCommon, sameSecret, serverOptions } from './http-app.ts';
import { clientAllowList, namesThisComputer, plainAddress } from './clients.ts';
import { isLoopback } from '../config/schema.ts';
import { healthRoute, type HealthBody } from './health.ts';
import { registerListenerDocs } from './docs.ts';

export const BODY_LIMIT = 1024 * 1024;

/** The listener's fastify app: request body/query/params are typed from each route's zod schema. */
export type ListenerApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** A domain (cards, invoices, Docpart…) adds its routes under /v1 as a plugin. */
export type ListenerDomain = (app: ListenerApp) => Promise<void> | void;

export interface ListenerOptions {
  config: Config['listener'];
  token: () => string;
  health: (detailed: boolean) => HealthBody;
  journal?: Journal;
  domains?: ListenerDomain[];
  log?: (msg: string, extra?: object) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    onecText?: string;
    replyText?: string;
  }
}

const PUBLIC = new Set(['/v1/health', '/v1/openapi.json']);

/** The 1C-facing HTTP API (listener-api.md): transport rules, auth, OpenAPI, health, domain routes. */
export async function createListenerApp(opts: ListenerOptions): Promise<ListenerApp> {
  const app = Fastify(serverOptions({ bodyLimit: BODY_LIMIT, requestTimeoutMs: opts.config.requestTimeoutSeconds * 1000 })).withTypeProvider<ZodTypeProvider>();
  let port = opts.config.port;
  const hosts = allowedHostSet(opts.config.host);
  // Bound to a LAN address (POS of one infobase): only this computer and listener.allowedClients are
  // served, and the address the POS call is a valid Host. A loopback bind needs neither.
  const lan = !isLoopback(opts.config.host);
  const allowed = lan ? clientAllowList(opts.config.allowedClients) : null;
  const hostAllowed = (host: string, req: FastifyRequest) => hosts.has(host) || (lan && namesThisComputer(host, req.socket.localAddress));
  const cors = () => new SputnikError(403, 'cors_refused', 'Запросы из браузеров с других сайтов (CORS) не принимаются');
  installCommon(app, {
    allowedHosts: hosts,
    hostAllowed: lan ? hostAllowed : undefined,
    client: allowed
      ? (req) => {
          const address = req.socket.remoteAddress;
          if (allowed(address)) return undefined;
          return new SputnikError(
            403,
            'client_not_allowed',
            `Адрес ${plainAddress(address ?? 'неизвестен')} не в списке listener.allowedClients Спутника: добавьте адрес этой кассы (или подсеть касс) в настройки Спутника и перезапустите его`,
          );
        }
      : undefined,
    guard: (req) => {
      // Browsers: no CORS, no preflights, no cross-origin calls (1C never sends Origin).
      if (req.method === 'OPTIONS') return cors();
      const origin = req.headers.origin;
      if (origin !== undefined && !sameOrigin(origin, (h) => hostAllowed(h, req), port)) return cors();
      const path = req.url.split('?')[0];
      if (!path.startsWith('/v1/') || PUBLIC.has(path)) return undefined;
      return authorized(req, opts.token()) ? undefined : errors.unauthorized();
    },
    onError: (e, req) => {
      if (e.status >= 500) opts.log?.('listener error', { url: req.url, code: e.code, err: (e.cause instanceof Error ? e.cause.message : undefined) ?? e.message });
    },
  });
  app.addHook('onListen', function () {
    const a = this.server.address();
    if (a && typeof a === 'object') port = a.port;
  });

  app.removeAllContentTypeParsers();
  const bodies = new BodyReader(BODY_LIMIT);
  app.addContentTypeParser('*', (req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => {
    bodies.read(req.headers, payload).then(({ bytes, release }) => {
      try {
        const parsed = parseOnecBody(bytes, req.headers['content-type']);
        req.onecText = parsed.text;
        if (parsed.decoded.guessed) opts.log?.('request body had no charset and was not UTF-8: read as windows-1251', { url: req.url });
        done(null, parsed.value);
      } catch (e) {
        done(toError(e));
      } finally {
        release();
      }
    }, done);
  });

  if (opts.journal) journalHooks(app, opts.journal);

  await registerListenerDocs(app);

  app.get(
    '/v1/health',
    {
      schema: healthRoute,
    },
    async (req) => opts.health(authorized(req, opts.token())),
  );

  for (const domain of opts.domains ?? []) await app.register(async (scoped) => domain(scoped));
  return app;
}

/** Bearer <token>; also Basic with the token as password (1C's HTTPСоединение(…, Пользователь, Пароль)). */
export function authorized(req: FastifyRequest, token: string): boolean {
  const header = req.headers.authorization;
  if (!header) return false;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(''); // Base64Строка() may have put CR LF inside
  if (/^bearer$/i.test(scheme)) return sameSecret(value, token);
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return sameSecret(decoded.slice(decoded.indexOf(':') + 1), token);
  }
  return false;
}

/** The swagger page asking for its own JSON from a browser on this port. */
function sameOrigin(origin: string, hostAllowed: (host: string) => boolean, port: number): boolean {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && Number(u.port || 80) === port && hostAllowed(u.hostname.toLowerCase());
  } catch {
    return false;
  }
}

// Callback-style hooks: an async hook costs extra promise turns on every request.
function journalHooks(app: ListenerApp, journal: Journal): void {
  app.addHook('onSend', (req, _reply, payload, done) => {
    if (typeof payload === 'string') req.replyText = payload;
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    done();
    const path = req.url.split('?')[0];
    if (path.startsWith('/docs') || path === '/v1/openapi.json') return;
    journal.record({
      direction: 'in',
      system: '1c',
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
      requestBody: req.onecText,
      responseBody: req.replyText,
    });
  });
}

export { z };
