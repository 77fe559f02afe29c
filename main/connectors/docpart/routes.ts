import { z } from 'zod';
import { DeliveryError, SputnikError } from '../../errors.ts';
import type { ListenerApp } from '../../listener/app.ts';
import { toOnecDateTime, pageLimit, onecInteger } from '../../listener/onec-values.ts';
import { decodeCursor, encodeCursor } from '../../store/cursor.ts';
import type { ModuleContext } from '../../core/module.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { DocpartClient, User } from './client.ts';
import type { DocpartRepo, OrderDoc } from './repo.ts';
import type { DocpartSync, SyncResult } from './sync.ts';
import { documented, exampled } from '../../listener/openapi.ts';
import { INVALID_CURSOR, onecError, onecErrors } from '../../listener/error-docs.ts';
import { DOCPART_TAG } from './module.ts';
import * as EX from './examples.ts';
import { isStopReason } from '../../store/worker-pool.ts';

/** A sync a stop cut short: nothing failed at Docpart, the pull runs again after the start; 1C should ask again. */
const SYNC_STOPPED = new SputnikError(503, 'sputnik_stopping', 'Спутник останавливается: загрузка заказов Docpart прервана и пройдёт заново после его запуска; повторите запрос позже', {
  headers: { 'Retry-After': '10' },
});

const ORDERS_FEED = 'docpart_orders';
const PAYMENTS_FEED = 'docpart_payments';
/** A cached article answer is served for this long before Docpart's cross server is asked again. */
export const ARTICLE_TTL_MS = 24 * 3600_000;
/** After its TTL an answer is kept this long for when the cross server fails (served stale), then housekeeping drops it. */
export const ARTICLE_KEEP_MS = 30 * 24 * 3600_000;

const feedQuery = z.object({
  since: exampled(z.string().max(200).optional().describe('Значение next из прошлого ответа; пусто — с начала'), '', 'ZG9jcGFydF9vcmRlcnM6Ng'),
  changedSince: z.string().max(200).optional().describe('То же, что since (так этот параметр называется у карт и счетов)'),
  limit: exampled(pageLimit(1000, 100), 100),
});
const syncQuery = z.object({ wait: exampled(onecInteger({ min: 0, max: 120 }).optional().transform((v) => v ?? 60).describe('Сколько секунд ждать окончания загрузки (0–120, по умолчанию 60)'), 60) });

const unix = (s: number) => (s ? toOnecDateTime(s * 1000) : null);

// What 1C reads (documentation: the serializer does not validate answers). Money is decimal text.
const localTime = (what: string) => z.string().nullable().describe(`${what}, местное время YYYY-MM-DDTHH:MM:SS; null — неизвестно`);
const money = (what: string) => z.string().describe(`${what}, рублей: десятичная строка с точкой (1117.00)`);

const orderItemView = z.object({
  itemId: z.number().int().describe('Номер строки заказа в Docpart'),
  orderId: z.number().int(),
  productType: z.number().int().describe('Тип товара в Docpart: 1 — из каталога (productId), 2 — найденный по артикулу у поставщика'),
  productId: z.number().int().nullable().describe('Товар каталога Docpart; null — не из каталога'),
  productName: z.string(),
  brand: z.string().describe('Производитель'),
  article: z.string().describe('Артикул'),
  count: z.number().describe('Количество'),
  price: money('Цена'),
  amount: money('Сумма строки'),
  statusId: z.number().int().describe('Состояние строки (справочник состояний Docpart)'),
  statusName: z.string(),
  termDays: z.number().int().nullable().describe('Срок поставки, дней'),
  guaranteedTermDays: z.number().int().nullable().describe('Гарантированный срок поставки, дней'),
});

const userView = z
  .object({
    userId: z.number().int(),
    regVariant: z.number().int().describe('Вариант регистрации (настраивается в Docpart)'),
    regField: z.string().describe('Логин: телефон или e-mail, смотря по варианту регистрации'),
    unlocked: z.boolean().describe('false — покупатель заблокирован'),
    activated: z.boolean(),
    timeRegistered: localTime('Когда зарегистрирован'),
    timeLastVisit: localTime('Последний визит'),
    fields: z.record(z.string(), z.string()).describe('Поля регистрации как есть: surname, name, patronymic, cellphone, email…'),
  })
  .nullable()
  .describe('Покупатель; null — заказ гостя (userId 0) или покупатель не найден');

