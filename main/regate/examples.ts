import { z } from 'zod';
import type { ErrorDoc } from '../listener/openapi.ts';

/**
 * One request and answer example per method for the Swagger page (Richest.store's developers read
 * it). Shapes follow specs/regate.md; the values are what the sandbox's fake 1C answers.
 */
/** A loose object schema (1C's answer as it is) with what it means and one example. */
const ex = <T>(description: string, value: T) => z.looseObject({}).meta({ description, examples: [value] });

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
  state: ex('Версия 1С, конфигурация, организация', { platformVersion: '8.3.24.1548', configuration: { name: 'УправлениеТорговлей', synonym: 'Управление торговлей, редакция 11', version: '11.5.18.65' }, organization: { id: '5f0c…', name: 'ООО «Ромашка»', inn: '7701234567', kpp: '770101001', address: 'Москва, ул. Складочная, 1' }, serverTime: '2026-11-23T08:50:38+03:00' }),
  cities: ex('Города, где есть магазины', { items: [{ id: 'e89a11d2-b4a4-4e11-aa08-6c41ff0d1698', name: 'Москва', region: 'Москва', storeCount: 3 }] }),
  stores: ex('Магазины города', { items: [{ id: 'a1b2…', code: '000000001', name: 'Магазин на Складочной', address: 'Москва, ул. Складочная, 1', phone: '+74951234567', type: 'store' }] }),
  groups: ex('Группы и подгруппы товаров (parentId — родитель)', { items: [{ id: 'g-1', parentId: null, name: 'Бакалея', level: 1, itemCount: 120 }, { id: 'g-2', parentId: 'g-1', name: 'Крупы', level: 2, itemCount: 35 }] }),
  assortment: ex('Страница товаров с остатками и ценами; nextCursor — следующая (нет — последняя)', { stockAsOf: '2026-11-23T08:50:00+03:00', items: [item], nextCursor: 'eyJvZmZzZXQiOjUwMH0' }),
  clientRequest: ex('Данные клиента', { name: 'Иванов Иван Иванович', phone: '+79161234567', email: 'ivanov@example.ru' }),
  client: ex('Клиент: найден (200) или создан (201)', { created: true, client: { id: 'dd1ac050-…', externalId: 'rs-client-1', type: 'person', name: 'Иванов Иван Иванович', phone: '+79161234567', email: 'ivanov@example.ru' }, balance: { debt: 0, advance: 0 } }),
  clientUpdated: ex('Клиент изменён', { updated: true, client: { id: 'dd1ac050-…', externalId: 'rs-client-1', name: 'Иванов Иван Иванович', phone: '+79161234568' } }),
  bookingRequest: ex('Заказ: клиент, магазин, доставка, строки', {
    richestOrderId: 'RS-100500',
    client: { externalId: 'rs-client-1' },
    storeId: 'a1b2…',
    delivery: { address: 'Москва, ул. Ленина, 1, кв. 5', comment: 'домофон 5', from: '2026-11-24T10:00:00+03:00', to: '2026-11-24T14:00:00+03:00' },
    lines: [{ itemId: item.id, qty: 2, price: 189.9 }],
    comment: 'позвонить за час',
  }),
  booking: ex('Заказ создан в 1С', { orderId: 'f3c1…', number: 'ЗК-000123', date: '2026-11-23T08:51:00+03:00', sum: 379.8, currency: 'RUB', orderStatus: 0, paymentCode: 0, lines: [{ itemId: item.id, qty: 2, price: 189.9, sum: 379.8 }] }),
  queued: ex('1С недоступна: запись принята и будет выполнена позже; состояние — GET /regate/v1/operations/{operationId} (заголовок Location)', { operationId: '17', state: 'queued' }),
  paymentRequest: ex('Оплата картой', { method: 'card', amount: 379.8, paidAt: '2026-11-23T09:00:00+03:00', provider: 'Richest.store', transactionId: 'tx-8842', rrn: '123456789012', authCode: '0A1B2C', maskedPan: '220220******1234' }),
  payment: ex('Оплата проведена в 1С: новые состояние заказа и код оплаты', { orderStatus: 1, paymentCode: 1 }),
  orderState: ex('Состояние заказа', { orderId: 'f3c1…', number: 'ЗК-000123', orderStatus: 1, paymentCode: 1, paidAmount: 379.8, sum: 379.8, updatedAt: '2026-11-23T09:00:01+03:00' }),
  refundRequest: ex('Возврат', { amount: 379.8, reason: 'Покупатель отказался' }),
  refund: ex('Возврат подготовлен в 1С', { refundId: 'r-77', state: 'prepared' }),
  operation: ex('Отложенная запись: queued — ждёт 1С, done — выполнена (status, result), failed — отказ 1С (status, problem)', { operationId: '17', state: 'done', status: 201, result: { orderId: 'f3c1…', number: 'ЗК-000123' } }),
  health: ex(
    'Шлюз работает (gateway degraded — хранилище недоступно: записи и чтения не из кеша отвечают 503); хранилище (store: sqlite или общая база postgres); по каждой базе — связь с 1С, лимит, вызовы, очередь, доля ответов из кеша',
    { gateway: 'ok', store: { kind: 'postgres', state: 'up', since: null, reason: null }, tenants: { shop: { onec: 'ok', limit: 9, inFlight: 3, waiting: 0, queuedWrites: 0, cacheHitRate: 0.97 } } },
  ),
};

