import type { DocpartData, DocpartItem, DocpartOrder, DocpartPayment, DocpartUser } from './fake.ts';
import { digits, int, pick, prng, type Rand } from '../random.ts';

/**
 * A deterministic Docpart shop for the fake (tests, sandbox, benchmark): same `seed` + same `now`
 * → byte-identical data. Mirrors the platform's tables (reference docpart.md §4.1):
 * - orders: ids increasing with time, spread over the last `days` days; ~10 % guests (user_id 0);
 *   `paid` 0/1/2; delivery modes and pick-up offices with their captions;
 * - lines: both product types (1 = catalogue: product_id set, t2_* null; 2 = price search:
 *   product_id null, t2_* day counts), ~5 % cancelled (count_flag 0, excluded from the order sum),
 *   an order whose lines are all cancelled gets the cancelled order status;
 * - users with registration variants and fields (surname, name, patronymic, cellphone, email);
 * - accounting rows: every paid/partially paid order has an expense row (income 0,
 *   operation_code 1 `1_pay_for_order`, pay_orders = order id), usually preceded by a direct-payment
 *   income row (income 1, operation_code 2 `2_income_for_direct_pay`, pay_orders 0); payment ids in
 *   time order;
 * - articles: the cross data for every article sold, some with a second manufacturer.
 * Status names and captions are plausible Russian shop settings (ASSUMED: every shop configures its own).
 */

export const ORDER_STATUSES: Record<number, string> = {
  1: 'Новый',
  2: 'Подтверждён',
  3: 'В работе',
  4: 'Готов к выдаче',
  5: 'Выдан',
  6: 'Отменён',
};

/** Line statuses with the platform's `count_flag` (0 = excluded from the order sum). */
export const ITEM_STATUSES: Record<number, { name: string; count_flag: 0 | 1 }> = {
  1: { name: 'Новая', count_flag: 1 },
  2: { name: 'Заказано у поставщика', count_flag: 1 },
  3: { name: 'Поступило на склад', count_flag: 1 },
  4: { name: 'Выдано', count_flag: 1 },
  5: { name: 'Отказ поставщика', count_flag: 0 },
  6: { name: 'Отменено', count_flag: 0 },
};

export const OBTAIN_MODES: Record<number, string> = { 1: 'Самовывоз', 2: 'Доставка курьером', 3: 'Транспортная компания' };
export const OFFICES: Record<number, string> = { 1: 'Москва, ул. Складочная, д. 1, стр. 18', 2: 'Москва, Варшавское ш., д. 125Ж', 3: 'Химки, Ленинградское ш., вл. 5' };


const letters = (r: Rand, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(65 + Math.floor(r() * 26));
  return s;
};

interface Part {
  brand: string;
  article: string;
  name: string;
  /** Rubles, typical retail price. */
  price: number;
}

