import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import type { Journal } from '../journal/index.ts';
import { endWithRawResponse, failedRequest, sameSecret, type ParserError } from '../listener/http-app.ts';
import type { Store } from '../store/index.ts';
import { withoutFsync } from '../store/db.ts';
import { VERSION } from '../version.ts';
import { ReadCache, type CachePolicy } from './cache.ts';
import { IdempotencyStore, type WriteRecord } from './idempotency.ts';
import { LimiterTimeout } from './limiter.ts';
import { RegateProblem, type StoredProblem } from './problem.ts';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';
import { onecInteger } from '../listener/onec-values.ts';
import { EXAMPLES as E, PROBLEMS as P, REFUSALS as R, problemSchema } from './examples.ts';
import { errorAnswers, exampled, finishDocument, type ErrorDoc } from '../listener/openapi.ts';
import { timeoutFor, type ReadMethod, type RegateMethod, type WriteMethod } from './methods.ts';
import type { RegateTenant } from './tenants.ts';
import { JOURNAL_PAGE_BYTES, Upstream, UpstreamFailure, type UpstreamAnswer, type UpstreamRequest, type UpstreamThread } from './upstream.ts';

export const REGATE_JOB = 'regate.write';

/** The outbox key of a base's queued writes of one client or order: they run one at a time, in order. */
export const writeQueueKey = (tenant: string, orderKey: string) => `regate:${tenant}:${orderKey}`;

const MIN = 60_000;
const POLICY = {
  state: { freshMs: 60 * MIN, staleMs: 24 * 60 * MIN, staleIfErrorMs: 7 * 24 * 60 * MIN },
  catalogue: { freshMs: 10 * MIN, staleMs: 60 * MIN, staleIfErrorMs: 24 * 60 * MIN },
  assortment: { freshMs: MIN, staleMs: 10 * MIN, staleIfErrorMs: 60 * MIN },
  order: { freshMs: 5000, staleMs: 0, staleIfErrorMs: 5 * MIN },
} satisfies Record<string, CachePolicy>;
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
const SLOT_WAIT_MS = { read: 5000, write: 10_000 };

/**
 * Reads the first assortment page of every store of a tenant into the cache, one call at a time
 * (a read share of the cap, never the crowd's): hundreds of callers then find it fresh.
 */
export async function prewarm(t: TenantRuntime): Promise<number> {
  const load = async (route: ReadMethod, path: string) => {
    const a = await underCap(t, 'read', { method: 'GET', path, timeoutMs: timeoutFor(t.tenant, route, 'read') });
    if (a.status >= 400) throw businessProblem(a);
    return a.body;
  };
  const id = t.tenant.id;
  const cities = (await t.cache.get(`${id}:cities`, POLICY.catalogue, () => load('city', 'cities'))).value as { items?: Array<{ id: string }> };
  let warmed = 0;
  for (const c of cities.items ?? []) {
    const stores = (await t.cache.get(`${id}:stores:${c.id}`, POLICY.catalogue, () => load('citystore', `cities/${encodeURIComponent(c.id)}/stores`))).value as { items?: Array<{ id: string }> };
    for (const s of stores.items ?? []) {
      const path = `stores/${encodeURIComponent(s.id)}/assortment`;
      await t.cache.refresh(`${id}:assortment:${s.id}?`, () => load('assortment', path));
      warmed++;
    }
  }
  return warmed;
}

/** One 1C base behind the gateway: its upstream (pool and cap), its cache. */
export interface TenantRuntime {
  tenant: RegateTenant;
  upstream: Upstream;
  cache: ReadCache;
  /** Calls this minute (quota). */
  window: { startedAt: number; calls: number };
  /** The last 1C outcome: 'ok', or why not. */
  onec: 'ok' | 'degraded' | 'down';
}

export function tenantRuntime(tenant: RegateTenant, thread: UpstreamThread, journal?: Journal): TenantRuntime {
  return { tenant, upstream: new Upstream(tenant, thread, journal), cache: new ReadCache(), window: { startedAt: 0, calls: 0 }, onec: 'ok' };
}

interface GatewayDeps {
  config: Config['regate'];
  store: Store;
  journal?: Journal;
  tenants: Map<string, TenantRuntime>;
  idempotency: IdempotencyStore;
  /** Each base's state, for GET /regate/v1/health (the same figures as Sputnik's own health). */
  health: () => { tenants: Record<string, unknown> };
}

declare module 'fastify' {
  interface FastifyRequest {
    tenant?: TenantRuntime;
    requestId: string;
  }
}

/**
 * The ReGate listener (specs/regate.md): HTTPS only (TLS ≥ 1.2), Basic auth bound to a tenant,
 * RFC 9457 errors, `X-Request-Id` on every answer; reads through the cache and the cap, writes by
 * Idempotency-Key through the cap (or queued durably when 1C is down), REST routes plus the task's
 * own method names as aliases, OpenAPI at /regate/v1/openapi.json and Swagger UI at /regate/docs.
 */
