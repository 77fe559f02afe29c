import { z } from 'zod';
import { exampled } from '../listener/openapi.ts';
import { onecInteger } from '../listener/onec-values.ts';
import type { CachePolicy } from './cache.ts';
import { EXAMPLES as E, REFUSALS as R } from './examples.ts';
import { NONE, read, TAGS, write, type Method } from './method.ts';
import type { CallKind } from './sessions.ts';

/**
 * The gateway's methods, each once: the task's own name (its alias `/regate/{name}`, the names a
 * tenant's `timeouts.routes` may use), its REST route and OpenAPI entry, whether it reads or
 * writes (which of the tenant's timeouts applies), its cache policy, its 1C call. The routes, the
 * aliases, the timeouts and a queued write's stored method all come from here. Imports nothing of
 * the config (config/schema.ts takes the names from here).
 */

const MIN = 60_000;
const POLICY = {
  state: { freshMs: 60 * MIN, staleMs: 24 * 60 * MIN, staleIfErrorMs: 7 * 24 * 60 * MIN },
  catalogue: { freshMs: 10 * MIN, staleMs: 60 * MIN, staleIfErrorMs: 24 * 60 * MIN },
  assortment: { freshMs: MIN, staleMs: 10 * MIN, staleIfErrorMs: 60 * MIN },
  order: { freshMs: 5000, staleMs: 0, staleIfErrorMs: 5 * MIN },
} satisfies Record<string, CachePolicy>;

/** A 1C path with each value put in encoded: `onec\`cities/${id}/stores\``. */
const onec = (parts: TemplateStringsArray, ...values: string[]) => parts.reduce((path, part, i) => path + encodeURIComponent(values[i - 1]) + part);

const str100 = z.string().min(1).max(100);
const cityId = exampled(str100.describe('id города из city'), 'e89a11d2-b4a4-4e11-aa08-6c41ff0d1698');
const storeId = exampled(str100.describe('id магазина из citystore'), 'a1b2c3d4-0000-4000-8000-000000000001');
const externalId = exampled(str100.describe('Id клиента в Richest.store'), 'rs-client-1');
const orderId = exampled(str100.describe('orderId заказа из booking'), 'f3c1a2b4-0000-4000-8000-000000000123');
const assortmentQuery = z.object({
  groupId: exampled(z.string().max(100).optional().describe('Только товары группы (id из storetable)'), 'g-2'),
  updatedSince: exampled(z.string().max(40).optional().describe('Только изменённые после этого момента (ISO 8601)'), '2026-11-23T08:00:00+03:00'),
  cursor: exampled(z.string().max(200).optional().describe('nextCursor прошлой страницы'), 'eyJvZmZzZXQiOjUwMH0'),
  limit: exampled(onecInteger({ min: 1, max: 500 }).optional().describe('Товаров на странице, 1–500'), 500),
});

/** The client a booking is for (its line): only text or a number names one (String() of an object with its own toString key throws). */
function bookingClient(body: Record<string, unknown>): string {
  const client = body.client;
  const ext = client !== null && typeof client === 'object' && 'externalId' in client ? client.externalId : undefined;
  return typeof ext === 'string' || typeof ext === 'number' ? String(ext) : 'anonymous';
}

/** The store a booking is for, when its body names one as text. */
function bookingStore(body: unknown): string | undefined {
  const store = body !== null && typeof body === 'object' && 'storeId' in body ? body.storeId : undefined;
  return typeof store === 'string' ? store : undefined;
}

/** An order's state as bookingstate reads it, from a payment's or a refund's 1C path (`orders/{id}/payments`). */
const orderOf = (path: string) => [path.replace(/\/[^/]*$/, '')];