/** Brand → (article maker, names with a price range). Article shapes follow each maker's numbering. */
const BRANDS: Array<{ brand: string; article: (r: Rand) => string; names: Array<[string, number, number]> }> = [
  { brand: 'Bosch', article: (r) => `0986${digits(r, 6)}`, names: [['Колодки тормозные передние', 1800, 5200], ['Фильтр топливный', 900, 3100], ['Щётка стеклоочистителя 600 мм', 600, 1400], ['Датчик ABS', 2100, 6900]] },
  { brand: 'Bosch', article: (r) => `0242${digits(r, 6)}`, names: [['Свеча зажигания', 350, 1300]] },
  { brand: 'Mann-Filter', article: (r) => pick(r, ['W', 'C', 'HU', 'CUK', 'WK']) + `${int(r, 6, 9)}${digits(r, 2)}/${int(r, 1, 99)}`, names: [['Фильтр масляный', 450, 1500], ['Фильтр воздушный', 700, 2400], ['Фильтр салонный угольный', 900, 2700]] },
  { brand: 'Mahle', article: (r) => pick(r, ['OX', 'LX', 'LA', 'KL']) + `${int(r, 100, 999)}${pick(r, ['', 'D', '/1', '/2'])}`, names: [['Фильтр масляный', 500, 1600], ['Фильтр воздушный', 750, 2500], ['Фильтр топливный', 1100, 3900]] },
  { brand: 'NGK', article: (r) => `${pick(r, ['BKR', 'ZFR', 'BCPR', 'PFR', 'ILZKR'])}${int(r, 5, 7)}${pick(r, ['E', 'EIX', 'AP', 'A'])}-${int(r, 8, 11)}`, names: [['Свеча зажигания', 320, 2100], ['Свеча зажигания иридиевая', 1200, 2600]] },
  { brand: 'Febi', article: (r) => digits(r, 5), names: [['Стойка стабилизатора', 700, 2200], ['Термостат', 1300, 4200], ['Опора двигателя', 1900, 6400], ['Датчик температуры охлаждающей жидкости', 500, 1800]] },
  { brand: 'Lemforder', article: (r) => `${int(r, 10, 39)}${digits(r, 3)}${pick(r, ['01', '02', '03'])}`, names: [['Рычаг подвески передний нижний', 4200, 14500], ['Шаровая опора', 1600, 4900], ['Наконечник рулевой тяги', 1200, 3800], ['Сайлентблок рычага', 800, 2600]] },
  { brand: 'TRW', article: (r) => `${pick(r, ['GDB', 'JTE', 'DF', 'JBJ'])}${int(r, 1000, 9999)}`, names: [['Колодки тормозные задние', 1500, 4300], ['Диск тормозной вентилируемый', 2900, 8800], ['Наконечник рулевой тяги', 1100, 3400]] },
  { brand: 'Brembo', article: (r) => `09.${letters(r, 1)}${int(r, 100, 999)}.${int(r, 10, 21)}`, names: [['Диск тормозной', 3500, 11200]] },
  { brand: 'Sachs', article: (r) => `${int(r, 300, 319)}${digits(r, 3)}`, names: [['Амортизатор передний газомасляный', 4800, 12800], ['Комплект сцепления', 9800, 27500]] },
  { brand: 'KYB', article: (r) => `33${digits(r, 4)}`, names: [['Амортизатор задний газомасляный', 3900, 9800]] },
  { brand: 'Gates', article: (r) => (r() < 0.5 ? `${int(r, 4, 7)}PK${int(r, 800, 2200)}` : `K01${digits(r, 4)}XS`), names: [['Ремень поликлиновый', 900, 2800], ['Комплект ГРМ', 5200, 16800]] },
  { brand: 'SKF', article: (r) => `VKBA ${int(r, 3000, 7999)}`, names: [['Подшипник ступицы, комплект', 2800, 8900]] },
  { brand: 'Hella', article: (r) => `8GH ${digits(r, 3)} ${digits(r, 3)}-${digits(r, 3)}`, names: [['Лампа H7 12V 55W', 250, 900], ['Лампа H4 12V 60/55W', 230, 850]] },
  { brand: 'Valeo', article: (r) => digits(r, 6), names: [['Помпа водяная', 2700, 7900], ['Генератор', 14500, 38900]] },
  { brand: 'VAG', article: (r) => `${int(r, 1, 8)}${letters(r, 1)}${int(r, 0, 9)}${digits(r, 3)}${digits(r, 3)}${letters(r, 1)}`, names: [['Фильтр масляный оригинальный', 700, 1900], ['Прокладка клапанной крышки', 1500, 4600]] },
  { brand: 'Castrol', article: (r) => `15${letters(r, 1)}${int(r, 1, 9)}${letters(r, 2)}`, names: [['Масло моторное EDGE 5W-30 4 л', 3900, 5600], ['Масло моторное MAGNATEC 5W-40 4 л', 3200, 4700]] },
];

/** Other makers that print the same number (cross entries from the Docpart cross server). */
const CROSS_BRANDS = ['Swag', 'Meyle', 'Stellox', 'Patron', 'Masuma', 'Blue Print'];

const SURNAMES: Array<[string, string, string]> = [
  ['Иванов', 'Иванова', 'ivanov'], ['Петров', 'Петрова', 'petrov'], ['Смирнов', 'Смирнова', 'smirnov'], ['Кузнецов', 'Кузнецова', 'kuznetsov'],
  ['Попов', 'Попова', 'popov'], ['Соколов', 'Соколова', 'sokolov'], ['Лебедев', 'Лебедева', 'lebedev'], ['Козлов', 'Козлова', 'kozlov'],
  ['Новиков', 'Новикова', 'novikov'], ['Морозов', 'Морозова', 'morozov'], ['Волков', 'Волкова', 'volkov'], ['Алексеев', 'Алексеева', 'alekseev'],
  ['Фёдоров', 'Фёдорова', 'fedorov'], ['Михайлов', 'Михайлова', 'mikhailov'], ['Белов', 'Белова', 'belov'], ['Тарасов', 'Тарасова', 'tarasov'],
  ['Орлов', 'Орлова', 'orlov'], ['Зайцев', 'Зайцева', 'zaitsev'], ['Ершов', 'Ершова', 'ershov'], ['Гусев', 'Гусева', 'gusev'],
];
const MALE: Array<[string, string]> = [['Александр', 'a'], ['Дмитрий', 'd'], ['Сергей', 's'], ['Андрей', 'a'], ['Алексей', 'a'], ['Михаил', 'm'], ['Игорь', 'i'], ['Николай', 'n'], ['Владимир', 'v'], ['Евгений', 'e']];
const FEMALE: Array<[string, string]> = [['Елена', 'e'], ['Ольга', 'o'], ['Наталья', 'n'], ['Татьяна', 't'], ['Мария', 'm'], ['Анна', 'a'], ['Ирина', 'i'], ['Светлана', 's']];
const PATRONYMICS: Array<[string, string]> = [
  ['Александрович', 'Александровна'], ['Сергеевич', 'Сергеевна'], ['Викторович', 'Викторовна'], ['Николаевич', 'Николаевна'],
  ['Иванович', 'Ивановна'], ['Петрович', 'Петровна'], ['Юрьевич', 'Юрьевна'], ['Олегович', 'Олеговна'],
];
const MAIL_DOMAINS = ['mail.ru', 'yandex.ru', 'gmail.com', 'bk.ru', 'inbox.ru', 'list.ru', 'rambler.ru'];

