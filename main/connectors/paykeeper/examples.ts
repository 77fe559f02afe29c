/**
 * Examples for /v1/openapi.json's invoice operations: what 1C sends (as the onec/ extension builds
 * it) and what Sputnik answers with the sandbox's fake PayKeeper.
 */

export const REQUEST = {
  orderId: 'ЗК-000123',
  amount: '1234.50',
  email: 'client@example.ru',
  phone: '+7 987 654-32-10',
  clientId: 'Иванов Иван Иванович',
  serviceName: 'Оплата заказа ЗК-000123',
  expiry: '2099-12-31',
  send: true,
};

/** The same invoice as a form: every value is text, 1C's own spellings included. */
export const FORM = { ...REQUEST, amount: '1 234,50', expiry: '31.12.2099', send: 'Да' };

export const BATCH = {
  invoices: [
    { ...REQUEST, orderId: 'ЗК-000124', serviceName: 'Оплата заказа ЗК-000124' },
    { orderId: 'ЗК-000125', amount: '1 234,5', email: 'other@example.ru', expiry: '31.12.2099', send: false },
  ],
};

export const BATCH_FORM = {
  invoices: [
    { orderId: 'ЗК-000124', amount: '1234.50', email: 'client@example.ru', expiry: '2099-12-31', send: 'Да' },
    { orderId: 'ЗК-000125', amount: '1 234,5', email: 'other@example.ru', expiry: '31.12.2099', send: 'Нет' },
  ],
};

export const SENT = {
  orderId: 'ЗК-000123',
  state: 'sent' as const,
  invoiceId: '20261206232857329',
  invoiceUrl: 'https://demo.paykeeper.ru/bill/20261206232857329/',
  amount: '1234.50',
  expiry: '2099-12-31',
  paidAt: null,
  error: null,
};

export const QUEUED = { ...SENT, state: 'queued' as const, invoiceId: null, invoiceUrl: null };
export const PAID = { ...SENT, state: 'paid' as const, paidAt: '2026-12-06T14:03:11' };
export const REVOKED = { ...SENT, state: 'revoked' as const };

/** A batch item refused by validation: the other items go on. */
export const BATCH_ITEM_REFUSED = {
  orderId: 'ЗК-000126',
  state: 'failed' as const,
  invoiceId: null,
  invoiceUrl: null,
  amount: null,
  expiry: null,
  paidAt: null,
  error: { code: 'invalid_value', message: 'Поле «invoices[1].amount»: должно быть больше нуля (получено 0)', field: 'invoices[1].amount' },
};

export const CSV =
  'Заказ;Клиент;E-mail;Сумма;Создан;Оплатить до;Состояние;Оплачен;Платёж;Счёт PayKeeper\r\n' +
  'ЗК-000123;Иванов Иван Иванович;client@example.ru;1234,50;06.12.2026 20:28;31.12.2099;Оплачен;06.12.2026 14:03;"=""8842""";"=""20261206232857329"""\r\n';
