import { describe, expect, it } from 'vitest';
import { invoicesWord, rubles } from '../../main/connectors/paykeeper/export.ts';
import { ORDER_STATUSES } from '../../main/sandbox/docpart/seed.ts';
import { DOCPART_ORDER_STATUSES, docpartPaidLabel, docpartStatusLabel, docpartUserFieldLabel, docpartUserFields, invoiceCount } from '../../renderer/src/format.ts';

describe('Docpart words in the window', () => {
  it('an order status is a Russian word; an id the window does not know is «статус N»', () => {
    expect(docpartStatusLabel(1)).toBe('новый');
    expect(docpartStatusLabel('4')).toBe('готов к выдаче');
    expect(docpartStatusLabel(6)).toBe('отменён');
    expect(docpartStatusLabel(17)).toBe('статус 17');
    expect(docpartStatusLabel(0)).toBe('статус 0');
    expect(docpartStatusLabel(null)).toBe('—');
  });

  it('the window names every status the sandbox shop uses, as the shop names it', () => {
    expect(Object.keys(DOCPART_ORDER_STATUSES)).toEqual(Object.keys(ORDER_STATUSES));
    for (const [id, name] of Object.entries(ORDER_STATUSES)) expect(docpartStatusLabel(Number(id))).toBe(name.toLowerCase());
  });

  it('paid: 1 is paid in full, 2 in part (shop_orders.paid)', () => {
    expect(docpartPaidLabel(0)).toBe('не оплачен');
    expect(docpartPaidLabel(1)).toBe('оплачен');
    expect(docpartPaidLabel(2)).toBe('частично оплачен');
  });

  it('a buyer\'s registration fields get Russian labels in the usual order, empty ones left out, a shop\'s own key marked as a field name', () => {
    const rows = docpartUserFields({ email: 'a@b.ru', cellphone: '+79160000000', company_size: '10', patronymic: '', name: 'Анна', surname: 'Ёлкина' });
    expect(rows).toEqual([
      ['Фамилия', 'Ёлкина'],
      ['Имя', 'Анна'],
      ['Мобильный телефон', '+79160000000'],
      ['Эл. почта', 'a@b.ru'],
      ['Поле «company_size»', '10'],
    ]);
    expect(docpartUserFieldLabel('inn')).toBe('ИНН');
  });
});

describe('invoice counts and sums', () => {
  it('«счёт» agrees with its number, on screen and in the file', () => {
    const cases: Array<[number, string]> = [
      [0, '0 счетов'],
      [1, '1 счёт'],
      [2, '2 счёта'],
      [5, '5 счетов'],
      [11, '11 счетов'],
      [14, '14 счетов'],
      [21, '21 счёт'],
      [104, '104 счёта'],
      [111, '111 счетов'],
    ];
    for (const [n, text] of cases) {
      expect(invoicesWord(n)).toBe(text);
      expect(invoiceCount(n)).toBe(text);
    }
    expect(invoiceCount(1021)).toBe(`${new Intl.NumberFormat('ru-RU').format(1021)} счёт`);
  });

  it('kopecks → exact ruble text', () => {
    expect(rubles(0)).toBe('0.00');
    expect(rubles(5)).toBe('0.05');
    expect(rubles(123450)).toBe('1234.50');
    expect(rubles(1_000_000_000_00)).toBe('1000000000.00');
    expect(rubles(-250)).toBe('-2.50');
  });
});
