import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SputnikError } from '../../main/errors.ts';
import { decodeBody, parseContentType, parseForm, parseJson, parseOnecBody } from '../../main/listener/body.ts';
import { echoBody } from '../fixtures/probe-domain.ts';
import { PLATFORM_CASES, platformCase } from '../helpers/conformance.ts';

/**
 * Request bodies as 1C sends them (onec.md §1.2–1.3, §1.8, §7): encodings, BOMs, JSON written by
 * ЗаписьJSON, PHP-style forms. Driven by the platform's measured bytes where they exist.
 */

const utf8Bytes = (id: string) => Buffer.from(platformCase(id).platformOutputUtf8Hex!, 'hex');
const fileBytes = (id: string) => Buffer.from(platformCase(id).platformBytesHex!, 'hex');

const JSON_CT = 'application/json';
const FORM_CT = 'application/x-www-form-urlencoded';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function cp1251(text: string): Buffer {
  // windows-1251 for the Cyrillic range used in these tests (А-я, Ё, ё) and ASCII
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else throw new Error(`no cp1251 byte for ${ch}`);
  }
  return Buffer.from(out);
}

function cp866(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x43f) out.push(c - 0x410 + 0x80);
    else if (c >= 0x440 && c <= 0x44f) out.push(c - 0x440 + 0xe0);
    else throw new Error(`no cp866 byte for ${ch}`);
  }
  return Buffer.from(out);
}

const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

function thrown(fn: () => unknown): SputnikError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SputnikError);
    return e as SputnikError;
  }
  throw new Error('expected a SputnikError');
}

const pct = (bytes: Buffer) => [...bytes].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('');

describe('Content-Type parsing', () => {
  it('type and charset, case-insensitive, quoted, absent', () => {
    expect(parseContentType('application/json; charset=utf-8')).toEqual({ type: 'application/json', charset: 'utf-8' });
    expect(parseContentType('Application/JSON;Charset="Windows-1251"')).toEqual({ type: 'application/json', charset: 'windows-1251' });
    expect(parseContentType('application/x-www-form-urlencoded')).toEqual({ type: 'application/x-www-form-urlencoded', charset: undefined });
    expect(parseContentType(undefined)).toEqual({ type: '' });
  });
});

