import { describe, expect, it } from 'vitest';
import {
  onecBoolean,
  onecDate,
  onecDateTime,
  onecDecimal,
  onecInteger,
  onecText,
  parseOnecDate,
  parseOnecNumber,
  toOnecDateTime,
} from '../../main/listener/onec-values.ts';
import { PLATFORM_CASES, platformCase } from '../helpers/conformance.ts';

/**
 * 1C's values as the real platform writes them (onec.md §1.8–1.9, §7) → typed values.
 * Where a measured output exists in test/fixtures/conformance/onec-platform-cases.json (a copy of the shared conformance data) the test feeds
 * the platform's exact UTF-8 bytes (platformOutputUtf8Hex) into the parser.
 */


/** The platform's output decoded from its exact UTF-8 bytes (not from the JSON string, so NBSPs are real). */
function platformText(id: string): string {
  const c = platformCase(id);
  if (!c.platformOutputUtf8Hex) throw new Error(`${id} has no platformOutputUtf8Hex`);
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(c.platformOutputUtf8Hex, 'hex'));
}

const NBSP = '\u00a0';
const NNBSP = '\u202f';

function ok<T>(schema: { safeParse(v: unknown): { success: boolean; data?: T; error?: unknown } }, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`expected ${JSON.stringify(value)} to be accepted: ${String(r.error)}`);
  return r.data as T;
}

function refused(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ message: string }> } } }, value: unknown): string {
  const r = schema.safeParse(value);
  expect(r.success, `expected ${JSON.stringify(value)} to be refused`).toBe(false);
  return r.error!.issues.map((i) => i.message).join('; ');
}