const orderSchema = z.object({
  orderId: z.number().int().describe('Номер заказа в Docpart'),
  time: localTime('Когда создан'),
  userId: z.number().int().describe('Покупатель; 0 — гость'),
  status: z.number().int().describe('Состояние заказа (справочник состояний Docpart)'),
  paid: z.number().int().describe('1 — оплачен, 0 — нет'),
  amount: money('Сумма заказа'),
  obtainId: z.number().int().describe('Способ получения'),
  obtainCaption: z.string(),
  officeId: z.number().int().describe('Офис выдачи'),
  officeName: z.string(),
  items: z.array(orderItemView).describe('Строки заказа'),
  user: userView,
});

const paymentSchema = z.object({
  paymentId: z.number().int(),
  userId: z.number().int(),
  time: localTime('Когда проведено'),
  income: z.boolean().describe('true — поступление на баланс покупателя, false — списание (оплата заказа)'),
  orderId: z.number().int().describe('Заказ, который оплачен; 0 — не по заказу'),
  amount: money('Сумма, всегда положительная'),
  operationCode: z.number().int().describe('Код операции (справочник операций Docpart)'),
});

const next = z.string().describe('Курсор для следующего вызова (since или changedSince); не меняется от перезапусков');
const syncDone = z.object({
  orders: z.number().int().describe('Заказов просмотрено'),
  changed: z.number().int().describe('Из них новых или изменившихся'),
  payments: z.number().int().describe('Движений по балансу просмотрено'),
  paymentsChanged: z.number().int().describe('Из них новых или изменившихся'),
  users: z.number().int().describe('Покупателей загружено'),
  finishedAt: z.string().describe('Когда загрузка закончилась, местное время'),
});
const syncRunning = z.object({
  state: z.literal('running'),
  stage: z.enum(['items', 'payments']).nullable().describe('items — заказы со строками и покупателями; payments — движения по балансу'),
  counts: z.object({ orders: z.number().int(), items: z.number().int(), users: z.number().int(), payments: z.number().int(), saved: z.number().int().describe('Заказов уже сохранено') }),
});

const docpartDisabled = onecError(new SputnikError(409, 'docpart_disabled', 'Docpart выключен в настройках Спутника'), 'Docpart выключен в настройках Спутника');

function orderView(o: OrderDoc, user: User | null) {
  return {
    orderId: o.orderId,
    time: unix(o.time),
    userId: o.userId,
    status: o.status,
    paid: o.paid,
    amount: o.amount,
    obtainId: o.obtainId,
    obtainCaption: o.obtainCaption,
    officeId: o.officeId,
    officeName: o.officeName,
    items: o.items,
    user: user && { ...user, timeRegistered: unix(user.timeRegistered ?? 0), timeLastVisit: unix(user.timeLastVisit ?? 0) },
  };
}

/** A buyer as staff know them: full name from the registration fields, else the login (phone or e-mail). */
function buyerName(user: User | null): string {
  if (!user) return 'гость';
  const f = user.fields;
  const name = [f.surname, f.name, f.patronymic].filter(Boolean).join(' ');
  return name || user.regField || `покупатель ${user.userId}`;
}

export const syncResultView = (r: SyncResult) => ({ orders: r.orders, changed: r.changed, payments: r.payments, paymentsChanged: r.paymentsChanged, users: r.users, finishedAt: toOnecDateTime(r.finishedAt) });

