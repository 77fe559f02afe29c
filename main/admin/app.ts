import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { errors, SputnikError } from '../errors.ts';
import { toError } from '../unknown.ts';
import type { Journal } from '../journal/index.ts';
import { allowedHostSet, installCommon, sameSecret, serverOptions } from '../listener/http-app.ts';
import type { HealthBody } from '../listener/health.ts';
import type { SettingsView } from '../core/settings.ts';
import { onecDate } from '../listener/onec-values.ts';
import { parseJson } from '../listener/body.ts';
import { journalCsv } from './journal-csv.ts';
import type { AttentionList } from '../core/attention.ts';
import type { Meta } from '../core/registry.ts';

const COOKIE = 'sputnik_ui';
/** The live stream's heartbeat: the window calls Sputnik gone after 2.5 s without any event (renderer/src/live.ts). */
export const HEARTBEAT_MS = 1000;
/** Under a stream of writes, a live stream looks again at most this often (the first change after a quiet spell at once). */
export const LIVE_GAP_MS = 250;

export interface AdminOptions {
  token: string;
  /** The session cookie's value (kept across restarts); the login token when absent. */
  session?: string;
  rendererDir: string;
  health: () => HealthBody & { listener: { url: string; exposed: boolean } };
  /** The registered modules as the window builds itself from them (GET /api/meta). */
  meta: Meta;
  journal: Journal;
  settings: { read(): SettingsView; update(patch: unknown): Promise<SettingsView & { restartRequired: boolean }> };
  log?: (msg: string, extra?: object) => void;
  /** Each domain module's own admin routes. */
  domains?: AdminDomain[];
  /** What the window can ask the core to do. */
  ops: AdminOps;
}

export interface AdminOps {
  /** The 1C API address and its token (the overview's copy button, the BSL snippet). */
  listener(): { url: string; port: number; token: string };
  /** «Повторить» for `card:…` / `invoice:…`; null when unknown. */
  retry(entity: string): { state: string } | null;
  /** A pausable connector (meta: `connector.pausable`). */
  pause(connector: string): void;
  resume(connector: string): void;
  /** Tries a testable connector with the saved settings merged with `settings` (unsaved form values). */
  testConnection(connector: string, settings: unknown): Promise<{ ok: boolean; message: string }>;
  /** Counters that move when something the window shows changed: the newest journal id, and each feed's seq by kind. */
  changes(): { journal: number } & Record<string, number>;
  /**
   * Calls `listener` when what the window shows may have changed (a write committed, a job's
   * outcome recorded), once per event-loop turn at most; returns the unsubscribe.
   */
  onChange(listener: () => void): () => void;
  /** «Требует внимания»: at most `limit` items, and how many there are. */
  attention(limit: number): AttentionList;
  /** The operator takes a refusal off that list; false when there is no such one. */
  dismiss(ref: string): boolean;
}

/** The admin window's fastify app: request body/query/params are typed from each route's zod schema. */
export type AdminApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;
export type AdminDomain = (app: AdminApp) => void;

/**
 * The API the tray window / browser UI talks to, on loopback only, behind a per-run login token:
 * `/?token=…` trades it for an HttpOnly SameSite=Strict cookie; API calls take the cookie or
 * `Authorization: Bearer`. Mutations also need `X-Sputnik-UI: 1`, which no cross-site form can send.
 */