/** RFC 9457 problem details: the one error body of ReGate (what RegateProblem.toBody writes). */
export const problemSchema = z
  .object({
    type: z.string().describe('https://sputnik.local/regate/problems/<code>'),
    title: z.string().describe('Кратко, по-русски'),
    status: z.number().int().describe('HTTP-статус'),
    detail: z.string().describe('Подробно, по-русски: можно показать пользователю'),
    code: z.string().describe('Постоянный код: коды ReGate в нижнем регистре, отказы 1С — её коды (PRICE_MISMATCH, ALREADY_PAID…)'),
    retryable: z.boolean().describe('true — тот же запрос можно повторить позже (с тем же Idempotency-Key)'),
    requestId: z.string().describe('X-Request-Id этого ответа: по нему запрос находится в журнале Спутника'),
    details: z.unknown().optional().describe('Подробности отказа 1С как есть (например, строки с изменившейся ценой)'),
  })
  .describe('Ошибка ReGate (RFC 9457, application/problem+json)');

/** A documented ReGate error: its example body is the problem it answers with. */
export function problemDoc(
  p: { status: number; code: string; title: string; detail: string; retryable: boolean; details?: unknown },
  means: string,
  opts: { common?: boolean } = {},
): ErrorDoc {
  return { status: p.status, code: p.code, means, example: { type: `https://sputnik.local/regate/problems/${p.code}`, ...p, requestId: '6f1d2c9e-4b7a-4f43-9a51-0c3e8f1b2a77' }, ...opts };
}

const r = (status: number, code: string, title: string, detail: string, retryable: boolean, means: string, opts: { common?: boolean; details?: unknown } = {}) =>
  problemDoc({ status, code, title, detail, retryable, ...(opts.details === undefined ? {} : { details: opts.details }) }, means, { common: opts.common });

/** Every method may answer these. */
export const PROBLEMS = {
  invalid: r(400, 'invalid_request', 'Неверный запрос', 'Поле «limit»: должно быть от 1 до 500 (получено 900)', false, 'параметр, поле или тело не по правилам: detail называет какое'),
  unauthorized: r(401, 'unauthorized', 'Нужна авторизация', 'Неверный логин или пароль ReGate', false, 'нет Basic-авторизации или логин и пароль неверны'),
  tooManyLogins: r(429, 'too_many_logins', 'Слишком много неверных входов', 'Слишком много неверных логинов и паролей подряд: подождите минуту', true, '10 неверных входов подряд с этого адреса: подождите минуту (Retry-After)'),
  quota: r(429, 'quota_exceeded', 'Превышена квота', 'Не больше 600 вызовов в минуту', true, 'квота вызовов в минуту этой базы исчерпана: повторите после Retry-After'),
  badAnswer: r(502, 'onec_bad_answer', 'Непонятный ответ 1С', '1С ответила не JSON (HTTP 500): <html>…', true, '1С ответила не JSON'),
  onecAuth: r(502, 'onec_auth', '1С не пустила Спутник', '1С отказала техническому пользователю (HTTP 401): проверьте логин, пароль и роль ReGate в настройках базы', false, '1С не пустила технического пользователя Спутника: настройки у владельца базы'),
  busy: r(503, 'onec_busy', '1С занята', 'Все сеансы 1С заняты; повторите позже', true, 'все сеансы 1С заняты или 1С перегружена (Retry-After)'),
  locked: r(503, 'onec_locked', 'Данные в 1С заблокированы', '1С занята этими же данными: Конфликт блокировок при выполнении транзакции', true, 'те же данные сейчас меняются в 1С (Retry-After)'),
  timeout: r(504, 'onec_timeout', '1С не ответила вовремя', '1С не ответила за 15 с; результат неизвестен — повторите с тем же Idempotency-Key', true, '1С не ответила вовремя: запись повторите с тем же Idempotency-Key'),
  unavailable: r(503, 'onec_unavailable', '1С недоступна', 'База 1С не отвечает (ECONNREFUSED); повторите позже', true, 'база 1С не отвечает (чтение; запись в этом случае принимается с 202)'),
  requestTimeout: r(408, 'request_timeout', 'Неверный запрос', 'Запрос не пришёл целиком вовремя; повторите его', true, 'запрос не пришёл целиком вовремя', { common: true }),
  headers: r(431, 'headers_too_large', 'Неверный запрос', 'Заголовки запроса больше 16 КБ', false, 'заголовки больше 16 КБ', { common: true }),
  internal: r(500, 'internal_error', 'Внутренняя ошибка', 'Внутренняя ошибка шлюза; подробности в журнале Спутника', true, 'внутренняя ошибка шлюза: повторите; подробности в журнале Спутника', { common: true }),
  keyRequired: r(400, 'idempotency_key_required', 'Нужен Idempotency-Key', 'Для записи нужен заголовок Idempotency-Key (например, UUID операции)', false, 'нет заголовка Idempotency-Key'),
  keyTooLong: r(400, 'idempotency_key_too_long', 'Слишком длинный ключ', 'Idempotency-Key длиннее 255 символов', false, 'Idempotency-Key длиннее 255 символов'),
  inProgress: r(409, 'idempotency_in_progress', 'Запрос ещё выполняется', 'Запрос с этим Idempotency-Key ещё выполняется; повторите позже', true, 'запрос с этим ключом ещё выполняется: повторите позже (Retry-After)'),
  keyReused: r(422, 'idempotency_key_reused', 'Ключ уже использован', 'Этот Idempotency-Key уже использован с другим запросом', false, 'этот Idempotency-Key уже был у другого запроса'),
  operationNotFound: r(404, 'operation_not_found', 'Нет такой операции', 'Операция не найдена (или старше 72 ч)', false, 'операции нет (или она старше 72 ч)'),
};