const DAY = 86_400;

export interface GenerateDocpartOptions {
  orders: number;
  /** Average lines per order (uniform 1 … 2·avg−1), default 3. */
  linesPerOrder?: number;
  /** Registered users, default max(5, orders/4). */
  users?: number;
  /** Orders spread over the last N days, default 14. */
  days?: number;
  /** PRNG seed, default 1. */
  seed?: number;
  /** ms epoch "now" (default Date.now()); pass it for byte-identical output. */
  now?: number;
}

const money = (kopecks: number): string => `${Math.floor(kopecks / 100)}.${String(kopecks % 100).padStart(2, '0')}`;

export function generateDocpartData(opts: GenerateDocpartOptions): DocpartData {
  const r = prng(opts.seed ?? 1);
  const orderCount = Math.max(0, Math.floor(opts.orders));
  const avgLines = Math.max(1, opts.linesPerOrder ?? 3);
  const userCount = Math.max(0, Math.floor(opts.users ?? Math.max(5, Math.ceil(orderCount / 4))));
  const days = Math.max(1, opts.days ?? 14);
  const nowSec = Math.floor((opts.now ?? Date.now()) / 1000);
  const windowStart = nowSec - Math.floor(days * DAY);

  // ---- parts pool and cross data ----
  const poolSize = Math.min(2000, 150 + Math.ceil(orderCount / 10));
  const parts: Part[] = [];
  const articles: DocpartData['articles'] = {};
  for (let i = 0; parts.length < poolSize && i < poolSize * 4; i++) {
    const b = pick(r, BRANDS);
    const article = b.article(r);
    if (articles[article]) continue;
    const [name, lo, hi] = pick(r, b.names);
    parts.push({ brand: b.brand, article, name, price: int(r, lo, hi) });
    const cross = [{ manufacturer: b.brand, name }];
    if (r() < 0.3) cross.push({ manufacturer: pick(r, CROSS_BRANDS), name: `${name} (аналог)` });
    articles[article] = cross;
  }

  // ---- users ----
  const users: DocpartUser[] = [];
  for (let i = 0; i < userCount; i++) {
    const userId = 2 + i; // 1 is the shop admin
    const female = r() < 0.3;
    const [sm, sf, latin] = pick(r, SURNAMES);
    const [first, initial] = female ? pick(r, FEMALE) : pick(r, MALE);
    const patronymic = r() < 0.85 ? pick(r, PATRONYMICS)[female ? 1 : 0] : '';
    const phone = `+79${digits(r, 9)}`;
    const email = `${latin}${female ? 'a' : ''}.${initial}${int(r, 1, 999)}@${pick(r, MAIL_DOMAINS)}`;
    const byPhone = r() < 0.3;
    const registered = windowStart - int(r, 0, 730 * DAY);
    users.push({
      user_id: userId,
      reg_variant: byPhone ? 2 : 1,
      reg_field: byPhone ? phone : email,
      unlocked: r() < 0.98 ? 1 : 0,
      activated: r() < 0.93 ? 1 : 0,
      time_registered: registered,
      time_last_visit: Math.min(nowSec, windowStart + int(r, 0, Math.floor(days * DAY))),
      fields: {
        surname: female ? sf : sm,
        name: first,
        patronymic,
        cellphone: phone,
        email: byPhone && r() < 0.5 ? '' : email,
      },
    });
  }

  // ---- orders and lines ----
  const times = new Array<number>(orderCount);
  for (let i = 0; i < orderCount; i++) times[i] = nowSec - Math.floor(r() * days * DAY);
  times.sort((a, b) => a - b);

  const orders: DocpartOrder[] = new Array(orderCount);
  const items: DocpartItem[] = [];
  const payments: Array<DocpartPayment & { seq: number }> = [];
  let itemId = 50001;
  let seq = 0;
  const maxLines = Math.max(1, Math.round(2 * avgLines - 1));
  for (let i = 0; i < orderCount; i++) {
    const orderId = 10001 + i;
    const time = times[i];
    const user = users.length === 0 || r() < 0.1 ? null : users[Math.floor(r() * users.length)];
    if (user && user.time_last_visit < time) user.time_last_visit = Math.min(nowSec, time + int(r, 0, 3 * DAY));
    const lineCount = int(r, 1, maxLines);
    let kopecks = 0;
    let live = 0;
    const age = nowSec - time;
    for (let j = 0; j < lineCount; j++) {
      const part = pick(r, parts);
      const type: 1 | 2 = r() < 0.35 ? 1 : 2;
      const count = r() < 0.7 ? 1 : r() < 0.7 ? 2 : int(r, 3, 8);
      const priceKop = Math.round(part.price * (0.9 + r() * 0.2)) * 100 + (r() < 0.3 ? int(r, 1, 99) : 0);
      let statusId: number;
      if (r() < 0.05) statusId = r() < 0.5 ? 5 : 6;
      else if (age > 7 * DAY) statusId = r() < 0.8 ? 4 : 3;
      else if (age > 2 * DAY) statusId = pick(r, [2, 3, 3, 4]);
      else statusId = r() < 0.6 ? 1 : 2;
      const st = ITEM_STATUSES[statusId];
      const term = type === 2 ? int(r, 1, 14) : null;
      items.push({
        item_id: itemId++,
        order_id: orderId,
        product_type: type,
        product_id: type === 1 ? int(r, 1, 40000) : null,
        product_name: part.name,
        brand: part.brand,
        article: part.article,
        count,
        price: money(priceKop),
        status_id: statusId,
        status_name: st.name,
        count_flag: st.count_flag,
        t2_time_to_exe: term,
        t2_time_to_exe_guaranteed: term === null ? null : term + int(r, 0, 7),
      });
      if (st.count_flag === 1) {
        kopecks += priceKop * count;
        live++;
      }
    }
    const cancelled = live === 0;
    const roll = r();
    const paid: 0 | 1 | 2 = cancelled ? 0 : roll < 0.45 ? 1 : roll < 0.55 ? 2 : 0;
    let status: number;
    if (cancelled) status = 6;
    else if (age > 7 * DAY) status = paid === 1 ? 5 : pick(r, [3, 4, 5]);
    else if (age > DAY) status = pick(r, [2, 3, 4]);
    else status = r() < 0.7 ? 1 : 2;
    const obtainId = r() < 0.6 ? 1 : r() < 0.6 ? 2 : 3;
    const officeId = r() < 0.6 ? 1 : r() < 0.6 ? 2 : 3;
    orders[i] = {
      order_id: orderId,
      time,
      user_id: user ? user.user_id : 0,
      status,
      paid,
      obtain_id: obtainId,
      obtain_caption: OBTAIN_MODES[obtainId],
      office_id: officeId,
      office_name: OFFICES[officeId],
    };
    if (paid !== 0) {
      const payKop = paid === 1 ? kopecks : Math.max(100, Math.floor((kopecks * (0.3 + r() * 0.4)) / 10000) * 10000);
      const userId = user ? user.user_id : 0;
      let at = Math.min(nowSec, time + int(r, 60, 2 * 3600));
      if (r() < 0.75) {
        payments.push({ payment_id: 0, user_id: userId, time: at, income: 1, pay_orders: 0, amount: money(payKop), operation_code: 2, seq: seq++ });
        at = Math.min(nowSec, at + int(r, 0, 3));
      }
      payments.push({ payment_id: 0, user_id: userId, time: at, income: 0, pay_orders: orderId, amount: money(payKop), operation_code: 1, seq: seq++ });
    }
  }

  payments.sort((a, b) => a.time - b.time || a.seq - b.seq);
  const outPayments: DocpartPayment[] = payments.map((p, i) => ({
    payment_id: i + 1,
    user_id: p.user_id,
    time: p.time,
    income: p.income,
    pay_orders: p.pay_orders,
    amount: p.amount,
    operation_code: p.operation_code,
  }));

  return { orders, items, users, payments: outPayments, articles };
}
