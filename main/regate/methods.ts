import type { CallKind } from './limiter.ts';
import type { RegateTenant } from './tenants.ts';

/**
 * The gateway's methods: the task's own names (`/regate/{method}`, the OpenAPI summaries), each a
 * read or a write. The names a tenant's `timeouts.routes` may use.
 */
export const REGATE_METHODS = {
  state: 'read',
  city: 'read',
  citystore: 'read',
  storetable: 'read',
  assortment: 'read',
  bookingstate: 'read',
  client: 'write',
  clientupd: 'write',
  booking: 'write',
  paycard: 'write',
  refund: 'write',
} as const satisfies Record<string, CallKind>;

export type RegateMethod = keyof typeof REGATE_METHODS;
export type ReadMethod = { [K in RegateMethod]: (typeof REGATE_METHODS)[K] extends 'read' ? K : never }[RegateMethod];
export type WriteMethod = Exclude<RegateMethod, ReadMethod>;

export function isRegateMethod(name: string): name is RegateMethod {
  return Object.hasOwn(REGATE_METHODS, name);
}

/**
 * How long one 1C call of `route` may take, in ms: the tenant's `timeouts.routes[route]`, else its
 * `readSeconds` / `writeSeconds` (15 / 60 s by default). The one rule for every 1C call: requests,
 * pre-warming, queued writes.
 */
export function timeoutFor(tenant: Pick<RegateTenant, 'timeouts'>, route: RegateMethod | undefined, kind: CallKind): number {
  const t = tenant.timeouts;
  const seconds = (route === undefined ? undefined : t.routes[route]) ?? (kind === 'read' ? t.readSeconds : t.writeSeconds);
  return seconds * 1000;
}

const PATHS: Array<[string, RegExp, RegateMethod]> = [
  ['GET', /^state$/, 'state'],
  ['GET', /^cities$/, 'city'],
  ['GET', /^cities\/[^/]+\/stores$/, 'citystore'],
  ['GET', /^stores\/[^/]+\/groups$/, 'storetable'],
  ['GET', /^stores\/[^/]+\/assortment$/, 'assortment'],
  ['GET', /^orders\/[^/]+$/, 'bookingstate'],
  ['PUT', /^clients\/[^/]+$/, 'client'],
  ['PATCH', /^clients\/[^/]+$/, 'clientupd'],
  ['POST', /^orders$/, 'booking'],
  ['POST', /^orders\/[^/]+\/payments$/, 'paycard'],
  ['POST', /^orders\/[^/]+\/refunds$/, 'refund'],
];

/** The method of a stored 1C call (a queued write keeps only its HTTP method and 1C path). */
export function methodOf(httpMethod: string, path: string): RegateMethod | undefined {
  const p = path.replace(/^\/+/, '').split('?')[0];
  return PATHS.find(([m, re]) => m === httpMethod && re.test(p))?.[2];
}
