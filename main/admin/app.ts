import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { errors, SputnikError } from '../errors.ts';
import type { Journal } from '../journal/index.ts';
import { allowedHostSet, installCommon, sameSecret, serverOptions } from '../listener/http-app.ts';
import type { HealthBody } from '../listener/health.ts';
import type { SettingsView } from '../core/settings.ts';

const COOKIE = 'sputnik_ui';

export interface AdminOptions {
  token: string;
  rendererDir: string;
  health: () => HealthBody & { listener: { url: string; exposed: boolean } };
  journal: Journal;
  settings: { read(): SettingsView; update(patch: unknown): Promise<SettingsView & { restartRequired: boolean }> };
  log?: (msg: string, extra?: object) => void;
  /** Each domain module's own admin routes. */
  domains?: AdminDomain[];
}

export type AdminApp = FastifyInstance;
export type AdminDomain = (app: AdminApp) => void;

/**
 * The API the tray window / browser UI talks to, on loopback only, behind a per-run login token:
 * `/?token=…` trades it for an HttpOnly SameSite=Strict cookie; API calls take the cookie or
 * `Authorization: Bearer`. Mutations also need `X-Sputnik-UI: 1`, which no cross-site form can send.
 */
export async function createAdminApp(opts: AdminOptions): Promise<FastifyInstance> {
  const app = Fastify(serverOptions({ bodyLimit: 1024 * 1024, requestTimeoutMs: 60_000 })).withTypeProvider<ZodTypeProvider>();

  const isAuthed = (req: FastifyRequest) => {
    const auth = req.headers.authorization;
    if (auth && /^bearer\s/i.test(auth)) return sameSecret(auth.replace(/^bearer\s+/i, '').trim(), opts.token);
    const cookie = readCookie(req.headers.cookie, COOKIE);
    return cookie !== undefined && sameSecret(cookie, opts.token);
  };

  installCommon(app, {
    allowedHosts: allowedHostSet('127.0.0.1'),
    guard: (req) => {
      if (!req.url.startsWith('/api/')) return undefined;
      if (!isAuthed(req)) return new SputnikError(401, 'unauthorized', 'Нужен вход: откройте адрес с токеном, который Спутник напечатал при запуске');
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-sputnik-ui'] !== '1') {
        return new SputnikError(403, 'csrf_refused', 'Запрос отклонён: нет заголовка X-Sputnik-UI');
      }
      return undefined;
    },
  });

  app.get('/', async (req, reply) => {
    const token = (req.query as { token?: string }).token;
    if (token !== undefined) {
      if (!sameSecret(token, opts.token)) throw new SputnikError(401, 'unauthorized', 'Токен входа неверен или устарел: возьмите адрес из последнего запуска Спутника');
      reply.header('Set-Cookie', `${COOKIE}=${opts.token}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect('/', 303);
    }
    if (!isAuthed(req)) {
      return reply
        .code(401)
        .type('text/html; charset=utf-8')
        .send('<!doctype html><meta charset="utf-8"><title>Спутник</title><p>Откройте адрес с токеном входа, который Спутник напечатал при запуске.</p>');
    }
    if (!existsSync(`${opts.rendererDir}/index.html`)) {
      return reply.type('text/html; charset=utf-8').send('<!doctype html><meta charset="utf-8"><title>Спутник</title><p>Интерфейс не собран: выполните <code>npm run build</code>.</p>');
    }
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  });

  if (existsSync(opts.rendererDir)) {
    await app.register(fastifyStatic, { root: opts.rendererDir, prefix: '/assets/', decorateReply: true, serve: false });
    app.get('/assets/*', (req, reply) => reply.sendFile(`assets/${(req.params as { '*': string })['*']}`));
  }

  app.get('/api/health', async () => opts.health());
  for (const domain of opts.domains ?? []) domain(app);

  const journalQuery = z.object({
    q: z.string().max(200).optional(),
    system: z.string().max(40).optional(),
    direction: z.enum(['in', 'out']).optional(),
    entity: z.string().max(200).optional(),
    failed: z.enum(['1', '0', 'true', 'false']).optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  });
  app.get('/api/journal', { schema: { querystring: journalQuery } }, async (req) => {
    const q = req.query as z.infer<typeof journalQuery>;
    return opts.journal.list({ ...q, failedOnly: q.failed === '1' || q.failed === 'true' });
  });
  app.get('/api/journal/:id', { schema: { params: z.object({ id: z.coerce.number().int().positive() }) } }, async (req) => {
    const entry = opts.journal.get((req.params as { id: number }).id);
    if (!entry) throw errors.notFound('journal_entry_not_found', 'Такой записи журнала нет (возможно, она удалена по сроку хранения)');
    return entry;
  });

  app.get('/api/settings', async () => opts.settings.read());
  app.put('/api/settings', { schema: { body: z.record(z.string(), z.unknown()) } }, async (req) => opts.settings.update(req.body));

  return app;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