/** Docpart routes for 1C (listener-api.md, "Docpart orders"). */
export function docpartRoutes(ctx: ModuleContext, repo: DocpartRepo, sync: DocpartSync, client: DocpartClient) {
  const cursor = (feed: string, q: { since?: string; changedSince?: string }) => {
    const [param, value] = q.since !== undefined ? ['since', q.since] : ['changedSince', q.changedSince];
    return value ? decodeCursor(feed, value, param) : 0;
  };

  return (app: ListenerApp) => {
    app.get(
      '/v1/docpart/orders',
      {
        schema: {
          summary: 'Новые и изменившиеся заказы Docpart (для регламентного задания 1С)',
          description:
            'Заказы, которые появились или изменились (статус, оплата, сумма, любая строка) после курсора, от старых изменений к новым, со строками (items) и данными покупателя (user, с полями регистрации). ' +
            'next — курсор для следующего вызова; он не меняется от перезапусков. Видны заказы, созданные за последние docpart.lookbackDays дней.',
          querystring: feedQuery,
          operationId: 'listDocpartOrders',
          tags: [DOCPART_TAG],
          response: {
            200: documented(z.object({ orders: z.array(orderSchema), next }), 'Заказы после курсора (пустой список — новых нет; next тогда прежний)', {
              page: { summary: 'Заказ покупателя и заказ гостя', value: { orders: [EX.ORDER, EX.GUEST_ORDER], next: 'ZG9jcGFydF9vcmRlcnM6Ng' } },
              empty: { summary: 'Новых нет', value: { orders: [], next: 'ZG9jcGFydF9vcmRlcnM6Ng' } },
            }),
            ...onecErrors([INVALID_CURSOR]),
          },
        },
      },
      async (req) => {
        const q = req.query;
        const after = cursor(ORDERS_FEED, q);
        const rows = repo.ordersAfter(after, q.limit);
        return { orders: rows.map((r) => orderView(r.order, r.user)), next: encodeCursor(ORDERS_FEED, rows.length ? rows[rows.length - 1].seq : after) };
      },
    );

    app.get(
      '/v1/docpart/payments',
      {
        schema: {
          summary: 'Новые и изменившиеся движения по балансу покупателей Docpart',
          description: 'Поступления и списания по балансу покупателей после курсора, от старых изменений к новым; next — курсор для следующего вызова.',
          querystring: feedQuery,
          operationId: 'listDocpartPayments',
          tags: [DOCPART_TAG],
          response: {
            200: documented(z.object({ payments: z.array(paymentSchema), next }), 'Движения после курсора', {
              page: { summary: 'Поступление и оплата заказа с баланса', value: { payments: EX.PAYMENTS, next: 'ZG9jcGFydF9wYXltZW50czoxNA' } },
            }),
            ...onecErrors([INVALID_CURSOR]),
          },
        },
      },
      async (req) => {
        const q = req.query;
        const after = cursor(PAYMENTS_FEED, q);
        const rows = repo.paymentsAfter(after, q.limit);
        return { payments: rows.map((r) => ({ ...r.payment, time: unix(r.payment.time) })), next: encodeCursor(PAYMENTS_FEED, rows.length ? rows[rows.length - 1].seq : after) };
      },
    );

    app.get(
      '/v1/docpart/articles/:article',
      {
        schema: {
          summary: 'Производители и наименования по артикулу (сервер кроссов Docpart, с кешем на сутки)',
          description: 'items пуст — артикул неизвестен. Если сервер кроссов не отвечает, отдаётся прошлый ответ из кеша (stale: true) или 502.',
          params: z.object({ article: exampled(z.string().min(1).max(100).describe('Артикул как есть (пробелы и дефисы можно)'), '0242126844') }),
          operationId: 'getDocpartArticle',
          tags: [DOCPART_TAG],
          response: {
            200: documented(
              z.object({
                article: z.string(),
                items: z.array(z.object({ manufacturer: z.string(), name: z.string() })).describe('Производители и наименования; пусто — артикул неизвестен'),
                fetchedAt: z.string().describe('Когда сервер кроссов ответил так, местное время'),
                stale: z.boolean().describe('true — сервер кроссов сейчас не отвечает, это прошлый ответ из кеша'),
              }),
              'Производители и наименования',
              {
                found: { summary: 'Артикул известен', value: EX.ARTICLE },
                unknown: { summary: 'Артикул неизвестен', value: { ...EX.ARTICLE, article: 'OC 90', items: [] } },
                stale: { summary: 'Сервер кроссов не ответил: прошлый ответ из кеша', value: { ...EX.ARTICLE, fetchedAt: '2026-12-01T10:00:00', stale: true } },
              },
            ),
            ...onecErrors([
              docpartDisabled,
              onecError(new SputnikError(502, 'docpart_unavailable', 'Сервер кроссов Docpart не ответил'), 'сервер кроссов Docpart не ответил, а прошлого ответа в кеше нет'),
            ]),
          },
        },
      },
      async (req) => {
        const article = req.params.article.trim();
        const cached = repo.article(article);
        if (cached && ctx.store.outbox.now() - cached.fetchedAt < ARTICLE_TTL_MS) return { article, items: cached.items, fetchedAt: toOnecDateTime(cached.fetchedAt), stale: false };
        if (!ctx.config().docpart.enabled) throw new SputnikError(409, 'docpart_disabled', 'Docpart выключен в настройках Спутника');
        try {
          const items = await client.article(article);
          const now = ctx.store.outbox.now();
          // A cache: losing it to a power cut costs one more question to the cross server, so no fsync of its own.
          await ctx.store.write(() => repo.putArticle(article, items, now), { durability: 'relaxed' });
          return { article, items, fetchedAt: toOnecDateTime(now), stale: false };
        } catch (e) {
          if (cached) return { article, items: cached.items, fetchedAt: toOnecDateTime(cached.fetchedAt), stale: true };
          throw new SputnikError(502, 'docpart_unavailable', e instanceof DeliveryError ? e.message : 'Сервер кроссов Docpart не ответил');
        }
      },
    );

    app.post(
      '/v1/docpart/sync',
      {
        schema: {
          summary: 'Загрузить заказы Docpart сейчас',
          description: '200 — загрузка закончилась (сколько нашла); 202 — ещё идёт (stage, counts); 502 — Docpart ответил ошибкой; 503 — Спутник останавливается, загрузка прервана (повторите после его запуска).',
          querystring: syncQuery,
          operationId: 'syncDocpart',
          tags: [DOCPART_TAG],
          response: {
            200: documented(syncDone, 'Загрузка закончилась: сколько нашла', { done: { summary: 'Загрузка закончилась', value: EX.SYNC_DONE } }),
            202: documented(syncRunning, 'Загрузка ещё идёт (дольше wait секунд): что найдено на сейчас', { running: { summary: 'Загрузка идёт', value: EX.SYNC_RUNNING } }),
            ...onecErrors([
              docpartDisabled,
              onecError(
                new SputnikError(502, 'docpart_refused', 'Docpart ответил ошибкой на get_orders: Access denied'),
                'Docpart ответил ошибкой или не ответил; код — причина: docpart_refused, docpart_unavailable, docpart_auth (ключ или пароль), network_error, docpart_failed',
              ),
              onecError(SYNC_STOPPED, 'Спутник останавливается (выход, остановка или перезапуск службы): загрузка прервана и пройдёт заново после запуска; повторите запрос через Retry-After секунд'),
            ]),
          },
        },
      },
      async (req, reply) => {
        if (!ctx.config().docpart.enabled) throw new SputnikError(409, 'docpart_disabled', 'Docpart выключен в настройках Спутника');
        const { wait } = req.query;
        const outcome = await ctx.waits.until(sync.run(), wait);
        if (outcome.outcome === 'timeout') {
          reply.code(202);
          const p = sync.progress();
          return { state: 'running' as const, stage: p.stage, counts: p.counts };
        }
        if (outcome.outcome === 'closed') throw SYNC_STOPPED;
        if (outcome.outcome === 'failed') {
          const e = outcome.error;
          if (isStopReason(e)) throw SYNC_STOPPED;
          throw new SputnikError(502, e instanceof DeliveryError ? e.code : 'docpart_failed', e instanceof Error ? e.message : String(e));
        }
        return syncResultView(outcome.value);
      },
    );
  };
}

