import { z } from 'zod';

/**
 * One request and answer example per method for the Swagger page (Richest.store's developers read
 * it). Shapes follow specs/regate.md; the values are what the sandbox's fake 1C answers.
 */
const ex = <T>(value: T) => z.looseObject({}).meta({ examples: [value] });

const item = {
  id: '2783d8ea-7706-4e73-a8b3-5af2fc581c87',
  sku: 'КР-00001',
  name: 'Булгур «Золотой колос», 900 г',
  fullName: 'Булгур ТМ «Золотой колос», упаковка 900 г',
  countryOfOrigin: 'Россия',
  brand: 'Золотой колос',
  barcodes: ['4648184771406'],
  shortDescription: 'Булгур, 900 г',
  description: 'Булгур торговой марки «Золотой колос».',
  images: [{ url: 'https://shop.example/images/bulgur.jpg', main: true }],
  unit: { code: 'pcs', name: 'шт' },
  portion: { qty: 0.9, unit: 'kg' },
  minQty: 1,
  qtyStep: 1,
  stock: { qty: 42, unlimited: false, label: null },
  prices: [
    { fromQty: 0, price: 189.9 },
    { fromQty: 10, price: 179.9 },
    { fromQty: 50, price: 169.9 },
  ],
  updatedAt: '2026-11-23T08:50:38+03:00',
};

export const EXAMPLES = {
  state: ex({ platformVersion: '8.3.24.1548', configuration: { name: 'УправлениеТорговлей', synonym: 'Управление торговлей, редакция 11', version: '11.5.18.65' }, organization: { id: '5f0c…', name: 'ООО «Ромашка»', inn: '7701234567', kpp: '770101001', address: 'Москва, ул. Складочная, 1' }, serverTime: '2026-11-23T08:50:38+03:00' }),
  cities: ex({ items: [{ id: 'e89a11d2-b4a4-4e11-aa08-6c41ff0d1698', name: 'Москва', region: 'Москва', storeCount: 3 }] }),
  stores: ex({ items: [{ id: 'a1b2…', code: '000000001', name: 'Магазин на Складочной', address: 'Москва, ул. Складочная, 1', phone: '+74951234567', type: 'store' }] }),
  groups: ex({ items: [{ id: 'g-1', parentId: null, name: 'Бакалея', level: 1, itemCount: 120 }, { id: 'g-2', parentId: 'g-1', name: 'Крупы', level: 2, itemCount: 35 }] }),
  assortment: ex({ stockAsOf: '2026-11-23T08:50:00+03:00', items: [item], nextCursor: 'eyJvZmZzZXQiOjUwMH0' }),
  clientRequest: ex({ name: 'Иванов Иван Иванович', phone: '+79161234567', email: 'ivanov@example.ru' }),
  client: ex({ created: true, client: { id: 'dd1ac050-…', externalId: 'rs-client-1', type: 'person', name: 'Иванов Иван Иванович', phone: '+79161234567', email: 'ivanov@example.ru' }, balance: { debt: 0, advance: 0 } }),
  clientUpdated: ex({ updated: true, client: { id: 'dd1ac050-…', externalId: 'rs-client-1', name: 'Иванов Иван Иванович', phone: '+79161234568' } }),
  bookingRequest: ex({
    richestOrderId: 'RS-100500',
    client: { externalId: 'rs-client-1' },
    storeId: 'a1b2…',
    delivery: { address: 'Москва, ул. Ленина, 1, кв. 5', comment: 'домофон 5', from: '2026-11-24T10:00:00+03:00', to: '2026-11-24T14:00:00+03:00' },
    lines: [{ itemId: item.id, qty: 2, price: 189.9 }],
    comment: 'позвонить за час',
  }),
  booking: ex({ orderId: 'f3c1…', number: 'ЗК-000123', date: '2026-11-23T08:51:00+03:00', sum: 379.8, currency: 'RUB', orderStatus: 0, paymentCode: 0, lines: [{ itemId: item.id, qty: 2, price: 189.9, sum: 379.8 }] }),
  queued: ex({ operationId: '17', state: 'queued' }),
  paymentRequest: ex({ method: 'card', amount: 379.8, paidAt: '2026-11-23T09:00:00+03:00', provider: 'Richest.store', transactionId: 'tx-8842', rrn: '123456789012', authCode: '0A1B2C', maskedPan: '220220******1234' }),
  payment: ex({ orderStatus: 1, paymentCode: 1 }),
  orderState: ex({ orderId: 'f3c1…', number: 'ЗК-000123', orderStatus: 1, paymentCode: 1, paidAmount: 379.8, sum: 379.8, updatedAt: '2026-11-23T09:00:01+03:00' }),
  refundRequest: ex({ amount: 379.8, reason: 'Покупатель отказался' }),
  refund: ex({ refundId: 'r-77', state: 'prepared' }),
  operation: ex({ operationId: '17', state: 'done', status: 201, result: { orderId: 'f3c1…', number: 'ЗК-000123' } }),
  refusal: ex({
    type: 'https://sputnik.local/regate/problems/PRICE_MISMATCH',
    title: 'Отказ 1С',
    status: 422,
    detail: 'Цены изменились:\nБулгур «Золотой колос», 900 г: 179.9 → 189.9',
    code: 'PRICE_MISMATCH',
    retryable: false,
    requestId: '6f1d…',
    details: [{ itemId: item.id, clientPrice: 179.9, price: 189.9 }],
  }),
  conflict: ex({ type: 'https://sputnik.local/regate/problems/ALREADY_PAID', title: 'Отказ 1С', status: 409, detail: 'Заказ ЗК-000123 уже оплачен', code: 'ALREADY_PAID', retryable: false, requestId: '6f1d…' }),
  health: ex({ gateway: 'ok', tenants: { shop: { onec: 'ok', limit: 9, inFlight: 3, waiting: 0, queuedWrites: 0, cacheHitRate: 0.97 } } }),
  problem: ex({ type: 'https://sputnik.local/regate/problems/onec_unavailable', title: '1С недоступна', status: 503, detail: 'База 1С не отвечает; повторите позже', code: 'onec_unavailable', retryable: true, requestId: '6f1d…' }),
};
