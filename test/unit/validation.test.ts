import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, INPUT_IN_ISSUES } from '../../main/validation.ts';
import { invoiceItem } from '../../main/connectors/paykeeper/routes.ts';

const problems = (schema: z.ZodType, input: unknown) => {
  const r = schema.safeParse(input, INPUT_IN_ISSUES);
  if (r.success) throw new Error('expected a refusal');
  return describeZodError(r.error);
};

describe('field messages for values a union refuses (zod itself says only "invalid input")', () => {
  const schema = z.strictObject({
    a: z.object({ date: z.union([z.string().refine((v) => /^\d\d\.\d\d\.\d{4}$/.test(v), 'не дата'), z.null()]).optional() }),
    v: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  });

  it('names what the value failed in the branch of its own type, under the full path', () => {
    expect(problems(schema, { a: { date: '1990' } })).toEqual([{ field: 'a.date', message: 'не дата' }]);
  });

  it('lists the accepted types when the value fits none of them', () => {
    expect(problems(schema, { a: {}, v: { K: [1] } })).toEqual([{ field: 'v.K', message: 'ожидалось: строка или число или логическое значение, получено массив' }]);
  });

  it('a missing field says so, whether its type is one or several', () => {
    const required = z.object({ name: z.string(), amount: z.union([z.number(), z.string()]) });
    expect(problems(required, {})).toEqual([
      { field: 'name', message: 'обязательное поле не заполнено' },
      { field: 'amount', message: 'обязательное поле не заполнено' },
    ]);
    expect(problems(required, { name: 5, amount: true })).toEqual([
      { field: 'name', message: 'ожидалось строка, получено число' },
      { field: 'amount', message: 'ожидалось: число или строка, получено логическое значение' },
    ]);
  });

  it('text where a number was coerced says it is not a number (not "expected number, got number")', () => {
    expect(problems(z.object({ limit: z.coerce.number().int() }), { limit: 'abc' })).toEqual([{ field: 'limit', message: 'не число' }]);
  });

  it('an invoice field that may be null says what is wrong with the text itself', () => {
    const base = { orderId: 'A-1', amount: '100', email: 'a@b.ru' };
    expect(problems(invoiceItem, { ...base, phone: '1'.repeat(41) })).toEqual([{ field: 'phone', message: 'не длиннее 40 символов' }]);
    expect(problems(invoiceItem, { ...base, expiry: '31.02.2030' })[0]).toMatchObject({ field: 'expiry', message: expect.stringContaining('не дата') });
  });
});
