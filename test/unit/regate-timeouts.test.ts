import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { SputnikError } from '../../main/errors.ts';
import { REGATE_METHODS, timeoutFor } from '../../main/regate/methods.ts';

const TENANT = { id: 'shop', user: 'richest', password: 'p', baseUrl: 'https://1c.local/base/hs/regate/v1', onecUser: 'regate' };
const tenantOf = (extra: Record<string, unknown> = {}) => parseConfig({ regate: { tenants: [{ ...TENANT, ...extra }] } }, {}).config.regate.tenants[0];
const refusal = (timeouts: unknown): SputnikError => {
  try {
    tenantOf({ timeouts });
  } catch (e) {
    return e as SputnikError;
  }
  throw new Error('accepted');
};

describe('ReGate timeouts in the config', () => {
  it('default to 15 s for reads and 60 s for writes, no per-method ones', () => {
    const t = tenantOf();
    expect(t.timeouts).toEqual({ readSeconds: 15, writeSeconds: 60, routes: {} });
    expect(timeoutFor(t, 'assortment', 'read')).toBe(15_000);
    expect(timeoutFor(t, 'state', 'read')).toBe(15_000);
    expect(timeoutFor(t, 'booking', 'write')).toBe(60_000);
    expect(timeoutFor(t, undefined, 'write')).toBe(60_000);
  });

  it('a method\'s own timeout wins over its kind\'s; the others keep the kind\'s', () => {
    const t = tenantOf({ timeouts: { readSeconds: 20, routes: { assortment: 1, paycard: 120 } } });
    expect(t.timeouts).toEqual({ readSeconds: 20, writeSeconds: 60, routes: { assortment: 1, paycard: 120 } });
    expect(timeoutFor(t, 'assortment', 'read')).toBe(1000);
    expect(timeoutFor(t, 'city', 'read')).toBe(20_000);
    expect(timeoutFor(t, 'paycard', 'write')).toBe(120_000);
    expect(timeoutFor(t, 'booking', 'write')).toBe(60_000);
  });

  it('an unknown method name is refused with the field and the names that exist', () => {
    const e = refusal({ routes: { assortment: 5, assortmnet: 5 } });
    expect(e).toBeInstanceOf(SputnikError);
    expect(e.code).toBe('invalid_config');
    expect(e.field).toBe('regate.tenants[0].timeouts.routes.assortmnet');
    expect(e.message).toContain('regate.tenants[0].timeouts.routes.assortmnet: «assortmnet» — нет такого метода ReGate');
    for (const name of Object.keys(REGATE_METHODS)) expect(e.message).toContain(name);
    // Not a prototype key either.
    expect(refusal({ routes: { toString: 5 } }).field).toBe('regate.tenants[0].timeouts.routes.toString');
  });

  it('seconds are whole, 1..600; a misspelt key of timeouts is refused too', () => {
    expect(refusal({ routes: { assortment: 0 } }).message).toContain('regate.tenants[0].timeouts.routes.assortment: должно быть не меньше 1');
    expect(refusal({ writeSeconds: 601 }).message).toContain('regate.tenants[0].timeouts.writeSeconds: должно быть не больше 600');
    expect(refusal({ readSeconds: 1.5 }).field).toBe('regate.tenants[0].timeouts.readSeconds');
    expect(refusal({ routes: [] }).message).toContain('regate.tenants[0].timeouts.routes: ожидалось объект');
    expect(refusal({ readSecond: 10 }).message).toContain('regate.tenants[0].timeouts.readSecond: неизвестное поле');
  });
});