export async function createRegateApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const tls = deps.config.tls;
  const https = tls.pfxFile
    ? { pfx: readFileSync(tls.pfxFile), passphrase: tls.pfxPassword, minVersion: 'TLSv1.2' as const }
    : { key: readFileSync(tls.keyFile!), cert: readFileSync(tls.certFile!), minVersion: 'TLSv1.2' as const };
  const app = Fastify({
    https,
    bodyLimit: 2 * 1024 * 1024,
    requestTimeout: 120_000,
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    clientErrorHandler: clientError as unknown as FastifyServerOptions['clientErrorHandler'],
  }).withTypeProvider<ZodTypeProvider>();
  app.decorateRequest('requestId', '');
  app.setValidatorCompiler(({ schema, httpPart }) => (data) => {
    try {
      return { value: parsePart(schema as z.ZodType, data, httpPart === 'headers' ? 'headers' : 'field') };
    } catch (e) {
      return { error: e as RegateProblem };
    }
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  const failedLogins = new Map<string, { at: number; n: number }>();
  // Callback-style (not async): one promise turn less on every request.
  app.addHook('onRequest', (req, reply, done) => {
    try {
      admit(req, reply);
    } catch (e) {
      return done(e as Error);
    }
    done();
  });
  function admit(req: FastifyRequest, reply: FastifyReply): void {
    req.requestId = String(req.headers['x-request-id'] ?? req.id).slice(0, 100);
    reply.header('X-Request-Id', req.requestId);
    const path = req.url.split('?')[0];
    if (path === '/regate/v1/health' || path === '/regate/v1/openapi.json' || path.startsWith('/regate/docs')) return;
    const ip = req.ip;
    const fails = failedLogins.get(ip);
    if (fails && fails.n >= 10 && Date.now() - fails.at < MIN) throw new RegateProblem(429, 'too_many_logins', 'Слишком много неверных входов', 'Слишком много неверных логинов и паролей подряд: подождите минуту', { retryAfterSeconds: 60 });
    const tenant = authenticate(req.headers.authorization, deps.tenants);
    if (!tenant) {
      failedLogins.set(ip, { at: Date.now(), n: (fails && Date.now() - fails.at < MIN ? fails.n : 0) + 1 });
      reply.header('WWW-Authenticate', 'Basic realm="ReGate", charset="UTF-8"');
      throw new RegateProblem(401, 'unauthorized', 'Нужна авторизация', 'Неверный логин или пароль ReGate', { retryable: false });
    }
    failedLogins.delete(ip);
    const q = tenant.tenant.quotaPerMinute;
    if (q) {
      const now = Date.now();
      if (now - tenant.window.startedAt >= MIN) tenant.window = { startedAt: now, calls: 0 };
      if (++tenant.window.calls > q) throw new RegateProblem(429, 'quota_exceeded', 'Превышена квота', `Не больше ${q} вызовов в минуту`, { retryAfterSeconds: Math.ceil((tenant.window.startedAt + MIN - now) / 1000) });
    }
    req.tenant = tenant;
  }

  app.setErrorHandler((error, req, reply) => {
    const p =
      error instanceof RegateProblem
        ? error
        : (error as { statusCode?: number }).statusCode && (error as { statusCode: number }).statusCode < 500
          ? new RegateProblem((error as { statusCode: number }).statusCode, 'invalid_request', 'Неверный запрос', frameworkDetail(error), { retryable: false })
          : new RegateProblem(500, 'internal_error', 'Внутренняя ошибка', 'Внутренняя ошибка шлюза; подробности в журнале Спутника', { retryable: true });
    reply.send(problemBody(req, reply, p));
  });
  app.setNotFoundHandler((req, reply) => {
    // A HEAD is answered as its GET would be (same Content-Length), without the body.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    reply.send(problemBody(req, reply, new RegateProblem(404, 'not_found', 'Нет такого адреса', `Нет метода ${method} ${req.url.split('?')[0]}; список — /regate/docs`, { retryable: false })));
  });

  if (deps.journal) {
    const journal = deps.journal;
    // Callback-style hooks: an async hook costs extra promise turns on every request (cached pages run at thousands a second).
    app.addHook('onSend', (req, _reply, payload, done) => {
      if (typeof payload === 'string') req.replyText = payload;
      done(null, payload);
    });
    app.addHook('onResponse', (req, reply, done) => {
      done();
      if (req.url.startsWith('/regate/docs')) return;
      // A read answered from the cache reached no 1C and repeats the page journaled when it came
      // from 1C: such hits are counted (the cache hit rate per base) rather than journaled one by
      // one, which at thousands a second would push every other exchange out of the journal's size cap.
      const cached = reply.getHeader('x-cache') === 'HIT' || reply.getHeader('x-cache') === 'STALE';
      if (cached && reply.statusCode < 400) return;
      journal.record({
        direction: 'in',
        system: 'regate',
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
        requestBody: req.body === undefined ? undefined : JSON.stringify(req.body),
        responseBody: req.replyText,
        responseLimitBytes: req.method === 'GET' && reply.statusCode < 400 ? JOURNAL_PAGE_BYTES : undefined,
      });
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ReGate — шлюз Richest.store ⇄ 1С',
        version: VERSION,
        contact: { name: 'Администратор Спутника у владельца базы 1С' },
        license: { name: 'Проприетарная лицензия', identifier: 'LicenseRef-Proprietary' },
        description:
          'HTTPS + Basic (у каждой базы 1С свой логин). Ошибки — RFC 9457 application/problem+json {type,title,status,detail,code,retryable,requestId}; отказ 1С (404, 409, 422) несёт её код, текст и подробности (details, например строки с изменившейся ценой). ' +
          'Отказ — окончательный ответ: повтор с тем же ключом вернёт его же, отложенная запись получит state failed с problem. ' +
          'Записи требуют заголовок Idempotency-Key (повтор с тем же ключом безопасен; 72 ч). Если 1С недоступна, запись принимается (202) и выполняется позже: GET /operations/{id}.',
      },
      servers: [{ url: '/', description: 'Этот шлюз: https://<адрес>:<порт> выдаёт владелец базы 1С (порт по умолчанию 37443)' }],
      tags: [
        { name: TAGS.catalog, description: 'Справочники базы: версия, города, магазины, группы, товары с остатками и ценами (из кеша шлюза, когда можно)' },
        { name: TAGS.clients, description: 'Клиенты: найти или создать, изменить (записи: нужен Idempotency-Key)' },
        { name: TAGS.orders, description: 'Заказы: создать, оплатить, вернуть, узнать состояние (записи: нужен Idempotency-Key)' },
        { name: TAGS.operations, description: 'Отложенные записи: запись, принятая с 202, пока 1С была недоступна' },
        { name: TAGS.service, description: 'Состояние шлюза и баз 1С' },
      ],
      components: { securitySchemes: { basic: { type: 'http', scheme: 'basic', description: 'Логин и пароль базы 1С в ReGate (у каждой базы свои)' } } },
      security: [{ basic: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (d) => ('openapiObject' in d ? finishDocument(d.openapiObject, { name: 'Problem', schema: problemSchema, mediaType: 'application/problem+json' }) : d.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/regate/docs' });
  app.get('/regate/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const t = (req: FastifyRequest) => req.tenant!;

  /** A read through the cache, the single flight and the cap. */
  async function read(req: FastifyRequest, reply: FastifyReply, route: ReadMethod, key: string, policy: CachePolicy, path: string) {
    const tenant = t(req);
    const got = await tenant.cache
      .get(`${tenant.tenant.id}:${key}`, policy, async () => {
        const answer = await limited(tenant, 'read', undefined, { method: 'GET', path, timeoutMs: timeoutFor(tenant.tenant, route, 'read') });
        if (answer.status >= 400) throw businessProblem(answer);
        return answer.body;
      })
      .catch((e: unknown) => {
        throw e instanceof UpstreamFailure ? e.problem : e;
      });
    reply.header('X-Cache', got.state === 'fresh' ? 'HIT' : got.state === 'stale' ? 'STALE' : 'MISS');
    if (got.state === 'stale') reply.header('Warning', '110 - "Response is Stale"');
    const { text, bytes, etag } = serialized(got.value);
    reply.header('ETag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    if (got.state !== 'fresh' && got.state !== 'stale') req.replyText = text; // journaled when it came from 1C; a cache hit is only counted
    return reply.type('application/json; charset=utf-8').send(bytes);
  }

  /** A write by Idempotency-Key: replayed, refused, done now, or queued for when 1C is back. */
  async function write(req: FastifyRequest, reply: FastifyReply, input: unknown, route: WriteMethod, method: 'POST' | 'PUT' | 'PATCH', path: string, orderKey: string) {
    const tenant = t(req);
    const key = idempotencyKey(req.headers['idempotency-key']);
    const body = input === undefined ? null : JSON.stringify(input);
    // Durable before 1C is called: after a crash the write is found and re-sent with the same request id.
    const begun = await deps.store.commit.run(() => deps.idempotency.begin({ tenant: tenant.tenant.id, key, method, path, body, orderKey }));
    if (begun.kind === 'mismatch') throw new RegateProblem(422, 'idempotency_key_reused', 'Ключ уже использован', 'Этот Idempotency-Key уже использован с другим запросом', { retryable: false });
    if (begun.kind === 'in_progress') {
      if (begun.record.state === 'queued') return queuedAnswer(reply, begun.record);
      throw new RegateProblem(409, 'idempotency_in_progress', 'Запрос ещё выполняется', 'Запрос с этим Idempotency-Key ещё выполняется; повторите позже', { retryable: true, retryAfterSeconds: 2 });
    }
    if (begun.kind === 'replay') {
      reply.header('Idempotent-Replayed', 'true');
      return replay(req, reply, begun.record);
    }
    const record = begun.record;
    const outboxKey = writeQueueKey(tenant.tenant.id, orderKey);
    const queued = deps.store.outbox.latestForKey(outboxKey, 0);
    // Writes of one client or order keep their order: behind a queued one, this one queues too.
    if (queued && (queued.state === 'queued' || queued.state === 'running')) return queue(reply, record, outboxKey);
    let answer: UpstreamAnswer;
    try {
      answer = await limited(tenant, 'write', orderKey, { method, path, body: input, requestId: key, timeoutMs: timeoutFor(tenant.tenant, route, 'write') });
    } catch (e) {
      const f = e instanceof UpstreamFailure ? e : null;
      if (f?.kind === 'down' || e instanceof SlotTimeout) return queue(reply, record, outboxKey);
      // Outcome unknown (timeout, unreadable answer) or not done (locks): the key is free for a retry; 1C's register dedupes it.
      withoutFsync(deps.store.db, () => deps.idempotency.forget(record.id));
      throw f ? f.problem : e;
    }
    // 1C's final word, a refusal included, is kept for the key. No fsync of its own: if this record
    // is lost, start-up re-sends the write and 1C's register answers it.
    const outcome = writeOutcome(answer);
    withoutFsync(deps.store.db, () => deps.idempotency.finish(record.id, outcome.state, answer.status, outcome.answer));
    if (outcome.problem) throw outcome.problem;
    reply.code(answer.status);
    return answer.body;
  }

  async function queue(reply: FastifyReply, record: WriteRecord, outboxKey: string) {
    await deps.store.commit.run(() => {
      deps.idempotency.finish(record.id, 'queued', null, undefined);
      deps.store.outbox.enqueue({ connector: 'regate', kind: REGATE_JOB, key: outboxKey, payload: { id: record.id }, coalesce: false });
    });
    return queuedAnswer(reply, { ...record, state: 'queued' });
  }

  const str100 = z.string().min(1).max(100);
  const writeHeaders = z
    .object({ 'idempotency-key': exampled(z.string().min(1).max(255).describe('Уникальный ключ операции (UUID); повтор с тем же ключом безопасен'), '0b6f2c1e-7d4a-4c55-9f1e-3a2b8c9d0e1f') })
    .passthrough();
  const method = methodOf(writeHeaders);
  const assortmentQuery = {
    groupId: exampled(z.string().max(100).optional().describe('Только товары группы (id из storetable)'), 'g-2'),
    updatedSince: exampled(z.string().max(40).optional().describe('Только изменённые после этого момента (ISO 8601)'), '2026-11-23T08:00:00+03:00'),
    cursor: exampled(z.string().max(200).optional().describe('nextCursor прошлой страницы'), 'eyJvZmZzZXQiOjUwMH0'),
    limit: exampled(onecInteger({ min: 1, max: 500 }).optional().describe('Товаров на странице, 1–500'), 500),
  };
  const cityId = exampled(str100.describe('id города из city'), 'e89a11d2-b4a4-4e11-aa08-6c41ff0d1698');
  const storeId = exampled(str100.describe('id магазина из citystore'), 'a1b2c3d4-0000-4000-8000-000000000001');
  const externalId = exampled(str100.describe('Id клиента в Richest.store'), 'rs-client-1');
  const orderId = exampled(str100.describe('orderId заказа из booking'), 'f3c1a2b4-0000-4000-8000-000000000123');
  // The task's methods, each once: its REST route and its alias `/regate/{method}` run the same function.
  const methods = {
    state: method({ verb: 'GET', url: '/regate/v1/state', summary: 'state: версия 1С, конфигурация, организация', operationId: 'getState', tag: TAGS.catalog, response: { 200: E.state }, handle: (req, reply) => read(req, reply, 'state', 'state', POLICY.state, 'state') }),
    city: method({ verb: 'GET', url: '/regate/v1/cities', summary: 'city: города с магазинами', operationId: 'listCities', tag: TAGS.catalog, response: { 200: E.cities }, handle: (req, reply) => read(req, reply, 'city', 'cities', POLICY.catalogue, 'cities') }),
    citystore: method({
      verb: 'GET',
      url: '/regate/v1/cities/:cityId/stores',
      summary: 'citystore: магазины города',
      operationId: 'listCityStores',
      tag: TAGS.catalog,
      refusals: [R.cityNotFound],
      params: { cityId },
      response: { 200: E.stores },
      handle: (req, reply, { params: { cityId } }) => read(req, reply, 'citystore', `stores:${cityId}`, POLICY.catalogue, `cities/${encodeURIComponent(cityId)}/stores`),
    }),
    storetable: method({
      verb: 'GET',
      url: '/regate/v1/stores/:storeId/groups',
      summary: 'storetable: группы и подгруппы товаров магазина',
      operationId: 'listGroups',
      tag: TAGS.catalog,
      refusals: [R.storeNotFound],
      params: { storeId },
      response: { 200: E.groups },
      handle: (req, reply, { params: { storeId } }) => read(req, reply, 'storetable', `groups:${storeId}`, POLICY.catalogue, `stores/${encodeURIComponent(storeId)}/groups`),
    }),
    assortment: method({
      verb: 'GET',
      url: '/regate/v1/stores/:storeId/assortment',
      summary: 'assortment: товары магазина с остатками и ценами (страницами до 500)',
      operationId: 'listAssortment',
      tag: TAGS.catalog,
      refusals: [R.storeNotFound, R.badQuery],
      params: { storeId },
      query: assortmentQuery,
      response: { 200: E.assortment },
      handle: (req, reply, { params: { storeId }, query }) => {
        const q = new URLSearchParams(Object.entries(query).flatMap(([k, v]): Array<[string, string]> => (v === undefined ? [] : [[k, String(v)]]))).toString();
        return read(req, reply, 'assortment', `assortment:${storeId}?${q}`, POLICY.assortment, `stores/${encodeURIComponent(storeId)}/assortment${q ? `?${q}` : ''}`);
      },
    }),
    client: method({
      verb: 'PUT',
      url: '/regate/v1/clients/:externalId',
      summary: 'client: найти или создать клиента',
      operationId: 'putClient',
      tag: TAGS.clients,
      refusals: [R.client],
      params: { externalId },
      body: E.clientRequest,
      response: { 200: E.client, 201: E.client, 202: E.queued },
      handle: (req, reply, { params: { externalId }, body }) => write(req, reply, body, 'client', 'PUT', `clients/${encodeURIComponent(externalId)}`, `client:${externalId}`),
    }),
    clientupd: method({
      verb: 'PATCH',
      url: '/regate/v1/clients/:externalId',
      summary: 'clientupd: изменить клиента',
      operationId: 'updateClient',
      tag: TAGS.clients,
      refusals: [R.clientNotFound, R.client],
      params: { externalId },
      body: E.clientRequest,
      response: { 200: E.clientUpdated, 202: E.queued },
      handle: (req, reply, { params: { externalId }, body }) => write(req, reply, body, 'clientupd', 'PATCH', `clients/${encodeURIComponent(externalId)}`, `client:${externalId}`),
    }),
    booking: method({
      verb: 'POST',
      url: '/regate/v1/orders',
      summary: 'booking: создать заказ с адресом доставки',
      operationId: 'createOrder',
      tag: TAGS.orders,
      refusals: [R.clientNotFound, R.booking],
      body: E.bookingRequest,
      response: { 201: E.booking, 202: E.queued },
      handle: (req, reply, { body }) => {
        // Only text or a number names a client: String() of an object with its own toString key throws.
        const ext = (body as { client?: { externalId?: unknown } } | undefined)?.client?.externalId;
        const client = typeof ext === 'string' || typeof ext === 'number' ? String(ext) : 'anonymous';
        return write(req, reply, body, 'booking', 'POST', 'orders', `client:${client}`);
      },
    }),
    paycard: method({
      verb: 'POST',
      url: '/regate/v1/orders/:orderId/payments',
      summary: 'paycard: оплата заказа картой',
      operationId: 'payOrder',
      tag: TAGS.orders,
      refusals: [R.orderNotFound, R.alreadyPaid, R.payment],
      params: { orderId },
      body: E.paymentRequest,
      response: { 200: E.payment, 202: E.queued },
      handle: (req, reply, { params: { orderId }, body }) => write(req, reply, body, 'paycard', 'POST', `orders/${encodeURIComponent(orderId)}/payments`, `order:${orderId}`),
    }),
    bookingstate: method({
      verb: 'GET',
      url: '/regate/v1/orders/:orderId',
      summary: 'bookingstate: состояние заказа',
      operationId: 'getOrder',
      tag: TAGS.orders,
      refusals: [R.orderNotFound],
      params: { orderId },
      response: { 200: E.orderState },
      handle: (req, reply, { params: { orderId } }) => read(req, reply, 'bookingstate', `order:${orderId}`, POLICY.order, `orders/${encodeURIComponent(orderId)}`),
    }),
    refund: method({
      verb: 'POST',
      url: '/regate/v1/orders/:orderId/refunds',
      summary: 'refund: возврат оплаченного заказа',
      operationId: 'refundOrder',
      tag: TAGS.orders,
      refusals: [R.orderNotFound, R.refundConflict, R.refund],
      params: { orderId },
      body: E.refundRequest,
      response: { 202: E.refund },
      handle: (req, reply, { params: { orderId }, body }) => write(req, reply, body, 'refund', 'POST', `orders/${encodeURIComponent(orderId)}/refunds`, `order:${orderId}`),
    }),
  } satisfies Record<RegateMethod, Method>;

  const routes = (a: FastifyInstance) => {
    // Each method validates its own input (run): fastify's validation would only do it a second time.
    for (const m of Object.values(methods)) {
      a.route({ method: m.verb, url: m.url, schema: m.schema, validatorCompiler: () => (data) => ({ value: data }), handler: (req, reply) => m.run(req, reply, { params: req.params, query: req.query, body: req.body }) });
    }
    const operationSchema = {
      summary: 'Состояние отложенной записи (202)',
      operationId: 'getOperation',
      tags: [TAGS.operations],
      params: z.object({ id: exampled(onecInteger({ min: 1 }).describe('operationId из ответа 202'), '17') }),
      response: { 200: E.operation, ...errorAnswers(problemSchema, [P.invalid, P.unauthorized, P.operationNotFound, P.tooManyLogins, P.quota, P.requestTimeout, P.headers, P.internal]) },
    };
    a.get('/regate/v1/operations/:id', { schema: operationSchema }, async (req) => {
      const r = deps.idempotency.get((req.params as { id: number }).id);
      if (!r || r.tenant !== t(req).tenant.id) throw new RegateProblem(404, 'operation_not_found', 'Нет такой операции', 'Операция не найдена (или старше 72 ч)', { retryable: false });
      return operationView(r);
    });
    const healthSchema = {
      summary: 'Шлюз и каждая база 1С: состояние, текущий лимит, вызовы и очереди',
      operationId: 'getHealth',
      tags: [TAGS.service],
      security: [],
      response: { 200: E.health, ...errorAnswers(problemSchema, [{ ...P.invalid, means: 'запрос не по протоколу HTTP/1.1' }, P.requestTimeout, P.headers, P.internal]) },
    };
    a.get('/regate/v1/health', { schema: healthSchema }, async () => ({
      gateway: 'ok',
      tenants: deps.health().tenants,
    }));
  };
  routes(app);
  aliases(app, methods);
  return app;
}

/**
 * Makes a 1C call inside the tenant's cap (waiting at most `waitMs` for a slot); its outcome steers
 * the AIMD limit (in the upstream thread) and the tenant's health. The one way every 1C call is
 * made: requests, pre-warming, queued writes.
 */
export async function underCap(tenant: TenantRuntime, kind: 'read' | 'write', call: UpstreamRequest, opts: { key?: string; waitMs?: number } = {}): Promise<UpstreamAnswer> {
  try {
    const r = await tenant.upstream.call(kind, call, opts);
    tenant.onec = 'ok';
    return r;
  } catch (e) {
    if (e instanceof UpstreamFailure) tenant.onec = e.kind === 'down' ? 'down' : 'degraded';
    throw e;
  }
}

/** A request's 1C call: a read that finds no slot in time is 503; a write is queued instead. */
async function limited(tenant: TenantRuntime, kind: 'read' | 'write', key: string | undefined, call: UpstreamRequest): Promise<UpstreamAnswer> {
  try {
    return await underCap(tenant, kind, call, { key, waitMs: SLOT_WAIT_MS[kind] });
  } catch (e) {
    if (!(e instanceof LimiterTimeout)) throw e;
    if (kind === 'write') throw new SlotTimeout();
    throw new RegateProblem(503, 'onec_busy', '1С занята', 'Все сеансы 1С заняты; повторите позже', { retryAfterSeconds: 5 });
  }
}

class SlotTimeout extends Error {}

// A cached answer is serialized, encoded and hashed once, not on every hit (a hot assortment page is read thousands of times a second).
const wire = new WeakMap<object, { text: string; bytes: Buffer; etag: string }>();
function serialized(value: unknown): { text: string; bytes: Buffer; etag: string } {
  const key = value !== null && typeof value === 'object' ? value : null;
  const known = key && wire.get(key);
  if (known) return known;
  const text = JSON.stringify(value);
  const bytes = Buffer.from(text, 'utf8');
  const out = { text, bytes, etag: `"${createHash('sha1').update(bytes).digest('base64url')}"` };
  if (key) wire.set(key, out);
  return out;
}

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

function idempotencyKey(header: string | string[] | undefined): string {
  const v = (Array.isArray(header) ? header[0] : header)?.trim().replace(/^"(.*)"$/, '$1');
  if (!v) throw new RegateProblem(400, 'idempotency_key_required', 'Нужен Idempotency-Key', 'Для записи нужен заголовок Idempotency-Key (например, UUID операции)', { retryable: false });
  if (v.length > 255) throw new RegateProblem(400, 'idempotency_key_too_long', 'Слишком длинный ключ', 'Idempotency-Key длиннее 255 символов', { retryable: false });
  return v;
}

/** 1C said no (404 unknown store, 409 already paid, 422 amount ≠ sum): its words and particulars, our shape. */
export function businessProblem(answer: { status: number; body: unknown }): RegateProblem {
  const b = (answer.body ?? {}) as { code?: unknown; message?: unknown; detail?: unknown; title?: unknown; details?: unknown };
  const detail = String(b.detail ?? b.message ?? 'отказ 1С');
  return new RegateProblem(answer.status, typeof b.code === 'string' ? b.code : `onec_${answer.status}`, String(b.title ?? 'Отказ 1С'), detail, { retryable: false, details: b.details });
}

/** A write's final outcome from 1C's answer: done with its body, or failed with the problem made of its refusal. */
export function writeOutcome(answer: { status: number; body: unknown }): { state: 'done' | 'failed'; answer: unknown; problem?: RegateProblem } {
  if (answer.status < 400) return { state: 'done', answer: answer.body };
  const problem = businessProblem(answer);
  return { state: 'failed', answer: problem.stored(), problem };
}

/**
 * A request Node's parser refused (not HTTP, headers over 16 KB, not sent in time): a problem, after
 * the answers due before it on the connection; then the connection closes.
 */
function clientError(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, reason, code, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'Заголовки запроса больше 16 КБ']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'Запрос не пришёл целиком вовремя; повторите его']
        : [400, 'Bad Request', 'invalid_request', 'Запрос не по протоколу HTTP/1.1'];
  const requestId = randomUUID();
  const problem = new RegateProblem(status, code, 'Неверный запрос', detail, { retryable: status === 408 });
  endWithRawResponse(socket, { status, reason, type: PROBLEM_TYPE, body: JSON.stringify(problem.toBody(requestId)), head: failedRequest(err).head, headers: `X-Request-Id: ${requestId}\r\n` });
}

/** fastify's own refusals (body not JSON, media type, size), in Russian as every detail is. */
function frameworkDetail(error: unknown): string {
  switch (error instanceof Error && 'code' in error ? error.code : undefined) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'Тело запроса — не корректный JSON (или в нём поле __proto__ либо constructor.prototype)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Тело запроса пустое, а Content-Type — application/json';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Тело запроса передавайте в JSON с Content-Type: application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Тело запроса больше 2 МБ';
  }
  return `Запрос не может быть обработан: ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}`;
}

/** Sets a problem's status, type and Retry-After on the reply; returns its body (RFC 9457, with this request's id). */
function problemBody(req: FastifyRequest, reply: FastifyReply, p: RegateProblem): string {
  if (p.retryAfterSeconds !== undefined) reply.header('Retry-After', String(p.retryAfterSeconds));
  reply.code(p.status).type(PROBLEM_TYPE);
  return JSON.stringify(p.toBody(req.requestId));
}

function replay(req: FastifyRequest, reply: FastifyReply, r: WriteRecord) {
  // A refusal is answered here rather than thrown: fastify's error path drops the Idempotent-Replayed header.
  if (r.state === 'failed') return problemBody(req, reply, RegateProblem.fromStored(JSON.parse(r.answer!) as StoredProblem));
  reply.code(r.status ?? 200);
  return r.answer === null ? null : JSON.parse(r.answer);
}

function queuedAnswer(reply: FastifyReply, r: WriteRecord) {
  reply.code(202).header('Location', `/regate/v1/operations/${r.id}`);
  return { operationId: String(r.id), state: r.state };
}

export function operationView(r: WriteRecord) {
  const answer = r.answer === null ? null : JSON.parse(r.answer);
  return {
    operationId: String(r.id),
    state: r.state,
    ...(r.state === 'done' ? { status: r.status, result: answer } : {}),
    ...(r.state === 'failed' ? { status: r.status, problem: answer } : {}),
  };
}

/** The tags of /regate/v1/openapi.json: a generated client's API classes. */
const TAGS = { catalog: 'catalog', clients: 'clients', orders: 'orders', operations: 'operations', service: 'service' } as const;

const COMMON_PROBLEMS = [P.invalid, P.unauthorized, P.tooManyLogins, P.quota, P.badAnswer, P.onecAuth, P.busy, P.locked, P.timeout, P.requestTimeout, P.headers, P.internal];
/** A read answers 503 when 1C is down; a write is queued instead (202). */
const READ_PROBLEMS = [...COMMON_PROBLEMS, P.unavailable];
const WRITE_PROBLEMS = [...COMMON_PROBLEMS, P.keyRequired, P.keyTooLong, P.inProgress, P.keyReused];

/** One of the task's methods: its REST route's address and schema, and the function both it and the alias run. */
interface Method {
  verb: 'GET' | 'PUT' | 'PATCH' | 'POST';
  url: string;
  /** For fastify's routing and the OpenAPI document. */
  schema: { summary: string; operationId: string; tags: string[]; params?: z.ZodType; querystring?: z.ZodType; headers?: z.ZodType; body?: z.ZodType; response: Record<string, z.ZodType> };
  /** Its path parameters' names: an alias takes them from the query or the body. */
  paramNames: string[];
  /** Parses the input as the REST route would (params, body, query, headers: fastify's order) and runs the method. */
  run(req: FastifyRequest, reply: FastifyReply, raw: { params: unknown; query: unknown; body: unknown }): unknown;
}

interface MethodDef<P extends z.ZodRawShape, Q extends z.ZodRawShape, B extends z.ZodType> {
  verb: Method['verb'];
  url: string;
  summary: string;
  /** The generated client's method name. */
  operationId: string;
  tag: string;
  /** 1C's refusals this method may pass on (its own codes, statuses and texts). */
  refusals?: ErrorDoc[];
  params?: P;
  query?: Q;
  /** A write's body; a method with one also needs the Idempotency-Key header. */
  body?: B;
  response: Record<number, z.ZodType>;
  handle: (req: FastifyRequest, reply: FastifyReply, input: { params: z.output<z.ZodObject<P>>; query: z.output<z.ZodObject<Q>>; body: z.output<B> | undefined }) => unknown;
}

/** Declares methods whose writes need `writeHeaders`. */
function methodOf(writeHeaders: z.ZodType) {
  return <P extends z.ZodRawShape = {}, Q extends z.ZodRawShape = {}, B extends z.ZodType = z.ZodUnknown>(def: MethodDef<P, Q, B>): Method => {
    const params = z.object(def.params ?? ({} as P));
    const query = z.object(def.query ?? ({} as Q));
    const headers = def.body ? writeHeaders : undefined;
    const response = { ...def.response, ...errorAnswers(problemSchema, [...(def.body ? WRITE_PROBLEMS : READ_PROBLEMS), ...(def.refusals ?? [])]) };
    return {
      verb: def.verb,
      url: def.url,
      schema: {
        summary: def.summary,
        operationId: def.operationId,
        tags: [def.tag],
        ...(def.params ? { params } : {}),
        ...(def.query ? { querystring: query } : {}),
        ...(headers ? { headers } : {}),
        ...(def.body ? { body: def.body } : {}),
        response,
      },
      paramNames: Object.keys(def.params ?? {}),
      run(req, reply, raw) {
        const p = parsePart(params, raw.params, 'field');
        const body = def.body ? parsePart(def.body, raw.body, 'field') : undefined;
        const q = parsePart(query, raw.query, 'field');
        if (headers) parsePart(headers, req.headers, 'headers');
        return def.handle(req, reply, { params: p, query: q, body });
      },
    };
  };
}

/**
 * Parses one part of a request; a refusal is the 400 naming the field or header (a missing or
 * overlong Idempotency-Key has its own code).
 */
function parsePart<T extends z.ZodType>(schema: T, data: unknown, part: 'field' | 'headers'): z.output<T> {
  const r = schema.safeParse(data ?? {}, INPUT_IN_ISSUES);
  if (r.success) return r.data;
  const [first] = describeZodError(r.error);
  if (part === 'headers' && first.field === 'idempotency-key') idempotencyKey((data as Record<string, string | undefined>)['idempotency-key']); // throws its own problem
  throw new RegateProblem(400, 'invalid_request', 'Неверный запрос', `${part === 'headers' ? 'Заголовок' : 'Поле'} «${first.field}»: ${first.message}`, { retryable: false });
}

/**
 * The task's own method names (`/regate/{method}`, any case, parameters in the query or a JSON
 * body) run the same functions as the REST routes, within the same request: one call, one quota
 * unit, one journal row.
 */
function aliases(app: FastifyInstance, methods: Record<RegateMethod, Method>): void {
  const byName = new Map<string, Method>(Object.entries(methods));
  const handler = (req: FastifyRequest, reply: FastifyReply) => {
    const name = (req.params as { method: string }).method.toLowerCase();
    const m = byName.get(name);
    if (!m) throw new RegateProblem(404, 'unknown_method', 'Нет такого метода', `Метод «${name}» неизвестен; методы: ${[...byName.keys()].join(', ')}`, { retryable: false });
    const body = req.body ?? {};
    const given = new Map<string, string>();
    for (const [k, v] of Object.entries({ ...(req.query as object), ...(typeof body === 'object' ? body : {}) })) if (typeof v === 'string' || typeof v === 'number') given.set(k, String(v));
    const params = Object.fromEntries(m.paramNames.flatMap((k) => (given.has(k) ? [[k, given.get(k)]] : [])));
    const query = Object.fromEntries([...given].filter(([k]) => !m.paramNames.includes(k)));
    return m.run(req, reply, { params, query, body: m.verb === 'GET' ? undefined : body });
  };
  app.get('/regate/:method', { schema: { hide: true } }, handler);
  app.post('/regate/:method', { schema: { hide: true } }, handler);
}
