import { describe, expect, it } from 'vitest';
import { openStore } from '../../main/store/index.ts';
import { DocpartRepo, type OrderDoc } from '../../main/connectors/docpart/repo.ts';
import type { Payment, User } from '../../main/connectors/docpart/client.ts';
import { cardError, cardExtra, cardSent } from '../../main/connectors/passteam/cards.ts';
import { invoiceError } from '../../main/connectors/paykeeper/invoices.ts';
import { tempDir } from '../helpers/tmp.ts';

/** JSON columns the connectors wrote themselves: read back through one checked parse each (issue #19). */
describe('stored JSON columns', () => {
  const order: OrderDoc = {
    orderId: 101,
    time: 1_780_000_000,
    userId: 7,
    status: 2,
    paid: 1,
    amount: '1500.00',
    obtainId: 3,
    obtainCaption: 'Самовывоз',
    officeId: 1,
    officeName: 'Склад «Центр»',
    items: [
      { itemId: 1, orderId: 101, productType: 2, productId: null, productName: 'Фильтр', brand: 'MANN', article: 'W 712/75', count: 1, price: '1500.00', amount: '1500.00', statusId: 1, statusName: 'Новый', termDays: null, guaranteedTermDays: 3 },
    ],
  };
  const user: User = { userId: 7, regVariant: 1, regField: '+79876543210', unlocked: true, activated: false, timeRegistered: 1_700_000_000, timeLastVisit: null, fields: { surname: 'Петров', constructor: 'x', '2': 'y' } };
  const payment: Payment = { paymentId: 5, userId: 7, time: 1_780_000_100, income: true, orderId: 101, amount: '1500.00', operationCode: 1 };

  it('Docpart documents come back exactly as stored (same keys, same order: the feed bytes do not change)', async () => {
    const store = openStore(tempDir());
    const repo = new DocpartRepo(store);
    await store.write(() => {
      repo.putUser(user, 1);
      repo.putOrder(order, 1);
      repo.putPayment(payment, 1);
      repo.putArticle('W71275', [{ manufacturer: 'MANN', name: 'Фильтр масляный' }], 1);
    }, { durability: 'durable' });
    const [first] = repo.ordersAfter(0, 10);
    expect(JSON.stringify(first.order)).toBe(JSON.stringify(order));
    expect(JSON.stringify(first.user)).toBe(JSON.stringify(user));
    expect(JSON.stringify(repo.order(101))).toBe(JSON.stringify({ order, user, changedAt: 1 }));
    expect(JSON.stringify(repo.search('', 0, 10).rows[0].order)).toBe(JSON.stringify(order));
    expect(JSON.stringify(repo.paymentsAfter(0, 10)[0].payment)).toBe(JSON.stringify(payment));
    expect(repo.article('W71275')?.items).toEqual([{ manufacturer: 'MANN', name: 'Фильтр масляный' }]);
    store.close();
  });

  it('a Docpart document of another shape (a damaged store) is refused naming its column, not handed on', async () => {
    const store = openStore(tempDir());
    const repo = new DocpartRepo(store);
    await store.write(() => void repo.putOrder(order, 1), { durability: 'durable' });
    store.sql.run(`UPDATE docpart_orders SET doc = ? WHERE order_id = 101`, JSON.stringify({ ...order, items: 'none' }));
    expect(() => repo.ordersAfter(0, 10)).toThrow(/docpart_orders\.doc/);
    store.close();
  });

  it('a card’s variables and error, an invoice’s error: parsed once, null when absent, a damaged value refused', () => {
    const card = { extra: '{"2":"b","level":"gold","constructor":"c"}', sent: null, last_error: null };
    expect(cardExtra(card)).toEqual({ '2': 'b', level: 'gold', constructor: 'c' });
    expect(Object.keys(cardExtra(card))).toEqual(['2', 'level', 'constructor']);
    expect(cardSent(card)).toBeNull();
    expect(cardError(card)).toBeNull();
    expect(cardSent({ sent: '{"%NAME%":"Иван"}' })).toEqual({ '%NAME%': 'Иван' });
    expect(cardError({ last_error: '{"code":"phone_taken","message":"Телефон занят"}' })).toEqual({ code: 'phone_taken', message: 'Телефон занят' });
    expect(invoiceError({ last_error: '{"code":"paykeeper_refused","message":"PayKeeper отказал"}' })).toEqual({ code: 'paykeeper_refused', message: 'PayKeeper отказал' });

    expect(() => cardExtra({ extra: '{"level":5}' })).toThrow(/cards\.extra/);
    expect(() => cardSent({ sent: '["a"]' })).toThrow(/cards\.sent/);
    expect(() => cardError({ last_error: '{"code":1}' })).toThrow(/last_error/);
    expect(() => invoiceError({ last_error: '"refused"' })).toThrow(/last_error/);
  });
});