describe('decoding (decodeBody)', () => {
  it('UTF-8 with exactly one leading BOM stripped (ENC.WRITE.DEFAULT: EF BB BF + UTF-8)', () => {
    expect(decodeBody(fileBytes('ENC.WRITE.DEFAULT'), undefined)).toEqual({ text: 'Аб', charset: 'utf-8', guessed: false });
    expect(decodeBody(fileBytes('ENC.WRITE.DEFAULT'), 'utf-8').text).toBe('Аб');
    // a U+FEFF that is not leading is data and stays; a doubled leading BOM is tolerated (both dropped)
    expect(decodeBody(Buffer.concat([BOM, Buffer.from('x'), BOM]), undefined).text).toBe('x\ufeff');
    expect(decodeBody(Buffer.concat([BOM, BOM, Buffer.from('x')]), undefined).text).toBe('x');
    expect(decodeBody(Buffer.from('{}'), undefined)).toEqual({ text: '{}', charset: 'utf-8', guessed: false });
  });

  it('ENC.WRITE.ANSI (C0 E1) with charset=windows-1251 and its aliases', () => {
    for (const cs of ['windows-1251', 'cp1251', 'win-1251', 'ansi']) {
      expect(decodeBody(fileBytes('ENC.WRITE.ANSI'), cs)).toEqual({ text: 'Аб', charset: 'windows-1251', guessed: false });
    }
  });

  it('ENC.WRITE.OEM (80 A1) with charset=cp866 / ibm866', () => {
    for (const cs of ['cp866', 'ibm866', '866']) expect(decodeBody(fileBytes('ENC.WRITE.OEM'), cs)).toEqual({ text: 'Аб', charset: 'ibm866', guessed: false });
  });

  it('ENC.WRITE.UTF16 (FF FE + UTF-16LE) whatever the charset says', () => {
    expect(decodeBody(fileBytes('ENC.WRITE.UTF16'), undefined)).toEqual({ text: 'Аб', charset: 'utf-16le', guessed: false });
    expect(decodeBody(fileBytes('ENC.WRITE.UTF16'), 'utf-8').text).toBe('Аб');
    expect(decodeBody(Buffer.from('Аб', 'utf16le'), 'utf-16le').text).toBe('Аб');
  });

  it('no charset and invalid UTF-8 → windows-1251, flagged as a guess', () => {
    expect(decodeBody(fileBytes('ENC.WRITE.ANSI'), undefined)).toEqual({ text: 'Аб', charset: 'windows-1251', guessed: true });
    expect(decodeBody(cp1251('{"name": "Иванов Иван"}'), undefined)).toEqual({ text: '{"name": "Иванов Иван"}', charset: 'windows-1251', guessed: true });
  });

  it('declared UTF-8 but not UTF-8 → 400 invalid_encoding; unknown charset → 415', () => {
    const e = thrown(() => decodeBody(cp1251('Иван'), 'utf-8'));
    expect([e.status, e.code]).toEqual([400, 'invalid_encoding']);
    const u = thrown(() => decodeBody(Buffer.from('{}'), 'x-mac-klingon'));
    expect([u.status, u.code, u.field]).toEqual([415, 'unsupported_charset', 'Content-Type']);
    expect(u.message).toMatch(/не поддерживается/);
  });

  it('FILE.WRITER.*: ЗаписьТекста files (BOM, LF → CR LF) decode to the text with CRs intact', () => {
    expect(decodeBody(fileBytes('FILE.WRITER.BOM_AND_CRLF'), undefined).text).toBe('A\r\nB');
    expect(decodeBody(fileBytes('FILE.WRITER.CR_IN'), undefined).text).toBe('A\rB');
    expect(decodeBody(fileBytes('FILE.WRITER.CRLF_IN'), undefined).text).toBe('A\r\r\nB');
    expect(decodeBody(fileBytes('FILE.WRITER.CYRILLIC'), undefined).text).toBe('Ая');
    expect(decodeBody(fileBytes('binary-data.L3.textwriter-bom-dump'), undefined).text).toBe('0123456789');
  });
});

