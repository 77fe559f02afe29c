import { describe, expect, it } from 'vitest';
import { errorCode, errorMessage, isRecord, prop, toError } from '../../main/unknown.ts';

describe('narrowing unknown values', () => {
  it('keeps an Error and wraps anything else thrown', () => {
    const e = new RangeError('x');
    expect(toError(e)).toBe(e);
    expect(toError('диск полон').message).toBe('диск полон');
    expect(errorMessage(42)).toBe('42');
  });

  it('reads own keys of plain objects only', () => {
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(prop({ a: 1 }, 'a')).toBe(1);
    expect(prop({}, 'toString')).toBeUndefined();
    expect(prop('text', 'length')).toBeUndefined();
  });

  it('finds a system error code', () => {
    const err = Object.assign(new Error('busy'), { code: 'EADDRINUSE' });
    expect(errorCode(err)).toBe('EADDRINUSE');
    expect(errorCode({ code: 5 })).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });
});
