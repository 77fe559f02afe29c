import { describe, expect, it } from 'vitest';
import { MASK, redactText, redactUrl } from '../../main/journal/redact.ts';

/** Secrets never reach the journal, logs or the UI (main/journal/redact.ts). */

const BIG = 100_000;

describe('redactText', () => {
  it('nothing to redact: null for empty input, the text itself otherwise', () => {
    expect(redactText(undefined, BIG)).toBeNull();
    expect(redactText(null, BIG)).toBeNull();
    expect(redactText('', BIG)).toBeNull();
    expect(redactText('{"name": "Иванов", "amount": 100.03}', BIG)).toBe('{"name": "Иванов", "amount": 100.03}');
  });

  it('a large page with one secret key anywhere (any case, whole-key pass/pwd, %-encoded form key) is still masked', () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ id: `item-${i}`, name: `Товар ${i}`, passport: 'data', price: 12.5 }));
    for (const [key, asJson] of [['Token', true], ['PASS', true], ['Pwd', true], ['x_Api_Key', true], ['p%61ss', false], ['session_token', false]] as const) {
      const body = asJson ? JSON.stringify({ items: items.slice(0, 100), [key]: 's3cr3t-value', more: items.slice(100) }) : `a=1&${key}=s3cr3t-value&b=2`;
      const out = redactText(body, 1_000_000)!;
      expect(out, key).not.toContain('s3cr3t-value');
      expect(out, key).toContain(MASK);
    }
    const plain = JSON.stringify({ items });
    expect(redactText(plain, 1_000_000)).toBe(plain); // "passport" is data
  });

  it('masks values of secret-looking keys in JSON, keeps the rest', () => {
    const json = JSON.stringify({ token: 'tok-123456', password: 'p@ss', name: 'Иванов', nested: { techKey: 'tk-1', tech_key: 'tk-2', apiKey: 'ak', api_key: 'ak2', clientSecret: 'cs', pwd: 'x1', passwd: 'x2' } });
    const out = redactText(json, BIG)!;
    const parsed = JSON.parse(out);
    expect(parsed.name).toBe('Иванов');
    expect(parsed.token).toBe(MASK);
    expect(parsed.password).toBe(MASK);
    expect(parsed.nested).toEqual({ techKey: MASK, tech_key: MASK, apiKey: MASK, api_key: MASK, clientSecret: MASK, pwd: MASK, passwd: MASK });
    for (const secret of ['tok-123456', 'p@ss', 'tk-1', 'tk-2', 'ak2', 'x1', 'x2']) expect(out).not.toContain(secret);
  });

  it('JSON as 1C writes it: CR LF between tokens, space after the colon, any key case, escaped quotes in the value', () => {
    const text = '{\r\n"Password": "a\\"b\\\\c",\r\n"TOKEN":"x-y-z",\r\n"Логин": "user"\r\n}';
    const out = redactText(text, BIG)!;
    expect(JSON.parse(out)).toEqual({ Password: MASK, TOKEN: MASK, Логин: 'user' });
    expect(out).not.toContain('x-y-z');
    expect(out).not.toContain('a\\"b');
  });

  it('masks secret keys in form bodies, incl. PHP-style and percent-encoded keys', () => {
    const form = 'login=user&password=p%40ss&token=abc123&auth[password]=in-brackets&auth%5Btoken%5D=encoded&name=%D0%98%D0%B2%D0%B0%D0%BD';
    const out = redactText(form, BIG)!;
    expect(out).toBe(`login=user&password=${MASK}&token=${MASK}&auth[password]=${MASK}&auth%5Btoken%5D=${MASK}&name=%D0%98%D0%B2%D0%B0%D0%BD`);
  });

  it('masks secret keys in query strings', () => {
    expect(redactText('?wait=5&token=abc&x=1', BIG)).toBe(`?wait=5&token=${MASK}&x=1`);
    expect(redactUrl('/v1/cards/7?token=abc&wait=5')).toBe(`/v1/cards/7?token=${MASK}&wait=5`);
    expect(redactUrl('/v1/cards/7')).toBe('/v1/cards/7');
    expect(redactUrl('/v1/cards/7?wait=5')).toBe('/v1/cards/7?wait=5');
  });

  it('masks Bearer and Basic credentials wherever they appear', () => {
    const out = redactText('Authorization: Bearer abc.DEF-ghi_jkl~0/+=; other: Basic dXNlcjpwYXNz==', BIG)!;
    expect(out).toBe(`Authorization: Bearer ${MASK}; other: Basic ${MASK}`);
    expect(redactText('{"authorization": "Bearer zzz"}', BIG)).toBe(`{"authorization": "${MASK}"}`);
    expect(redactText('{"header": "Basic dXNlcjpwYXNz"}', BIG)).toBe(`{"header": "Basic ${MASK}"}`);
  });

  it('masks extra secrets verbatim wherever they appear (values under innocent keys, inside text)', () => {
    const secret = 'S3cr3t-Value_42';
    const text = `{"comment": "пароль ${secret} в тексте", "login": "${secret}"}\nurl?x=${secret}`;
    const out = redactText(text, BIG, [secret])!;
    expect(out).not.toContain(secret);
    expect(out).toBe(`{"comment": "пароль ${MASK} в тексте", "login": "${MASK}"}\nurl?x=${MASK}`);
    expect(redactUrl(`/v1/x?note=${secret}`, [secret])).toBe(`/v1/x?note=${MASK}`);
  });

  it('ignores empty and very short extra secrets (they would mask ordinary text)', () => {
    expect(redactText('abc def', BIG, ['', 'abc'])).toBe('abc def');
  });

  it('truncates long text after masking, saying how long it was', () => {
    const text = 'x'.repeat(500);
    const out = redactText(text, 100)!;
    expect(out.startsWith('x'.repeat(100))).toBe(true);
    expect(out).toBe(`${'x'.repeat(100)}… [обрезано, всего 500 симв.]`);
    expect(redactText('x'.repeat(100), 100)).toBe('x'.repeat(100));
  });

  it('a secret cut by the truncation point is masked before the cut, never half-shown', () => {
    const secret = 'ABCDEFGHIJKLMNOP';
    const text = 'y'.repeat(95) + secret + 'y'.repeat(50);
    const out = redactText(text, 100, [secret])!;
    expect(out).not.toMatch(/ABCD/);
    const json = '{"a": "' + 'y'.repeat(80) + '", "password": "' + secret + '"}';
    expect(redactText(json, 100)).not.toMatch(/ABCD/);
  });
});

describe('redaction of large bodies', () => {
  it('a secret straddling the cut is still masked; only the kept part is scanned', async () => {
    const { redactText } = await import('../../main/journal/redact.ts');
    const secret = 'S3cr3t-T0ken-Value-1234567890';
    const body = 'x'.repeat(990) + `"token":"${secret}"` + 'y'.repeat(5_000_000);
    const out = redactText(body, 1000, [secret])!;
    expect(out).not.toContain(secret.slice(0, 10));
    expect(out.length).toBeLessThan(1100);
    expect(out).toContain('всего 5001029 симв.');
  });
});