describe('numbers: parseOnecNumber / onecDecimal', () => {
  it('normalises NBSP (U+00A0) and narrow NBSP (U+202F) group separators and the comma decimal', () => {
    expect(parseOnecNumber(`1${NBSP}234,56`)).toBe('1234.56');
    expect(parseOnecNumber(`1${NNBSP}234,56`)).toBe('1234.56');
    expect(parseOnecNumber(`1${NBSP}000${NBSP}000`)).toBe('1000000');
    expect(parseOnecNumber('1 234,56')).toBe('1234.56');
    expect(parseOnecNumber(' 12,5 ')).toBe('12.5');
    expect(parseOnecNumber(`-1${NBSP}000,50`)).toBe('-1000.5');
    expect(parseOnecNumber('+7')).toBe('7');
    expect(parseOnecNumber('1234.5')).toBe('1234.5');
  });

  it('keeps 27 fraction digits exactly (decimal string, never a float)', () => {
    const third = '0.333333333333333333333333333';
    expect(parseOnecNumber('0,333333333333333333333333333')).toBe(third);
    expect(parseOnecNumber(third)).toBe(third);
    expect(ok(onecDecimal({ maxFractionDigits: 27 }), third)).toBe(third);
    expect(ok(onecDecimal(), '12345678901234567890123.000000000000000000000000001')).toBe('12345678901234567890123.000000000000000000000000001');
  });

  it('expands exponents exactly', () => {
    expect(parseOnecNumber('1.5e3')).toBe('1500');
    expect(parseOnecNumber('1,5E+3')).toBe('1500');
    expect(parseOnecNumber('1.5E-3')).toBe('0.0015');
    expect(parseOnecNumber('12e-1')).toBe('1.2');
    expect(parseOnecNumber('1e30')).toBe('1000000000000000000000000000000');
    expect(parseOnecNumber(1e21)).toBe('1000000000000000000000');
    expect(parseOnecNumber(1e-7)).toBe('0.0000001');
  });

  it('canonical form: no leading zeros, no trailing fraction zeros, no negative zero', () => {
    expect(parseOnecNumber('007,50')).toBe('7.5');
    expect(parseOnecNumber('-0,00')).toBe('0');
    expect(parseOnecNumber('0')).toBe('0');
    expect(parseOnecNumber(-2)).toBe('-2');
    expect(parseOnecNumber(1.5)).toBe('1.5');
  });

  it('refuses what is not a number (and does not misread other locales)', () => {
    for (const bad of ['abc', '1,2,3', '1.2.3', '12a', '--1', ',', '.', '1e', Number.NaN, Number.POSITIVE_INFINITY, true, null, {}]) {
      expect(parseOnecNumber(bad), String(bad)).toBeNull();
    }
    // FMT.LOCALE.COVERAGE: en_US "1,234.5" and de_DE "1.234,5" must be refused, not read as 1.2345 or 1.234
    const [en, de] = platformText('FMT.LOCALE.COVERAGE').split('|');
    expect(parseOnecNumber(en)).toBeNull();
    expect(parseOnecNumber(de)).toBeNull();
  });

  it('Формат(0) = "" is 0 only where the schema says emptyIsZero', () => {
    // FMT.NUM.ZERO_TEXT: Формат(0, "ЧГ=0") is the 4th part: an empty string
    const parts = platformText('FMT.NUM.ZERO_TEXT').split('|');
    expect(parts).toHaveLength(4);
    expect(parts[3]).toBe('');
    expect(ok(onecDecimal({ emptyIsZero: true }), parts[3])).toBe('0');
    expect(ok(onecInteger({ emptyIsZero: true }), parts[3])).toBe(0);
    expect(ok(onecInteger({ emptyIsZero: true }), '  ')).toBe(0);
    expect(refused(onecDecimal(), parts[3])).toMatch(/не число/);
    expect(refused(onecInteger(), '')).toMatch(/не целое/);
    // ЧН= gives "0"; "0,00" with ЧДЦ=2
    expect(parseOnecNumber(parts[1])).toBe('0');
    expect(parseOnecNumber(parts[2])).toBe('0');
    expect(parseOnecNumber(parts[0])).toBeNull(); // "пусто" (ЧН=пусто) is text, not a number
  });

  it('onecDecimal options: maxFractionDigits, positive; Russian messages', () => {
    const money = onecDecimal({ maxFractionDigits: 2, positive: true });
    expect(ok(money, '100,03')).toBe('100.03');
    expect(ok(money, 100.03)).toBe('100.03');
    expect(refused(money, '100,031')).toMatch(/не больше 2 знаков/);
    expect(refused(money, '0')).toMatch(/больше нуля/);
    expect(refused(money, '-5')).toMatch(/больше нуля/);
    expect(refused(money, 'сто')).toMatch(/«сто» — не число/);
    expect(refused(onecDecimal(), true)).toBeTruthy();
  });

  it('onecInteger: grouped text, range, refuses fractions and unsafe integers', () => {
    expect(ok(onecInteger(), `7${NBSP}500`)).toBe(7500);
    expect(ok(onecInteger(), 7500)).toBe(7500);
    expect(ok(onecInteger(), '1,0')).toBe(1);
    expect(refused(onecInteger(), '1,5')).toMatch(/не целое/);
    expect(refused(onecInteger(), '9007199254740993')).toMatch(/не целое/);
    expect(refused(onecInteger({ min: 0, max: 10 }), 11)).toMatch(/от 0 до 10/);
    expect(refused(onecInteger({ min: 0 }), '-1')).toMatch(/от 0/);
  });

  describe('platform outputs (onec-platform-cases.json)', () => {
    // Ч(x) = Формат(x, "ЧГ=0; ЧРД=.") — the machine format; parsing it must give it back exactly.
    const numIds = PLATFORM_CASES.filter((c) => c.id.startsWith('NUM.')).map((c) => c.id);
    it('covers the NUM.* cases', () => expect(numIds.length).toBeGreaterThanOrEqual(6));
    for (const id of numIds) {
      it(`${id}: every number the platform printed parses back to itself`, () => {
        // NUM.ROUND.DEFAULT_MODE prints three numbers separated by spaces ("3 4 -3")
        const parts = id === 'NUM.ROUND.DEFAULT_MODE' ? platformText(id).split(' ') : [platformText(id)];
        for (const p of parts) {
          expect(parseOnecNumber(p)).toBe(p);
          expect(ok(onecDecimal({ maxFractionDigits: 27 }), p)).toBe(p);
        }
      });
    }

    const presentations: Record<string, string[]> = {
      // Строка(1000.5): NBSP group separator, decimal comma
      'FMT.NUMBER.DEFAULT': ['1000.5'],
      // "[" + 1000.5 + "] | [" + Строка(1000.5) + "]"
      'CONCAT.RIGHT.THOUSANDS': ['1000.5', '1000.5'],
      'CONCAT.RIGHT.MILLION': ['1000000', '1000000'],
      'CONCAT.RIGHT.THIRD': ['0.333333333333333333333333333', '0.333333333333333333333333333'],
      'CONCAT.RIGHT.INT': ['5'],
      'CONCAT.RIGHT.ZERO': ['0', '0'],
      'ARITH.STR.ROUND_TRIP': ['1000'],
      'bench.pi_leibniz.number-to-string': ['3.141591653589793238712644144'],
      'SQRT.TWO': ['1.4142135623731'],
    };
    for (const [id, expected] of Object.entries(presentations)) {
      it(`${id}: Строка()/Формат() text → exact decimal`, () => {
        const text = platformText(id);
        const parts = text.includes('[') ? [...text.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]) : [text];
        expect(parts).toHaveLength(expected.length);
        parts.forEach((p, i) => {
          expect(ok(onecDecimal(), p)).toBe(expected[i]);
        });
      });
    }

    it('FMT.GROUP_SEP_CODE: the separator really is U+00A0 in FMT.NUMBER.DEFAULT bytes', () => {
      expect(platformText('FMT.GROUP_SEP_CODE')).toBe('160');
      expect(platformText('FMT.NUMBER.DEFAULT').charCodeAt(1)).toBe(160);
    });
  });
});