export async function createAdminApp(opts: AdminOptions): Promise<AdminApp> {
  const app = Fastify(serverOptions({ bodyLimit: 1024 * 1024, requestTimeoutMs: 60_000 })).withTypeProvider<ZodTypeProvider>();
  const session = opts.session ?? opts.token;

  const isAuthed = (req: FastifyRequest) => {
    const auth = req.headers.authorization;
    if (auth && /^bearer\s/i.test(auth)) return sameSecret(auth.replace(/^bearer\s+/i, '').trim(), opts.token);
    const cookie = req.headers.cookie ? app.parseCookie(req.headers.cookie)[COOKIE] : undefined;
    return cookie !== undefined && sameSecret(cookie, session);
  };
  // Parsed where it is needed (the guard runs in onRequest, whatever the hook order); sets the
  // session cookie on login.
  await app.register(fastifyCookie, { hook: false });

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

  // The listener's JSON reader: Russian messages, and a `__proto__` key refused by name (fastify's
  // own answers that in English, as "not valid JSON").
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => {
    if (body === '') return done(new SputnikError(400, 'empty_body', 'Тело запроса пустое'));
    try {
      done(null, parseJson(body));
    } catch (e) {
      done(toError(e));
    }
  });

  app.get<{ Querystring: { token?: string } }>('/', async (req, reply) => {
    const token = req.query.token;
    if (token !== undefined) {
      if (!sameSecret(token, opts.token)) throw new SputnikError(401, 'unauthorized', 'Токен входа неверен или устарел: возьмите адрес из последнего запуска Спутника');
      reply.setCookie(COOKIE, session, { httpOnly: true, sameSite: 'strict', path: '/' });
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
    app.get<{ Params: { '*': string } }>('/assets/*', (req, reply) => reply.sendFile(`assets/${req.params['*']}`));
  }

  app.get('/api/health', async () => opts.health());
  app.get('/api/meta', async () => opts.meta);
  for (const domain of opts.domains ?? []) domain(app);

  const journalQuery = z.object({
    q: z.string().max(200).optional(),
    system: z.string().max(40).optional(),
    direction: z.enum(['in', 'out']).optional(),
    entity: z.string().max(200).optional(),
    failed: z.enum(['1', '0', 'true', 'false']).optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    from: onecDate().optional().describe('Первый день (местное время), включительно'),
    to: onecDate().optional().describe('Последний день, включительно'),
  });
  const journalFilter = (q: z.infer<typeof journalQuery>) => {
    const { from, to, failed, ...rest } = q;
    const day = (d: string, plus = 0) => {
      const [y, m, dd] = d.split('-').map(Number);
      return new Date(y, m - 1, dd + plus).getTime();
    };
    return { ...rest, failedOnly: failed === '1' || failed === 'true', from: from ? day(from) : undefined, to: to ? day(to, 1) : undefined };
  };
  // The journal is a list of events (a card delivered, a pull with its counts), each with its exchanges.
  app.get('/api/journal', { schema: { querystring: journalQuery } }, async (req) => opts.journal.events(journalFilter(req.query)));
  const journalId = z.object({ id: z.coerce.number().int().positive() });
  app.get('/api/journal/:id', { schema: { params: journalId } }, async (req) => {
    const event = opts.journal.event(req.params.id);
    if (!event) throw errors.notFound('journal_entry_not_found', 'Такой записи журнала нет (возможно, она удалена по сроку хранения)');
    return event;
  });
  app.get('/api/journal/exchanges/:id', { schema: { params: journalId } }, async (req) => {
    const entry = opts.journal.get(req.params.id);
    if (!entry) throw errors.notFound('journal_exchange_not_found', 'Такого обмена в журнале нет (возможно, он удалён по сроку хранения)');
    return entry;
  });

  app.get('/api/journal/export', { schema: { querystring: journalQuery } }, async (req, reply) => {
    const q = journalFilter(req.query);
    const csv = journalCsv(function* () {
      let before: number | undefined = q.before;
      for (let n = 0; n < 100_000; ) {
        const page = opts.journal.events({ ...q, before, limit: 500, complete: true });
        for (const e of page.entries) yield e;
        n += page.entries.length;
        if (!page.next) return;
        before = Number(page.next);
      }
    });
    reply.header('Content-Type', 'text/csv; charset=utf-8');
    reply.header('Content-Disposition', `attachment; filename="sputnik-journal.csv"; filename*=UTF-8''${encodeURIComponent('Журнал Спутника.csv')}`);
    return csv;
  });

  app.get('/api/listener', async () => opts.ops.listener());

  app.post('/api/retry', { schema: { body: z.strictObject({ entity: z.string().min(3).max(300) }) } }, async (req) => {
    const r = opts.ops.retry(req.body.entity);
    if (!r) throw errors.notFound('entity_not_found', 'Нечего повторять: такой карты или счёта в Спутнике нет');
    return { ok: true, state: r.state };
  });

  app.get('/api/attention', { schema: { querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(200) }) } }, async (req) =>
    opts.ops.attention(req.query.limit),
  );
  app.post('/api/attention/dismiss', { schema: { body: z.strictObject({ ref: z.string().min(1).max(500) }) } }, async (req) => {
    const { ref } = req.body;
    if (!ref.startsWith('refusal:')) {
      throw new SputnikError(409, 'not_dismissible', 'Это нельзя убрать из списка вручную: пункт уйдёт сам, когда причину устранят', { field: 'ref' });
    }
    if (!opts.ops.dismiss(ref)) throw errors.notFound('attention_not_found', 'Такого пункта в списке «Требует внимания» уже нет');
    return { ok: true };
  });

  const connectorsWith = (what: 'pausable' | 'testable') => opts.meta.modules.flatMap((m) => (m.connector?.[what] ? [m.name] : []));
  const deliveringConnector = z.object({ name: z.enum(connectorsWith('pausable')) });
  app.post('/api/connectors/:name/pause', { schema: { params: deliveringConnector } }, async (req) => {
    opts.ops.pause(req.params.name);
    return opts.health();
  });
  app.post('/api/connectors/:name/resume', { schema: { params: deliveringConnector } }, async (req) => {
    opts.ops.resume(req.params.name);
    return opts.health();
  });

  app.post(
    '/api/settings/test',
    { schema: { body: z.strictObject({ connector: z.enum(connectorsWith('testable')), settings: z.record(z.string(), z.unknown()).optional() }) } },
    async (req) => {
      const { connector, settings } = req.body;
      return opts.ops.testConnection(connector, settings ?? {});
    },
  );

  // Live updates for the window: health when it changes, and a nudge when the journal or a list moved.
  // Open streams end when the app closes: a stream left open would hold the stop, and keep beating
  // so the window would not notice that Sputnik is stopping.
  const streams = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    done();
  });
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    // A HEAD gets the stream's headers and its end: left open it would hold every later request on the connection.
    if (req.method === 'HEAD') return void res.end();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // The window reconnects a second after losing the stream (the browser's default is 3 s).
    res.write('retry: 1000\n\n');
    let lastHealth = '';
    let lastAttention = -1;
    let last = opts.ops.changes();
    const look = () => {
      try {
        const health = JSON.stringify(opts.health());
        if (health !== lastHealth) {
          lastHealth = health;
          res.write(`event: health\ndata: ${health}\n\n`);
        }
        const now = opts.ops.changes();
        if (now.journal !== last.journal) send('journal', { lastId: now.journal });
        for (const kind of Object.keys(now)) if (kind !== 'journal' && now[kind] !== last[kind]) send('change', { kind });
        last = now;
        const attention = opts.ops.attention(1).total;
        if (attention !== lastAttention) send('attention', { total: (lastAttention = attention) });
      } catch {
        /* the store is closing: the next look or the client's reconnect sorts it out */
      }
    };
    look();
    // A committed write is looked at at once; more within LIVE_GAP_MS make one more look at its end,
    // so a burst of writes costs a few looks a second, not one per write.
    let cooling: NodeJS.Timeout | undefined;
    let changedMeanwhile = false;
    const changed = () => {
      if (cooling) return void (changedMeanwhile = true);
      look();
      cooling = setTimeout(() => {
        cooling = undefined;
        if (changedMeanwhile) {
          changedMeanwhile = false;
          changed();
        }
      }, LIVE_GAP_MS);
    };
    const unsubscribe = opts.ops.onChange(changed);
    // A heartbeat the page can see (a comment it cannot): 2.5 s of silence means Sputnik is gone,
    // even when no TCP close arrives (a hung process, a sleeping laptop's network). Each beat also
    // looks again: the health moves without a write too (a queue's age, the gateway's calls in
    // flight, the store's writability), and so does «Требует внимания» (a queue waiting too long).
    const beat = setInterval(() => {
      look();
      res.write('event: beat\ndata: {}\n\n');
    }, HEARTBEAT_MS);
    const end = () => {
      unsubscribe();
      clearTimeout(cooling);
      clearInterval(beat);
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  });

  app.get('/api/settings', async () => opts.settings.read());
  app.put('/api/settings', { schema: { body: z.record(z.string(), z.unknown()) } }, async (req) => opts.settings.update(req.body));

  return app;
}