/** 1C's own refusals: its code, status and text, carried as they are. */
export const REFUSALS = {
  cityNotFound: r(404, 'CITY_NOT_FOUND', 'Отказ 1С', 'Город не найден: e89a11d2-b4a4-4e11-aa08-6c41ff0d1698', false, 'отказ 1С: нет такого города'),
  storeNotFound: r(404, 'STORE_NOT_FOUND', 'Отказ 1С', 'Склад не найден: a1b2…', false, 'отказ 1С: нет такого магазина или группы (STORE_NOT_FOUND, GROUP_NOT_FOUND)'),
  badQuery: r(400, 'BAD_CURSOR', 'Отказ 1С', 'Неверный курсор', false, 'отказ 1С: параметр не принят (BAD_CURSOR, BAD_DATE, BAD_LIMIT)'),
  clientNotFound: r(404, 'CLIENT_NOT_FOUND', 'Отказ 1С', 'Клиент не найден: rs-client-1', false, 'отказ 1С: нет такого клиента (или магазина: STORE_NOT_FOUND)'),
  orderNotFound: r(404, 'ORDER_NOT_FOUND', 'Отказ 1С', 'Заказ не найден: f3c1…', false, 'отказ 1С: нет такого заказа'),
  client: r(422, 'CLIENT_NAME_REQUIRED', 'Отказ 1С', 'Не заполнено наименование клиента', false, 'отказ 1С: данные клиента не приняты (CLIENT_NAME_REQUIRED, BAD_INN, BAD_FIELD)'),
  booking: r(422, 'PRICE_MISMATCH', 'Отказ 1С', 'Цены изменились:\nБулгур «Золотой колос», 900 г: 179.9 → 189.9', false, 'отказ 1С: заказ не принят (PRICE_MISMATCH, BAD_LINES, NO_LINES…); в details — строки', {
    details: [{ itemId: item.id, clientPrice: 179.9, price: 189.9 }],
  }),
  payment: r(422, 'AMOUNT_MISMATCH', 'Отказ 1С', 'Сумма оплаты 300 не равна сумме заказа 379.8', false, 'отказ 1С: оплата не принята (AMOUNT_MISMATCH, BAD_METHOD)', { details: { amount: 300, sum: 379.8 } }),
  alreadyPaid: r(409, 'ALREADY_PAID', 'Отказ 1С', 'Заказ ЗК-000123 уже оплачен', false, 'отказ 1С: заказ уже оплачен или закрыт (ALREADY_PAID, ORDER_CLOSED)'),
  refundConflict: r(409, 'NOT_PAID', 'Отказ 1С', 'Заказ ЗК-000123 не оплачен, возврат невозможен', false, 'отказ 1С: возврат невозможен (NOT_PAID, ALREADY_REFUNDED, REFUND_EXISTS)'),
  refund: r(422, 'BAD_AMOUNT', 'Отказ 1С', 'Сумма возврата должна быть от 0 до 379.8', false, 'отказ 1С: сумма возврата не принята'),
};