describe('JSON as ЗаписьJSON writes it (parseJson / parseOnecBody)', () => {
  // Every JSON.WRITE.* case the platform produced, fed as its exact bytes.
  const expected: Record<string, { value?: unknown; error?: string }> = {
    'JSON.WRITE.DEFAULT_FORMAT': { value: { а: 1, б: 'текст' } },
    'JSON.WRITE.NESTED': { value: [1, { к: true }] },
    'JSON.WRITE.NO_LINE_BREAKS': { value: { а: 1 } },
    // indent string "__" (the probe's choice) is not JSON whitespace: refused, not misread
    'JSON.WRITE.INDENT_NESTED': { error: 'malformed_json' },
    'JSON.WRITE.BREAK_WINDOWS': { value: { а: 1 } },
    'JSON.WRITE.BREAK_UNIX': { value: { а: 1 } },
    'JSON.WRITE.NUMBERS': { value: [1.5, -2, 1000000, 0, '0.333333333333333333333333333'] },
    'JSON.WRITE.ESCAPES': { value: '"\\/\n\tЁж\u0001' },
    'JSON.WRITE.CONTROL_CHARS': { value: '\r\b\f\v' },
    'JSON.WRITE.VALUE_BOOLEAN': { value: true },
    'JSON.WRITE.VALUE_UNDEFINED': { value: null },
    // duplicate keys: the LAST one wins (the rule, documented in main/listener/body.ts)
    'JSON.WRITE.CHECK_STRUCTURE_OFF#duplicate-key': { value: { х: 2 } },
    // Закрыть() on an open object leaves "{": refused with 400, never half-read
    'JSON.WRITE.CHECK_STRUCTURE_OFF#unclosed': { error: 'malformed_json' },
    'JSON.SERIALIZE.STRUCTURE': { value: { Фамилия: 'Петров', Имя: 'Иван', Возраст: 30 } },
    'JSON.SERIALIZE.NESTED': { value: [1, 'два', { к: 1 }] },
    'json-dates.L20-24.write-value-structure': { value: { а: 1, б: 'текст', в: true } },
    'json-dates.L28.write-value-undefined': { value: null },
    'json-dates.L29-32.write-value-array': { value: [1, 2] },
    'json-dates.L39.serialize-universal': { value: { д: '2014-05-10T09:14:15Z' } },
    'json-dates.L40.serialize-microsoft': { value: { д: '/Date(1399713255000)/' } },
    'json-callbacks.L24.undefined-in-structure': { value: { а: null } },
    'json-callbacks.L50.roundtrip-false-null': {
      value: { чис: 1, стр: 'т', лог: true, нул: null, об: { вчис: 2, вмас: [7, 8] }, мас: [3, 'ф', false, null, { мчис: 4 }, [5, 6]] },
    },
  };

  const writerIds = PLATFORM_CASES.filter((c) => c.id.startsWith('JSON.WRITE.') && c.platformOutputUtf8Hex).map((c) => c.id);
  it('every JSON.WRITE.* output of the platform has an expectation here', () => {
    expect(writerIds.length).toBeGreaterThanOrEqual(13);
    for (const id of writerIds) expect(expected, id).toHaveProperty([id]);
  });
  it('JSON.WRITE.VALUE_NULL / VALUE_DATE raise in the platform: nothing to receive', () => {
    for (const id of ['JSON.WRITE.VALUE_NULL', 'JSON.WRITE.VALUE_DATE']) {
      expect(platformCase(id).platformRaisesError).toBe(true);
      expect(platformCase(id).platformOutputUtf8Hex).toBeUndefined();
    }
  });

  for (const [id, want] of Object.entries(expected)) {
    it(`${id}: platform bytes → ${want.error ?? 'typed value'}`, () => {
      for (const bytes of [utf8Bytes(id), Buffer.concat([BOM, utf8Bytes(id)])]) {
        for (const ct of [JSON_CT, 'application/json; charset=utf-8']) {
          if (want.error) {
            const e = thrown(() => parseOnecBody(bytes, ct));
            expect([e.status, e.code]).toEqual([400, want.error]);
            expect(e.message).toMatch(/не корректный JSON/);
          } else {
            expect(parseOnecBody(bytes, ct).value).toEqual(want.value);
          }
        }
      }
    });
  }

  it('the same JSON written as a ЗаписьТекста file (BOM + CR LF, FILE.WRITER.BOM_AND_CRLF rule) parses', () => {
    const lfToCrlf = utf8Bytes('JSON.WRITE.DEFAULT_FORMAT').toString('utf8').replace(/\n/g, '\r\n');
    const body = Buffer.concat([BOM, Buffer.from(lfToCrlf, 'utf8')]);
    expect(parseOnecBody(body, undefined).value).toEqual({ а: 1, б: 'текст' });
  });

  it('ЗаписьJSON with the cp1251 / UTF-16 encodings of the body', () => {
    const text = '{\r\n"name": "Иванов Иван",\r\n"flag": "Да"\r\n}';
    expect(parseOnecBody(cp1251(text), 'application/json; charset=windows-1251').value).toEqual({ name: 'Иванов Иван', flag: 'Да' });
    expect(parseOnecBody(cp1251(text), undefined).value).toEqual({ name: 'Иванов Иван', flag: 'Да' });
    expect(parseOnecBody(cp866(text), 'application/json; charset=cp866').value).toEqual({ name: 'Иванов Иван', flag: 'Да' });
    expect(parseOnecBody(utf16le(text), JSON_CT).value).toEqual({ name: 'Иванов Иван', flag: 'Да' });
    expect(parseOnecBody(utf16le(text), undefined).value).toEqual({ name: 'Иванов Иван', flag: 'Да' });
  });

  it('numbers a double cannot hold stay exact decimal strings; ordinary ones stay numbers', () => {
    expect(parseJson('[0.333333333333333333333333333, 1000000000000000000000000000000, 12345678901234567890, 9007199254740993, -0.1234567890123456789]')).toEqual([
      '0.333333333333333333333333333',
      '1000000000000000000000000000000',
      '12345678901234567890',
      '9007199254740993',
      '-0.1234567890123456789',
    ]);
    expect(parseJson('[1.5, -2, 1000000, 0, 100.03, 9007199254740991, 1e3]')).toEqual([1.5, -2, 1000000, 0, 100.03, 9007199254740991, '1e3']);
    // NUM.POW.TEN_TO_30: what ЗаписатьJSON would emit verbatim as a JSON number
    expect(parseJson(Buffer.from(platformCase('NUM.POW.TEN_TO_30').platformOutputUtf8Hex!, 'hex').toString())).toBe('1000000000000000000000000000000');
  });

  it('exact decimals survive the whole way through a schema (echo body of the probe domain)', () => {
    const parsed = echoBody.parse(parseOnecBody(Buffer.from('{"amount": 0.333333333333333333333333333, "count": ""}'), JSON_CT).value);
    expect(parsed).toEqual({ amount: '0.333333333333333333333333333', count: 0 });
  });

  it('malformed JSON → 400 malformed_json with a Russian message', () => {
    for (const bad of ['{"а":}', '[1,]', '{"а" 1}', '{"а":1', 'нечто', "{'a':1}"]) {
      const e = thrown(() => parseOnecBody(Buffer.from(bad), JSON_CT));
      expect([e.status, e.code], bad).toEqual([400, 'malformed_json']);
      expect(e.message).toMatch(/JSON/);
    }
  });

  it('json-callbacks.L20: an empty body is no value (the route decides: 400 empty_body)', () => {
    expect(platformCase('json-callbacks.L20.top-level-refused-empty').platformOutput).toBe('');
    expect(parseOnecBody(Buffer.alloc(0), JSON_CT).value).toBeUndefined();
    expect(parseOnecBody(Buffer.from(' \r\n'), undefined).value).toBeUndefined();
    expect(parseOnecBody(BOM, JSON_CT).value).toBeUndefined();
  });
});

