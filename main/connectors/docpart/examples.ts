/**
 * Examples for /v1/openapi.json's Docpart operations: what the sandbox's fake Docpart gives,
 * as the routes answer it.
 */

const item = {
  itemId: 50001,
  orderId: 10001,
  productType: 2,
  productId: null,
  productName: 'Свеча зажигания',
  brand: 'Bosch',
  article: '0242126844',
  count: 1,
  price: '1117.00',
  amount: '1117.00',
  statusId: 4,
  statusName: 'Выдано',
  termDays: 8,
  guaranteedTermDays: 12,
};

export const ORDER = {
  orderId: 10001,
  time: '2026-11-25T07:32:10',
  userId: 5,
  status: 4,
  paid: 0,
  amount: '1117.00',
  obtainId: 1,
  obtainCaption: 'Самовывоз',
  officeId: 1,
  officeName: 'Москва, ул. Складочная, д. 1, стр. 18',
  items: [item],
  user: {
    userId: 5,
    regVariant: 2,
    regField: '+79176743713',
    unlocked: true,
    activated: true,
    timeRegistered: '2025-02-19T00:23:43',
    timeLastVisit: '2026-12-06T03:05:38',
    fields: { surname: 'Михайлов', name: 'Евгений', patronymic: 'Петрович', cellphone: '+79176743713', email: 'mikhailov.e77@inbox.ru' },
  },
};

export const GUEST_ORDER = { ...ORDER, orderId: 10002, userId: 0, paid: 1, items: [{ ...item, itemId: 50003, orderId: 10002, productType: 1, productId: 5400 }], user: null };

export const PAYMENTS = [
  { paymentId: 1, userId: 6, time: '2026-11-25T16:25:11', income: true, orderId: 0, amount: '5004.00', operationCode: 2 },
  { paymentId: 2, userId: 6, time: '2026-11-25T16:25:14', income: false, orderId: 10002, amount: '5004.00', operationCode: 1 },
];

export const ARTICLE = { article: '0242126844', items: [{ manufacturer: 'Bosch', name: 'Свеча зажигания' }], fetchedAt: '2026-12-06T20:28:57', stale: false };

export const SYNC_DONE = { orders: 3, changed: 3, payments: 2, paymentsChanged: 2, users: 2, finishedAt: '2026-12-06T20:28:57' };

export const SYNC_RUNNING = { state: 'running' as const, stage: 'items' as const, counts: { orders: 1200, items: 3400, users: 800, payments: 0, saved: 1000 } };