/** The tray window's view of the pulls: progress and "sync now". */
export function docpartAdmin(sync: DocpartSync, repo: DocpartRepo, enabled: () => boolean) {
  const view = () => {
    const p = sync.progress();
    return {
      ...p,
      startedAt: p.startedAt && toOnecDateTime(p.startedAt),
      nextAt: p.nextAt && toOnecDateTime(p.nextAt),
      last: p.last && syncResultView(p.last),
      lastError: p.lastError && { ...p.lastError, at: toOnecDateTime(p.lastError.at) },
      stored: repo.counts(),
    };
  };
  const listQuery = z.object({
    q: z.string().max(200).optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  });
  return (app: AdminApp) => {
    app.get('/api/docpart/orders', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query;
      const { rows, total } = repo.search(q.q?.trim() ?? '', q.offset, q.limit);
      return {
        orders: rows.map(({ order, user, changedAt }) => ({
          orderId: order.orderId,
          time: unix(order.time),
          userId: order.userId,
          status: order.status,
          paid: order.paid,
          amount: order.amount,
          obtainCaption: order.obtainCaption,
          officeName: order.officeName,
          itemsCount: order.items.length,
          buyer: buyerName(user),
          changedAt: toOnecDateTime(changedAt),
        })),
        total,
      };
    });
    app.get<{ Params: { id: string } }>('/api/docpart/orders/:id', async (req) => {
      const found = repo.order(Number(req.params.id));
      if (!found) throw new SputnikError(404, 'order_not_found', 'Такого заказа Docpart в Спутнике нет: он не попадал в загрузку');
      return { ...orderView(found.order, found.user), buyer: buyerName(found.user), changedAt: toOnecDateTime(found.changedAt) };
    });
    app.get('/api/docpart/sync', async () => view());
    app.post('/api/docpart/sync', async () => {
      if (!enabled()) throw new SputnikError(409, 'docpart_disabled', 'Docpart выключен в настройках Спутника');
      void sync.run().catch(() => {});
      return view();
    });
  };
}

