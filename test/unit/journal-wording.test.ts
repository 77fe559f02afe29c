import { describe, expect, it } from 'vitest';
import { journalCsv, localDateTime } from '../../main/admin/journal-csv.ts';
import type { JournalEvent } from '../../main/journal/index.ts';
import { exchangeTitle, exchangeVerdict, formFields, inboundEntity, jobTitle, systemKey, systemTitle } from '../../main/journal/wording.ts';

const event = (patch: Partial<JournalEvent> = {}): JournalEvent => ({
  id: 7,
  at: '2026-12-06T21:30:05.000Z',
  endedAt: null,
  direction: 'out',
  system: 'passteam',
  entity: 'card:0000103',
  title: 'Карта 0000103 → Passteam',
  outcome: 'failed',
  summary: 'отказ',
  error: 'Этот номер телефона уже привязан к другой карте в Passteam',
  retry: false,
  counts: null,
  exchanges: 1,
  durationMs: 35.4,
  method: 'POST',
  url: 'https://getpass.passteam.ru/oapi/v1/createcard',
  status: 200,
  ...patch,
});

describe('journal wording', () => {
  it('names what an exchange is about, in Russian', () => {
    expect(exchangeTitle({ direction: 'in', system: '1c', method: 'PUT', url: '/v1/cards/0000103?wait=5', entity: null })).toBe('Карта 0000103 ← 1С');
    expect(exchangeTitle({ direction: 'in', system: '1c', method: 'POST', url: '/v1/cards/0000103/bonus', entity: null })).toBe('Бонусы карты 0000103 ← 1С');
    expect(exchangeTitle({ direction: 'in', system: '1c', method: 'GET', url: '/v1/invoices/%D0%97%D0%9A-1', entity: null })).toBe('Счёт по заказу ЗК-1 ← 1С');
    expect(exchangeTitle({ direction: 'in', system: '1c', method: 'GET', url: '/v1/health', entity: null })).toBe('Проверка связи ← 1С');
    expect(exchangeTitle({ direction: 'in', system: '1c', method: 'GET', url: '/v1/unknown/x', entity: null })).toBe('1С: GET /v1/unknown/x');
    expect(exchangeTitle({ direction: 'out', system: 'paykeeper', method: 'GET', url: 'https://pk/info/invoice/byid/?id=1', entity: 'invoice:7' })).toBe('Счёт по заказу 7 → PayKeeper');
    expect(exchangeTitle({ direction: 'out', system: 'docpart', method: 'POST', url: 'https://shop/api/execute.php', entity: 'docpart:get_article_info' })).toBe('Docpart: сведения об артикуле → Docpart');
    expect(exchangeTitle({ direction: 'out', system: 'regate:shop', method: 'GET', url: 'http://1c/hs/goods?x=1', entity: null })).toBe('ReGate (shop) → 1С: GET /hs/goods');
    expect(jobTitle('passteam', 'card:0000103')).toBe('Карта 0000103 → Passteam');
    expect(jobTitle('regate', 'regate:shop:order-1')).toBe('ReGate (shop) → 1С: отложенная запись');
    expect(inboundEntity('/v1/invoices/export?from=1')).toBeNull();
    expect([systemKey('regate:shop'), systemTitle('regate'), systemTitle('1c')]).toEqual(['regate', 'ReGate', '1С']);
  });

  it('a refused 1C call says what Sputnik told 1C; a failed call without words says what failed', () => {
    const base = { direction: 'in' as const, system: '1c', method: 'PUT', url: '/v1/cards/1', entity: null, error: null };
    expect(exchangeVerdict({ ...base, status: 422, failed: true, responseBody: '{"error":{"code":"invalid_value","message":"Поле «holder.phone»: не телефон"}}' })).toEqual({
      summary: 'отклонено',
      error: 'Поле «holder.phone»: не телефон',
    });
    expect(exchangeVerdict({ ...base, status: 200, failed: false, responseBody: '{}' })).toEqual({ summary: 'принято', error: null });
    expect(exchangeVerdict({ ...base, direction: 'out', system: 'paykeeper', status: 502, failed: true, responseBody: '<html>' })).toEqual({ summary: 'ошибка', error: 'PayKeeper ответил ошибкой (HTTP 502)' });
  });

  it('a form body reads as its decoded fields; anything else is not a form', () => {
    expect(formFields('templateId=tpl&values%5B%25CLIENT_NAME%25%5D=%D0%98%D0%B2%D0%B0%D0%BD+%D0%98.&token=***')).toEqual([
      { name: 'templateId', value: 'tpl' },
      { name: 'values[%CLIENT_NAME%]', value: 'Иван И.' },
      { name: 'token', value: '***' },
    ]);
    expect(formFields('{"a":1}')).toBeNull();
    expect(formFields('just text')).toBeNull();
    expect(formFields('a=%E0%A4%A')).toBeNull(); // broken escapes: shown as sent
  });
});

describe('journal CSV', () => {
  it('local time of the given zone, Russian names and outcome, the error filled in, no formula', () => {
    const rows = [event(), event({ id: 8, outcome: 'ok', summary: 'отправлена', error: null, title: '=HYPERLINK("x")', system: 'regate' })];
    const csv = journalCsv(() => rows, 'Europe/Moscow');
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines[1]).toBe('7;07.12.2026 00:30:05;исходящий;Passteam;Карта 0000103 → Passteam;ошибка;отказ;Этот номер телефона уже привязан к другой карте в Passteam;card:0000103;1;35;POST https://getpass.passteam.ru/oapi/v1/createcard');
    expect(lines[2].split(';').slice(3, 7)).toEqual(['ReGate', '"=""=HYPERLINK(""""x"""")"""', 'успешно', 'отправлена']);
    expect(journalCsv(() => [event()], 'Asia/Vladivostok').split('\r\n')[1]).toContain(';07.12.2026 07:30:05;');
    expect(localDateTime(Date.parse('2026-12-31T21:00:00Z'), 'Europe/Moscow')).toBe('01.01.2027 00:00:00');
  });
});