describe('dates: parseOnecDate / onecDate / onecDateTime', () => {
  const dt = onecDateTime();
  const d = onecDate();

  it('YYYY-MM-DD and YYYY-MM-DDTHH:MM:SS (1C local time, no zone)', () => {
    expect(ok(d, '2024-03-04')).toBe('2024-03-04');
    expect(ok(dt, '2024-03-04')).toBe('2024-03-04T00:00:00');
    expect(ok(dt, '2024-03-04T05:06:07')).toBe('2024-03-04T05:06:07');
    expect(ok(d, '2024-03-04T05:06:07')).toBe('2024-03-04');
    expect(parseOnecDate('2024-03-04T05:06:07')).toEqual({ date: '2024-03-04', time: '05:06:07', offsetMinutes: null });
  });

  it('space separator, minutes only, fractional seconds', () => {
    expect(ok(dt, '2024-03-04 05:06:07')).toBe('2024-03-04T05:06:07');
    expect(ok(dt, '2024-03-04T05:06')).toBe('2024-03-04T05:06:00');
    expect(ok(dt, '2024-03-04T05:06:07.123')).toBe('2024-03-04T05:06:07');
  });

  it('with Z, ±hh:mm and ±hhmm zones (ЛокальнаяДатаСоСмещением, УниверсальнаяДата)', () => {
    expect(ok(dt, '2024-03-04T05:06:07Z')).toBe('2024-03-04T05:06:07Z');
    expect(ok(dt, '2024-03-04T05:06:07+03:00')).toBe('2024-03-04T05:06:07+03:00');
    expect(ok(dt, '2024-03-04T05:06:07+0300')).toBe('2024-03-04T05:06:07+03:00');
    expect(ok(dt, '2024-03-04T05:06:07-03:30')).toBe('2024-03-04T05:06:07-03:30');
    expect(parseOnecDate('2024-03-04T05:06:07-03:30')?.offsetMinutes).toBe(-210);
    expect(ok(d, '2024-03-04T23:06:07-03:00')).toBe('2024-03-04'); // a calendar date is the wall-clock date 1C wrote
  });

  it('DD.MM.YYYY and DD.MM.YYYY H:MM:SS with the unpadded hour (Строка(Дата))', () => {
    expect(ok(d, '17.05.1990')).toBe('1990-05-17');
    expect(ok(d, '7.5.1990')).toBe('1990-05-07');
    expect(ok(dt, '04.03.2024 5:06:07')).toBe('2024-03-04T05:06:07');
    expect(ok(dt, '04.03.2024 15:06:07')).toBe('2024-03-04T15:06:07');
    expect(ok(dt, '04.03.2024 5:06')).toBe('2024-03-04T05:06:00');
    expect(ok(dt, '  04.03.2024   5:06:07 ')).toBe('2024-03-04T05:06:07');
  });

  it('/Date(ms)/ and new Date(ms) are UTC instants', () => {
    expect(ok(dt, '/Date(1399713255000)/')).toBe('2014-05-10T09:14:15Z');
    expect(ok(dt, 'new Date(1399713255000)')).toBe('2014-05-10T09:14:15Z');
    expect(ok(dt, '/Date(-1000)/')).toBe('1969-12-31T23:59:59Z');
    expect(ok(d, '/Date(1399713255000)/')).toBe('2014-05-10');
  });

  it('the empty date (0001-01-01T00:00:00, 01.01.0001 0:00:00, "") is null', () => {
    for (const empty of ['0001-01-01T00:00:00', '0001-01-01', '0001-01-01T00:00:00Z', '01.01.0001', '01.01.0001 0:00:00', '', '   ']) {
      expect(parseOnecDate(empty), empty).toBeNull();
      expect(ok(dt, empty), empty).toBeNull();
      expect(ok(d, empty), empty).toBeNull();
    }
    // 0001-01-01 with a time is a real (if odd) moment, not the empty date
    expect(ok(dt, '0001-01-01T00:30:00')).toBe('0001-01-01T00:30:00');
  });

  it('refuses impossible dates: 31.02.2024, 29.02.2023, month 13, hour 24, garbage', () => {
    for (const bad of ['31.02.2024', '29.02.2023', '2023-02-29', '2024-02-30', '2024-13-01', '00.01.2024', '2024-04-31', '2024-03-04T24:00:00', '2024-03-04T05:60:00', '2024-03-04T05:06:60', 'вчера', '2024/03/04', '15 января 2024 г.', '10:30:00']) {
      expect(parseOnecDate(bad), bad).toBeUndefined();
      expect(refused(dt, bad), bad).toMatch(/не дата/);
    }
    expect(ok(d, '29.02.2024')).toBe('2024-02-29');
    expect(ok(d, '29.02.2000')).toBe('2000-02-29');
    expect(parseOnecDate('29.02.1900')).toBeUndefined();
    expect(refused(d, 20240304)).toBeTruthy(); // a number is not a date
  });

  describe('platform outputs (onec-platform-cases.json)', () => {
    const jsonDates: Record<string, string | null> = {
      'json-dates.L1.iso-local': '2014-05-10T13:14:15',
      'json-dates.L2.iso-local-offset': '2014-05-10T13:14:15+04:00',
      'json-dates.L3.iso-universal': '2014-05-10T09:14:15Z',
      'json-dates.L4.javascript': '2014-05-10T09:14:15Z',
      'json-dates.L5.microsoft': '2014-05-10T09:14:15Z',
      'json-dates.L7.empty-date-universal': null,
      'json-dates.L11.read-z-to-local': '2014-05-10T13:14:15',
    };
    const scalarIds = PLATFORM_CASES.filter((c) => c.id.startsWith('json-dates.') && c.platformOutputUtf8Hex && !/^[{[]|^null$/.test(c.platformOutput ?? '')).map((c) => c.id);
    it('every scalar json-dates.* case has an expectation here', () => expect(scalarIds.sort()).toEqual(Object.keys(jsonDates).sort()));
    for (const [id, expected] of Object.entries(jsonDates)) {
      it(`${id}: "${platformCase(id).platformOutput}" → ${expected}`, () => {
        expect(ok(dt, platformText(id))).toBe(expected);
      });
    }

    it('FMT.DATE.DEFAULT: Строка(Дата) spellings incl. the unpadded hour and the empty date', () => {
      const [full, midnight, empty] = platformText('FMT.DATE.DEFAULT').split('|');
      expect(ok(dt, full)).toBe('2024-01-15T10:30:00');
      expect(ok(dt, midnight)).toBe('2024-01-15T00:00:00');
      expect(ok(dt, empty)).toBeNull();
    });

    it('JSON.DESERIALIZE.DATE_NO_ZONE: 04.03.2024 5:06:07', () => {
      const [, value] = platformText('JSON.DESERIALIZE.DATE_NO_ZONE').split('|');
      expect(ok(dt, value)).toBe('2024-03-04T05:06:07');
    });

    it('CONCAT.RIGHT.DATE / CONCAT.RIGHT.EMPTY_DATE', () => {
      for (const [id, expected] of [
        ['CONCAT.RIGHT.DATE', '2024-01-15T10:30:00'],
        ['CONCAT.RIGHT.EMPTY_DATE', null],
      ] as const) {
        const parts = [...platformText(id).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
        expect(parts).toHaveLength(2);
        for (const p of parts) expect(ok(dt, p)).toBe(expected);
      }
    });

    it('DATE.LONG_FORMAT_CODES: ДЛФ=Д and ДЛФ=ДВ accepted; ДЛФ=ДД ("15 января 2024 г.") and time-only refused', () => {
      const [short, long1, long2, time, both] = platformText('DATE.LONG_FORMAT_CODES').split('|');
      expect(ok(d, short)).toBe('2024-01-15');
      expect(ok(dt, both)).toBe('2024-01-15T10:30:00');
      for (const refusedText of [long1, long2, time]) expect(refused(dt, refusedText)).toMatch(/не дата/);
    });

    it('JSON.SERIALIZE.DATE_DEFAULT / DATE_EMPTY / json-callbacks.L13.date-midnight', () => {
      expect(ok(dt, JSON.parse(platformText('JSON.SERIALIZE.DATE_DEFAULT')).д)).toBe('2024-03-04T05:06:07');
      expect(ok(dt, JSON.parse(platformText('JSON.SERIALIZE.DATE_EMPTY')).д)).toBeNull();
      expect(ok(d, JSON.parse(platformText('json-callbacks.L13.date-midnight')).д)).toBe('2014-05-10');
    });
  });

  it('toOnecDateTime writes local wall-clock time without zone, as ЗаписатьJSON does', () => {
    expect(toOnecDateTime(new Date(2024, 2, 4, 5, 6, 7))).toBe('2024-03-04T05:06:07');
    expect(toOnecDateTime(new Date(2024, 0, 15, 0, 0, 0).getTime())).toBe('2024-01-15T00:00:00');
    expect(toOnecDateTime(Date.now())).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  });
});

describe('booleans: onecBoolean', () => {
  const b = onecBoolean();
  it('true/false, 1/0, Да/Нет, Истина/Ложь in any case', () => {
    for (const t of [true, 1, '1', 'true', 'TRUE', 'Да', 'да', 'ДА', 'Истина', 'yes', ' Да ']) expect(ok(b, t), String(t)).toBe(true);
    for (const f of [false, 0, '0', 'false', 'Нет', 'нет', 'Ложь', 'no', '']) expect(ok(b, f), String(f)).toBe(false);
  });
  it('FMT.BOOLEAN.TRUE, CONCAT.RIGHT.TRUE/FALSE: the platform presentations', () => {
    expect(ok(b, platformText('FMT.BOOLEAN.TRUE'))).toBe(true);
    for (const [id, expected] of [
      ['CONCAT.RIGHT.TRUE', true],
      ['CONCAT.RIGHT.FALSE', false],
    ] as const) {
      for (const m of platformText(id).matchAll(/\[([^\]]*)\]/g)) expect(ok(b, m[1])).toBe(expected);
    }
    // FMT.BOOLEAN.TRUE_TEXT: a custom БИ= word is not a boolean; the locale's Нет is
    const [custom, no] = platformText('FMT.BOOLEAN.TRUE_TEXT').split('|');
    expect(refused(b, custom)).toMatch(/Да\/Нет/);
    expect(ok(b, no)).toBe(false);
  });
  it('refuses other values', () => {
    for (const bad of [2, -1, 'может быть', 'y', null, {}]) refused(b, bad);
  });
});

describe('text: onecText', () => {
  it('trims, turns numbers into text, enforces the maximum', () => {
    expect(ok(onecText(), '  Иванов Иван  ')).toBe('Иванов Иван');
    expect(ok(onecText(), 123)).toBe('123');
    expect(ok(onecText({ max: 3 }), 'abc')).toBe('abc');
    expect(refused(onecText({ max: 3 }), 'abcd')).toMatch(/не длиннее 3/);
    refused(onecText(), null);
  });
});