export const REGATE_METHODS = {
  state: read({
    url: '/regate/v1/state',
    summary: 'state: версия 1С, конфигурация, организация',
    operationId: 'getState',
    tag: TAGS.catalog,
    params: NONE,
    query: NONE,
    response: { 200: E.state },
    policy: POLICY.state,
    onec: () => 'state',
  }),
  city: read({
    url: '/regate/v1/cities',
    summary: 'city: города с магазинами',
    operationId: 'listCities',
    tag: TAGS.catalog,
    params: NONE,
    query: NONE,
    response: { 200: E.cities },
    policy: POLICY.catalogue,
    onec: () => 'cities',
  }),
  citystore: read({
    url: '/regate/v1/cities/:cityId/stores',
    summary: 'citystore: магазины города',
    operationId: 'listCityStores',
    tag: TAGS.catalog,
    refusals: [R.cityNotFound],
    params: z.object({ cityId }),
    query: NONE,
    response: { 200: E.stores },
    policy: POLICY.catalogue,
    onec: ({ params }) => onec`cities/${params.cityId}/stores`,
  }),
  storetable: read({
    url: '/regate/v1/stores/:storeId/groups',
    summary: 'storetable: группы и подгруппы товаров магазина',
    operationId: 'listGroups',
    tag: TAGS.catalog,
    refusals: [R.storeNotFound],
    params: z.object({ storeId }),
    query: NONE,
    response: { 200: E.groups },
    policy: POLICY.catalogue,
    onec: ({ params }) => onec`stores/${params.storeId}/groups`,
  }),
  assortment: read({
    url: '/regate/v1/stores/:storeId/assortment',
    summary: 'assortment: товары магазина с остатками и ценами (страницами до 500)',
    operationId: 'listAssortment',
    tag: TAGS.catalog,
    refusals: [R.storeNotFound, R.badQuery],
    params: z.object({ storeId }),
    query: assortmentQuery,
    response: { 200: E.assortment },
    policy: POLICY.assortment,
    onec: ({ params, query }) => {
      const q = new URLSearchParams(Object.entries(query).flatMap(([k, v]): Array<[string, string]> => (v === undefined ? [] : [[k, String(v)]]))).toString();
      return onec`stores/${params.storeId}/assortment` + (q ? `?${q}` : '');
    },
  }),
  client: write({
    verb: 'PUT',
    url: '/regate/v1/clients/:externalId',
    summary: 'client: найти или создать клиента',
    operationId: 'putClient',
    tag: TAGS.clients,
    refusals: [R.client],
    params: z.object({ externalId }),
    body: E.clientRequest,
    response: { 200: E.client, 201: E.client, 202: E.queued },
    onec: ({ params }) => ({ path: onec`clients/${params.externalId}`, line: `client:${params.externalId}` }),
  }),
  clientupd: write({
    verb: 'PATCH',
    url: '/regate/v1/clients/:externalId',
    summary: 'clientupd: изменить клиента',
    operationId: 'updateClient',
    tag: TAGS.clients,
    refusals: [R.clientNotFound, R.client],
    params: z.object({ externalId }),
    body: E.clientRequest,
    response: { 200: E.clientUpdated, 202: E.queued },
    onec: ({ params }) => ({ path: onec`clients/${params.externalId}`, line: `client:${params.externalId}` }),
  }),
  booking: write({
    verb: 'POST',
    url: '/regate/v1/orders',
    summary: 'booking: создать заказ с адресом доставки',
    operationId: 'createOrder',
    tag: TAGS.orders,
    refusals: [R.clientNotFound, R.booking],
    body: E.bookingRequest,
    params: NONE,
    response: { 201: E.booking, 202: E.queued },
    onec: ({ body }) => ({ path: 'orders', line: `client:${bookingClient(body)}` }),
    // A booking takes stock: the store's assortment pages show less now.
    stale: ({ body }) => {
      const store = bookingStore(body);
      return store === undefined ? [] : [onec`stores/${store}/assortment` + '*'];
    },
  }),
  paycard: write({
    verb: 'POST',
    url: '/regate/v1/orders/:orderId/payments',
    summary: 'paycard: оплата заказа картой',
    operationId: 'payOrder',
    tag: TAGS.orders,
    refusals: [R.orderNotFound, R.alreadyPaid, R.payment],
    params: z.object({ orderId }),
    body: E.paymentRequest,
    response: { 200: E.payment, 202: E.queued },
    onec: ({ params }) => ({ path: onec`orders/${params.orderId}/payments`, line: `order:${params.orderId}` }),
    stale: ({ path }) => orderOf(path),
  }),
  bookingstate: read({
    url: '/regate/v1/orders/:orderId',
    summary: 'bookingstate: состояние заказа',
    operationId: 'getOrder',
    tag: TAGS.orders,
    refusals: [R.orderNotFound],
    params: z.object({ orderId }),
    query: NONE,
    response: { 200: E.orderState },
    policy: POLICY.order,
    onec: ({ params }) => onec`orders/${params.orderId}`,
  }),
  refund: write({
    verb: 'POST',
    url: '/regate/v1/orders/:orderId/refunds',
    summary: 'refund: возврат оплаченного заказа',
    operationId: 'refundOrder',
    tag: TAGS.orders,
    refusals: [R.orderNotFound, R.refundConflict, R.refund],
    params: z.object({ orderId }),
    body: E.refundRequest,
    response: { 202: E.refund },
    onec: ({ params }) => ({ path: onec`orders/${params.orderId}/refunds`, line: `order:${params.orderId}` }),
    stale: ({ path }) => orderOf(path),
  }),
} satisfies Record<string, Method>;

export type RegateMethod = keyof typeof REGATE_METHODS;

export function isRegateMethod(name: string): name is RegateMethod {
  return Object.hasOwn(REGATE_METHODS, name);
}

/**
 * The cached reads (1C paths; a trailing `*` covers every path starting so) that a done write of
 * `method` to `path` with `body` (JSON text or null, as a queued record keeps it) makes stale.
 */
export function staleReads(method: string, path: string, body: string | null): string[] {
  if (!isRegateMethod(method)) return [];
  const m: Method = REGATE_METHODS[method];
  if (m.kind !== 'write') return [];
  let parsed: unknown = null;
  try {
    parsed = body === null ? null : JSON.parse(body);
  } catch {
    // Not JSON (never stored so): nothing of it names a store.
  }
  return m.stale({ path, body: parsed });
}

/** The methods' names in the table's order (the REST routes' and the OpenAPI document's). */
export function methodsInOrder(): RegateMethod[] {
  return Object.keys(REGATE_METHODS).filter(isRegateMethod);
}

/** The names of one kind of methods, or all of them reads first (as the config's hints and errors list them). */
export function methodNames(kind?: CallKind): RegateMethod[] {
  if (kind === undefined) return [...methodNames('read'), ...methodNames('write')];
  return methodsInOrder().filter((name) => REGATE_METHODS[name].kind === kind);
}

/** A tenant's 1C timeouts as the config gives them (seconds). */
export interface OnecTimeouts {
  timeouts: { readSeconds: number; writeSeconds: number; routes: Record<string, number> };
}

/**
 * How long one 1C call of `method` may take, in ms: the tenant's `timeouts.routes[method]`, else its
 * `readSeconds` / `writeSeconds` (15 / 60 s by default) by the method's kind. The one rule for every
 * 1C call: requests, pre-warming, queued writes.
 */
export function timeoutFor(tenant: OnecTimeouts, method: string | undefined, kind: CallKind): number {
  const t = tenant.timeouts;
  const own = method !== undefined && Object.hasOwn(t.routes, method) ? t.routes[method] : undefined;
  return (own ?? (kind === 'read' ? t.readSeconds : t.writeSeconds)) * 1000;
}