describe('Content-Type sniffing and refusal', () => {
  it('no Content-Type, text/plain, application/octet-stream: JSON when it looks like JSON, else a form', () => {
    for (const ct of [undefined, 'text/plain', 'text/plain; charset=utf-8', 'application/octet-stream']) {
      expect(parseOnecBody(Buffer.from('{"a": 1}'), ct).value, String(ct)).toEqual({ a: 1 });
      expect(parseOnecBody(Buffer.from(' [1]'), ct).value).toEqual([1]);
      expect(parseOnecBody(Buffer.from('a=1&b=2'), ct).value).toEqual({ a: '1', b: '2' });
    }
  });
  it('+json types are JSON', () => {
    expect(parseOnecBody(Buffer.from('{"a": 1}'), 'application/vnd.api+json').value).toEqual({ a: 1 });
  });
  it('other media types → 415 unsupported_media_type naming Content-Type', () => {
    const e = thrown(() => parseOnecBody(Buffer.from('{}'), 'image/png'));
    expect([e.status, e.code, e.field]).toEqual([415, 'unsupported_media_type', 'Content-Type']);
    expect(thrown(() => parseOnecBody(Buffer.from('{}'), 'application/json; charset=koi7')).status).toBe(415);
  });
});

describe('forms (PHP-style keys)', () => {
  it('holder[name]=…, items[0][amount]=… nest; + is a space, %2B a plus; uppercase and lowercase hex', () => {
    const text = 'holder[name]=%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2+%D0%98%D0%B2%D0%B0%D0%BD&holder[phone]=%2B7+(987)+654-32-10&items[0][amount]=1+234,56&items[1][amount]=%d0%b0';
    expect(parseOnecBody(Buffer.from(text), FORM_CT).value).toEqual({
      holder: { name: 'Иванов Иван', phone: '+7 (987) 654-32-10' },
      items: [{ amount: '1 234,56' }, { amount: 'а' }],
    });
  });

  it('percent-encoded brackets in keys nest too (КодироватьСтроку of the whole key)', () => {
    expect(parseForm('holder%5Bname%5D=x&items%5B0%5D%5Bamount%5D=5', 'utf-8')).toEqual({ holder: { name: 'x' }, items: [{ amount: '5' }] });
  });

  it('more than 20 array items stay an array, in index order', () => {
    const n = 25;
    const text = Array.from({ length: n }, (_, i) => `items[${i}][amount]=${i + 1}`).join('&');
    const value = parseOnecBody(Buffer.from(text), FORM_CT).value as { items: Array<{ amount: string }> };
    expect(Array.isArray(value.items)).toBe(true);
    expect(value.items).toHaveLength(n);
    expect(value.items[21]).toEqual({ amount: '22' });
    expect(value.items.map((x) => x.amount)).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
    // 150 items also pass the probe's schema
    const big = Array.from({ length: 150 }, (_, i) => `items[${i}][amount]=${i},5`).join('&');
    const parsed = echoBody.parse(parseOnecBody(Buffer.from(big), FORM_CT).value);
    expect(parsed.items).toHaveLength(150);
    expect(parsed.items![149]).toEqual({ amount: '149.5' });
  });

  it('a cp1251 percent-encoded form with charset=windows-1251', () => {
    const text = `holder[name]=${pct(cp1251('Иванов Иван'))}&name=${pct(cp1251('Ёлка'))}+${pct(cp1251('ё'))}`;
    expect(parseOnecBody(Buffer.from(text), `${FORM_CT}; charset=windows-1251`).value).toEqual({ holder: { name: 'Иванов Иван' }, name: 'Ёлка ё' });
  });

  it('a form body in raw cp1251 bytes (no percent-encoding) with and without charset', () => {
    const raw = cp1251('holder[name]=Петров&flag=Да');
    expect(parseOnecBody(raw, `${FORM_CT}; charset=windows-1251`).value).toEqual({ holder: { name: 'Петров' }, flag: 'Да' });
    expect(parseOnecBody(raw, FORM_CT).value).toEqual({ holder: { name: 'Петров' }, flag: 'Да' });
  });

  it('a UTF-16LE form (FF FE)', () => {
    expect(parseOnecBody(utf16le('name=%D0%90%D0%B1&flag=1'), FORM_CT).value).toEqual({ name: 'Аб', flag: '1' });
  });

  it('a BOM before a form is stripped', () => {
    expect(parseOnecBody(Buffer.concat([BOM, Buffer.from('name=x')]), FORM_CT).value).toEqual({ name: 'x' });
  });

  it('duplicate keys: the LAST value wins, in forms as in JSON', () => {
    expect(parseOnecBody(Buffer.from('name=a&name=b&holder[name]=1&holder[name]=2'), FORM_CT).value).toEqual({ name: 'b', holder: { name: '2' } });
    expect(parseOnecBody(Buffer.from('{"name":"a","name":"b","holder":{"name":1,"name":2}}'), JSON_CT).value).toEqual({ name: 'b', holder: { name: 2 } });
  });

  it('the rule is documented in main/listener/body.ts', () => {
    const src = readFileSync(new URL('../../main/listener/body.ts', import.meta.url), 'utf8');
    expect(src).toMatch(/[Dd]uplicate keys[^\n]*last/);
  });

  it('invalid percent-escapes become U+FFFD, as 1C decodes them; prototype names are plain keys, __proto__ is refused by name', () => {
    expect(parseForm('name=%E0%zz', 'utf-8')).toEqual({ name: '\ufffd%zz' });
    // Kept as data (validation then names an unknown field), never reaching Object.prototype.
    expect(parseForm('constructor[prototype][y]=2&toString=3&a=1', 'utf-8')).toEqual({ constructor: { prototype: { y: '2' } }, toString: '3', a: '1' });
    for (const body of ['__proto__[x]=1&a=1', 'a[__proto__][x]=1', '%5F%5Fproto%5F%5F=1']) {
      const e = thrown(() => parseForm(body, 'utf-8'));
      expect(e).toMatchObject({ status: 422, code: 'invalid_value', field: expect.stringMatching(/__proto__/) });
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).y).toBeUndefined();
  });

  it('a JSON __proto__ key, however escaped, is refused naming its place', () => {
    for (const [text, field] of [
      ['{"__proto__":{"x":1}}', '__proto__'],
      ['{"holder":{"\\u005f_proto__":"x"}}', 'holder.__proto__'],
      ['{"invoices":[{"a":1},{"__proto__":1}]}', 'invoices[1].__proto__'],
    ]) {
      expect(thrown(() => parseJson(text)), text).toMatchObject({ status: 422, code: 'invalid_value', field });
    }
    expect(parseJson('{"constructor":{"prototype":{"x":1}},"proto":"__proto"}')).toEqual({ constructor: { prototype: { x: 1 } }, proto: '__proto' });
  });
});
