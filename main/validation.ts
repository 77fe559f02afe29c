import { z } from 'zod';

// Russian messages for every zod schema in the process (config, 1C requests, settings).
z.config(z.locales.ru());

/**
 * Parse option for input whose errors become FieldProblems: zod then keeps each refused value in
 * its issue, so a missing field reads "не заполнено" rather than "получено undefined".
 */
export const INPUT_IN_ISSUES = { reportInput: true } as const;

export interface FieldProblem {
  field: string;
  message: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'строка',
  number: 'число',
  boolean: 'логическое значение',
  object: 'объект',
  array: 'массив',
  record: 'объект',
  null: 'null',
  undefined: 'ничего',
};

function typeOf(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

/** One zod issue → the field path (dot-separated, `[i]` for array items) and a Russian message. */
export function describeIssue(issue: z.core.$ZodIssue): FieldProblem[] {
  const base = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ field: base ? `${base}.${k}` : k, message: 'неизвестное поле (опечатка?); уберите его или исправьте имя' }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // zod says only "invalid input" for a union: name what the value failed in the branch of its
    // own type (a phone that is not a phone, not "expected null"), else list the accepted types.
    const branches = issue.errors.map((b) => b.map((i): z.core.$ZodIssue => ({ ...i, path: [...issue.path, ...i.path] })));
    const typeOnly = (b: z.core.$ZodIssue[]) => b.every((i) => i.code === 'invalid_type' && i.path.length === issue.path.length);
    const informative = branches.find((b) => b.length > 0 && !typeOnly(b));
    if (informative) return informative.flatMap(describeIssue);
    const expected = [...new Set(branches.flat().flatMap((i) => (i.code === 'invalid_type' ? [TYPE_NAMES[i.expected] ?? i.expected] : [])))];
    const got = 'input' in issue ? typeOf(issue.input) : undefined;
    if (got === 'undefined') return [{ field: base, message: 'обязательное поле не заполнено' }];
    return [{ field: base, message: `ожидалось: ${expected.join(' или ')}${got ? `, получено ${TYPE_NAMES[got] ?? got}` : ''}` }];
  }
  if (issue.code === 'invalid_type') {
    const got = 'input' in issue ? typeOf(issue.input) : undefined;
    if (got === 'undefined') return [{ field: base, message: 'обязательное поле не заполнено' }];
    if (issue.expected === 'number' && Number.isNaN(issue.input)) return [{ field: base, message: 'не число' }]; // z.coerce of text
    const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
    return [{ field: base, message: `ожидалось ${expected}, получено ${TYPE_NAMES[got ?? ''] ?? got}` }];
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint')) {
    const bound = String(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    const inclusive = issue.inclusive !== false;
    const word = issue.code === 'too_small' ? (inclusive ? 'не меньше' : 'больше') : inclusive ? 'не больше' : 'меньше';
    return [{ field: base, message: `должно быть ${word} ${bound}` }];
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'string') {
    const n = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    return [{ field: base, message: issue.code === 'too_small' ? (n <= 1 ? 'не заполнено' : `не короче ${n} символов`) : `не длиннее ${n} символов` }];
  }
  return [{ field: base, message: issue.message }];
}

export function describeZodError(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap(describeIssue);
}
