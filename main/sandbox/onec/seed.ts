import { digits, int, pick, prng, type Rand } from '../random.ts';

/**
 * A deterministic 1C trading company (УТ 11.5) for the fake 1C ReGate service: same `seed` + same
 * `now` → deep-equal data. What it holds (shared/specs/regate.md, reference/regate.md §6.3):
 * - an organisation with a valid ИНН (10 digits, check digit), КПП and ОГРН (check digit), address;
 *   platform 8.3.x and configuration «Управление торговлей», редакция 11.5;
 * - 4–6 cities with 2–5 stores each (codes like 1C catalog codes, addresses, phones, types);
 * - a group tree 2–3 levels deep; items only in leaf groups;
 * - `items` goods (default 3000) with Russian names, brands and their countries, 1–2 EAN-13 barcodes
 *   with valid check digits (GS1 prefix of the brand's country), image URLs, units kg/l/pcs, portions,
 *   min qty and step, VAT, quantity-break prices (fromQty 0 / X1 / X2, each lower);
 * - stock per store (each store carries 70–95 % of the items); ~10 % of items are sold to order
 *   (`qty: null` in every store → `unlimited: true`, label «без ограничения»);
 * - clients (people, ИП with a 12-digit ИНН, companies with ИНН/КПП) keyed by Richest.store's
 *   external id, and orders in every status with lines priced by the breaks.
 * ASSUMED (no real base behind it): names, brands, price levels, that X1/X2 are inclusive
 * ("from X units"), one price set for every store, ids are random UUIDs (1C refs).
 */

export type UnitCode = 'kg' | 'l' | 'pcs';
export const UNIT_NAMES: Record<UnitCode, string> = { kg: 'кг', l: 'л', pcs: 'шт' };
export const UNLIMITED_LABEL = 'без ограничения';

export interface CompanyOrganization {
  id: string;
  name: string;
  fullName: string;
  inn: string;
  kpp: string;
  ogrn: string;
  address: string;
}

export interface CompanyCity {
  id: string;
  name: string;
  region: string;
}

export interface CompanyStore {
  id: string;
  cityId: string;
  /** 1C catalog code, 9 characters with leading zeros. */
  code: string;
  name: string;
  address: string;
  phone: string;
  type: 'retail' | 'warehouse' | 'pickup';
}

export interface CompanyGroup {
  id: string;
  parentId: string | null;
  name: string;
  level: number;
}

export interface PriceBreak {
  /** The price applies from this quantity on (inclusive). */
  fromQty: number;
  price: number;
}

export interface CompanyItem {
  id: string;
  /** 1C code (Код). */
  code: string;
  /** Артикул. */
  sku: string;
  name: string;
  fullName: string;
  countryOfOrigin: string;
  brand: string;
  manufacturer: string;
  barcodes: string[];
  shortDescription: string;
  description: string;
  images: Array<{ url: string; main: boolean }>;
  unit: { code: UnitCode; name: string };
  portion: { qty: number; unit: UnitCode } | null;
  minQty: number;
  qtyStep: number;
  prices: PriceBreak[];
  vatRate: number;
  groupId: string;
  /** Sold to order: unlimited in every store that carries it. */
  soldToOrder: boolean;
  /** ms epoch */
  updatedAt: number;
}

export interface StockEntry {
  /** null = sold to order, no limit. */
  qty: number | null;
  /** ms epoch of the last stock change. */
  updatedAt: number;
}

export interface CompanyClient {
  id: string;
  externalId: string;
  type: 'person' | 'entrepreneur' | 'company';
  name: string;
  fullName: string;
  inn: string | null;
  kpp: string | null;
  phone: string | null;
  email: string | null;
  createdAt: number;
  updatedAt: number;
  /** Our debt to nobody: what the client owes (≥ 0) and its prepayment (≥ 0), roubles. */
  debt: number;
  advance: number;
}

export interface CompanyOrderLine {
  itemId: string;
  qty: number;
  price: number;
  sum: number;
}

export interface CompanyPayment {
  id: string;
  method: 'card' | 'bank' | 'cash' | 'emoney';
  paymentCode: number;
  amount: number;
  paidAt: number;
  provider: string | null;
  transactionId: string | null;
}

export interface CompanyRefund {
  id: string;
  amount: number;
  reason: string;
  state: 'prepared' | 'posted';
  createdAt: number;
}

export interface CompanyOrder {
  id: string;
  /** 1C document number, e.g. ТД00-000123. */
  number: string;
  date: number;
  richestOrderId: string;
  clientExternalId: string;
  storeId: string;
  delivery: { address: string; comment: string | null; from: string | null; to: string | null };
  lines: CompanyOrderLine[];
  sum: number;
  /** 0 created/unpaid, 1 card, 2 bank, 3 cash, 4 e-money, 5 expired, 6 annulled, 7 money returned. */
  orderStatus: number;
  /** 0 not paid, 1 card, 2 bank account, 3 cash, 4 e-money. */
  paymentCode: number;
  paidAmount: number;
  paidAt: number | null;
  updatedAt: number;
  comment: string | null;
  /** X-ReGate-Request-Id that created it (null for seeded orders). */
  requestId: string | null;
  payments: CompanyPayment[];
  refunds: CompanyRefund[];
}

export interface Company {
  /** ms epoch the data was generated for. */
  now: number;
  platformVersion: string;
  configuration: { name: string; synonym: string; version: string };
  organization: CompanyOrganization;
  cities: CompanyCity[];
  stores: CompanyStore[];
  groups: CompanyGroup[];
  items: CompanyItem[];
  /** storeId → itemId → stock; an item absent from a store is not in its assortment. */
  stock: Record<string, Record<string, StockEntry>>;
  clients: CompanyClient[];
  orders: CompanyOrder[];
}

export interface GenerateCompanyOptions {
  seed: number;
  /** Default 3000. */
  items?: number;
  /** Default 40. */
  clients?: number;
  /** Default 60. */
  orders?: number;
  /** ms epoch "now", default 2025-06-02T09:00:00Z (fixed, so the output is deterministic). */
  now?: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const DAY_MS = 86_400_000;

/** A 1C ref as `УникальныйИдентификатор()` prints it (v4 layout). */
export function uuid(r: Rand): string {
  let h = '';
  for (let i = 0; i < 32; i++) h += Math.floor(r() * 16).toString(16);
  const v = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** EAN-13 check digit of the first 12 digits. */
export function ean13CheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

export function isValidEan13(code: string): boolean {
  return /^[0-9]{13}$/.test(code) && ean13CheckDigit(code.slice(0, 12)) === Number(code[12]);
}

const innCheck = (d: string, weights: number[]): number => (weights.reduce((s, w, i) => s + w * Number(d[i]), 0) % 11) % 10;

/** ИНН of a legal entity (10 digits) with its check digit. */
export function legalInn(r: Rand, region: string): string {
  const body = region + digits(r, 7);
  return body + String(innCheck(body, [2, 4, 10, 3, 5, 9, 4, 6, 8]));
}

/** ИНН of a person / ИП (12 digits) with both check digits. */
export function personInn(r: Rand, region: string): string {
  const body = region + digits(r, 8);
  const c11 = innCheck(body, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
  const c12 = innCheck(body + c11, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
  return `${body}${c11}${c12}`;
}

export function isValidInn(inn: string): boolean {
  if (/^[0-9]{10}$/.test(inn)) return innCheck(inn, [2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(inn[9]);
  if (/^[0-9]{12}$/.test(inn))
    return innCheck(inn, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(inn[10]) && innCheck(inn, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(inn[11]);
  return false;
}

function ogrn(r: Rand, region: string): string {
  const body = `1${pick(r, ['02', '03', '05', '07', '10', '12', '15'])}${region}${digits(r, 7)}`;
  return body + String((BigInt(body) % 11n) % 10n);
}

// ---- dictionaries ----

interface Brand {
  name: string;
  country: string;
  /** GS1 prefixes of the country. */
  gs1: string[];
}

const RU = ['460', '461', '462', '463', '464', '465', '466', '467', '468', '469'];
const BRANDS: Brand[] = [
  { name: 'Северная нива', country: 'Россия', gs1: RU },
  { name: 'Добрый край', country: 'Россия', gs1: RU },
  { name: 'Алтайские просторы', country: 'Россия', gs1: RU },
  { name: 'Дары Кубани', country: 'Россия', gs1: RU },
  { name: 'Золотой колос', country: 'Россия', gs1: RU },
  { name: 'Волжские зори', country: 'Россия', gs1: RU },
  { name: 'Уральский мастер', country: 'Россия', gs1: RU },
  { name: 'Вкусный двор', country: 'Россия', gs1: RU },
  { name: 'Сибирская ягода', country: 'Россия', gs1: RU },
  { name: 'Белая Русь', country: 'Беларусь', gs1: ['481'] },
  { name: 'Степной край', country: 'Казахстан', gs1: ['487'] },
  { name: 'Арарат Фуд', country: 'Армения', gs1: ['485'] },
  { name: 'Fattoria Bella', country: 'Италия', gs1: ['800', '801', '803'] },
  { name: 'Anadolu Lezzet', country: 'Турция', gs1: ['869'] },
  { name: 'Casa Soleada', country: 'Испания', gs1: ['840', '843'] },
  { name: 'Srpska Kuća', country: 'Сербия', gs1: ['860'] },
];
const HOME_BRANDS: Brand[] = [
  { name: 'Чистый дом', country: 'Россия', gs1: RU },
  { name: 'Лазурит', country: 'Россия', gs1: RU },
  { name: 'Blitzblank', country: 'Германия', gs1: ['400', '401', '402'] },
  { name: 'Белая Русь', country: 'Беларусь', gs1: ['481'] },
  { name: 'Parlak', country: 'Турция', gs1: ['869'] },
];

interface Pack {
  label: string;
  qty: number;
  unit: UnitCode;
}

interface Leaf {
  name: string;
  unit: UnitCode;
  nouns: string[];
  /** For pcs: what one piece holds; for kg/l: a typical portion. */
  packs: Pack[];
  /** Price per unit (piece / kg / l), roubles. */
  price: [number, number];
  vat: number;
  home?: boolean;
}

interface Node {
  name: string;
  children: Array<Node | Leaf>;
}

const g = (label: string, qty: number): Pack => ({ label, qty, unit: 'kg' });
const l = (label: string, qty: number): Pack => ({ label, qty, unit: 'l' });

const TREE: Node[] = [
  {
    name: 'Бакалея',
    children: [
      { name: 'Крупы', unit: 'pcs', nouns: ['Гречка ядрица', 'Рис круглозёрный', 'Рис длиннозёрный пропаренный', 'Пшено шлифованное', 'Хлопья овсяные', 'Булгур', 'Крупа перловая', 'Кускус', 'Чечевица красная'], packs: [g('800 г', 0.8), g('900 г', 0.9), g('1 кг', 1)], price: [60, 260], vat: 10 },
      { name: 'Макаронные изделия', unit: 'pcs', nouns: ['Спагетти', 'Рожки', 'Перья рифлёные', 'Вермишель', 'Фузилли', 'Лапша яичная', 'Ракушки'], packs: [g('400 г', 0.4), g('450 г', 0.45), g('500 г', 0.5)], price: [45, 210], vat: 10 },
      { name: 'Мука и смеси для выпечки', unit: 'pcs', nouns: ['Мука пшеничная высший сорт', 'Мука ржаная обдирная', 'Смесь для блинов', 'Крахмал картофельный', 'Мука цельнозерновая'], packs: [g('1 кг', 1), g('2 кг', 2), g('500 г', 0.5)], price: [50, 190], vat: 10 },
      { name: 'Специи и приправы', unit: 'pcs', nouns: ['Перец чёрный молотый', 'Паприка копчёная', 'Лист лавровый', 'Приправа для плова', 'Куркума молотая', 'Смесь итальянских трав'], packs: [g('15 г', 0.015), g('20 г', 0.02), g('50 г', 0.05)], price: [25, 140], vat: 10 },
    ],
  },
  {
    name: 'Молочная продукция',
    children: [
      { name: 'Молоко и кисломолочные', unit: 'pcs', nouns: ['Молоко пастеризованное 3,2 %', 'Молоко ультрапастеризованное 2,5 %', 'Кефир 1 %', 'Ряженка 4 %', 'Сливки питьевые 10 %', 'Йогурт питьевой клубничный'], packs: [l('0,9 л', 0.9), l('1 л', 1), l('0,5 л', 0.5)], price: [55, 160], vat: 10 },
      { name: 'Сыры весовые', unit: 'kg', nouns: ['Сыр Российский 50 %', 'Сыр Гауда 45 %', 'Сыр Пошехонский 45 %', 'Сыр Сулугуни', 'Брынза', 'Сыр Маасдам 45 %'], packs: [g('~200 г', 0.2), g('~300 г', 0.3), g('~500 г', 0.5)], price: [520, 1450], vat: 10 },
      { name: 'Творог и сметана', unit: 'pcs', nouns: ['Творог 9 %', 'Творог обезжиренный', 'Сметана 15 %', 'Сметана 20 %', 'Творожная масса с изюмом'], packs: [g('180 г', 0.18), g('200 г', 0.2), g('350 г', 0.35)], price: [60, 230], vat: 10 },
    ],
  },
  {
    name: 'Напитки',
    children: [
      { name: 'Соки и нектары', unit: 'pcs', nouns: ['Сок яблочный осветлённый', 'Нектар персиковый', 'Сок томатный с солью', 'Сок апельсиновый', 'Нектар вишнёвый', 'Морс клюквенный'], packs: [l('1 л', 1), l('0,2 л', 0.2), l('2 л', 2)], price: [40, 240], vat: 20 },
      { name: 'Вода питьевая', unit: 'pcs', nouns: ['Вода питьевая негазированная', 'Вода минеральная газированная', 'Вода детская'], packs: [l('0,5 л', 0.5), l('1,5 л', 1.5), l('5 л', 5)], price: [25, 180], vat: 20 },
      { name: 'Разливные напитки', unit: 'l', nouns: ['Квас хлебный разливной', 'Морс брусничный разливной', 'Лимонад «Тархун» разливной', 'Сбитень медовый'], packs: [l('1 л', 1), l('1,5 л', 1.5)], price: [90, 260], vat: 20 },
    ],
  },
  {
    name: 'Кондитерские изделия',
    children: [
      { name: 'Шоколад', unit: 'pcs', nouns: ['Шоколад молочный', 'Шоколад горький 70 %', 'Шоколад с фундуком', 'Шоколад белый пористый'], packs: [g('90 г', 0.09), g('100 г', 0.1), g('200 г', 0.2)], price: [70, 360], vat: 20 },
      {
        name: 'Весовые сладости',
        children: [
          { name: 'Конфеты весовые', unit: 'kg', nouns: ['Конфеты «Белочка»', 'Конфеты «Птичье молоко»', 'Ирис «Золотой ключик»', 'Карамель «Раковая шейка»', 'Конфеты «Трюфель»'], packs: [g('~250 г', 0.25), g('~500 г', 0.5)], price: [380, 1300], vat: 20 },
          { name: 'Печенье весовое', unit: 'kg', nouns: ['Печенье овсяное', 'Печенье сахарное «Юбилейное»', 'Пряники тульские', 'Пряники мятные', 'Крекер солёный'], packs: [g('~300 г', 0.3), g('~500 г', 0.5)], price: [220, 690], vat: 20 },
        ],
      },
    ],
  },
  {
    name: 'Мясо и птица',
    children: [
      { name: 'Охлаждённое мясо', unit: 'kg', nouns: ['Говядина лопатка без кости', 'Свинина шея', 'Фарш домашний', 'Филе куриное', 'Бедро индейки', 'Рёбра свиные'], packs: [g('~1 кг', 1), g('~700 г', 0.7)], price: [320, 980], vat: 10 },
      {
        name: 'Колбасные изделия',
        children: [
          { name: 'Варёные колбасы', unit: 'kg', nouns: ['Колбаса «Докторская»', 'Колбаса «Молочная»', 'Сосиски «Сливочные»', 'Сардельки говяжьи'], packs: [g('~400 г', 0.4), g('~500 г', 0.5)], price: [390, 890], vat: 10 },
          { name: 'Копчёные колбасы', unit: 'pcs', nouns: ['Колбаса «Сервелат» варёно-копчёная', 'Колбаса «Брауншвейгская» сырокопчёная', 'Колбаски охотничьи', 'Салями «Миланская»'], packs: [g('300 г', 0.3), g('350 г', 0.35), g('500 г', 0.5)], price: [180, 720], vat: 10 },
        ],
      },
    ],
  },
  {
    name: 'Овощи и фрукты',
    children: [
      { name: 'Овощи', unit: 'kg', nouns: ['Картофель молодой', 'Морковь мытая', 'Лук репчатый', 'Томаты розовые', 'Огурцы среднеплодные', 'Капуста белокочанная', 'Перец сладкий'], packs: [g('~1 кг', 1), g('~2 кг', 2)], price: [35, 390], vat: 10 },
      { name: 'Фрукты', unit: 'kg', nouns: ['Яблоки Голден', 'Бананы', 'Апельсины', 'Груши Конференция', 'Мандарины', 'Виноград кишмиш'], packs: [g('~1 кг', 1), g('~1,5 кг', 1.5)], price: [90, 450], vat: 10 },
    ],
  },
  {
    name: 'Бытовая химия',
    children: [
      { name: 'Средства для стирки', unit: 'pcs', nouns: ['Порошок стиральный автомат', 'Гель для стирки цветного белья', 'Кондиционер для белья', 'Пятновыводитель кислородный'], packs: [g('3 кг', 3), l('1,5 л', 1.5), l('1 л', 1)], price: [190, 980], vat: 20, home: true },
      { name: 'Средства для мытья посуды', unit: 'pcs', nouns: ['Средство для мытья посуды лимон', 'Гель для посудомоечных машин', 'Таблетки для посудомоечных машин'], packs: [l('0,5 л', 0.5), l('1 л', 1), g('600 г', 0.6)], price: [90, 890], vat: 20, home: true },
    ],
  },
];

const CITIES: Array<{ name: string; region: string; code: string; phone: string; streets: string[] }> = [
  { name: 'Москва', region: 'Москва', code: '77', phone: '495', streets: ['ул. Профсоюзная', 'Варшавское ш.', 'ул. Бутырская', 'Ленинский пр-кт', 'ул. Маросейка'] },
  { name: 'Санкт-Петербург', region: 'Санкт-Петербург', code: '78', phone: '812', streets: ['Невский пр-кт', 'ул. Савушкина', 'Московский пр-кт', 'ул. Бабушкина'] },
  { name: 'Казань', region: 'Республика Татарстан', code: '16', phone: '843', streets: ['ул. Баумана', 'пр-кт Победы', 'ул. Чистопольская', 'ул. Декабристов'] },
  { name: 'Екатеринбург', region: 'Свердловская область', code: '66', phone: '343', streets: ['ул. Малышева', 'ул. 8 Марта', 'пр-кт Ленина', 'ул. Репина'] },
  { name: 'Нижний Новгород', region: 'Нижегородская область', code: '52', phone: '831', streets: ['ул. Большая Покровская', 'пр-кт Гагарина', 'ул. Родионова'] },
  { name: 'Новосибирск', region: 'Новосибирская область', code: '54', phone: '383', streets: ['Красный пр-кт', 'ул. Кирова', 'ул. Богдана Хмельницкого'] },
  { name: 'Самара', region: 'Самарская область', code: '63', phone: '846', streets: ['ул. Куйбышева', 'Московское ш.', 'ул. Ново-Садовая'] },
  { name: 'Краснодар', region: 'Краснодарский край', code: '23', phone: '861', streets: ['ул. Красная', 'ул. Северная', 'ул. Ставропольская'] },
];

const SURNAMES: Array<[string, string]> = [
  ['Иванов', 'Иванова'], ['Петров', 'Петрова'], ['Смирнов', 'Смирнова'], ['Кузнецов', 'Кузнецова'], ['Соколов', 'Соколова'],
  ['Лебедев', 'Лебедева'], ['Новиков', 'Новикова'], ['Морозов', 'Морозова'], ['Волков', 'Волкова'], ['Фёдоров', 'Фёдорова'],
];
const MALE = ['Александр', 'Дмитрий', 'Сергей', 'Андрей', 'Михаил', 'Игорь'];
const FEMALE = ['Елена', 'Ольга', 'Наталья', 'Татьяна', 'Мария', 'Ирина'];
const PATRONYMICS: Array<[string, string]> = [['Александрович', 'Александровна'], ['Сергеевич', 'Сергеевна'], ['Викторович', 'Викторовна'], ['Иванович', 'Ивановна']];
const COMPANY_WORDS = ['Вектор', 'Гастроном', 'Уют', 'Пекарня Хлебница', 'Кафе Самовар', 'Столовая Ромашка', 'Ресторан Терраса', 'Кулинария', 'Фермер', 'Трапеза'];
const COMMENTS = ['Позвонить за час', 'Домофон не работает', 'Оставить у охраны', null, null, null];
const BREAK_REASONS = ['Возврат по заявлению клиента', 'Товар ненадлежащего качества', 'Отказ от заказа'];

function isLeaf(n: Node | Leaf): n is Leaf {
  return 'nouns' in n;
}

export function generateCompany(opts: GenerateCompanyOptions): Company {
  const r = prng(opts.seed);
  const now = opts.now ?? Date.UTC(2025, 5, 2, 9, 0, 0);
  const itemCount = Math.max(0, Math.floor(opts.items ?? 3000));

  // ---- organisation ----
  const home = pick(r, CITIES.slice(0, 4));
  const orgWord = pick(r, ['Северная нива', 'Добрый край', 'Волжские зори', 'Золотой колос']);
  const organization: CompanyOrganization = {
    id: uuid(r),
    name: `ТД «${orgWord}»`,
    fullName: `Общество с ограниченной ответственностью «Торговый дом «${orgWord}»`,
    inn: legalInn(r, home.code),
    kpp: `${home.code}${pick(r, ['01', '02', '03', '05', '07'])}01001`,
    ogrn: ogrn(r, home.code),
    address: `${int(r, 101000, 199999)}, г. ${home.name}, ${pick(r, home.streets)}, д. ${int(r, 1, 120)}, офис ${int(r, 1, 40)}`,
  };

  // ---- cities and stores ----
  const cityPool = [home, ...CITIES.filter((c) => c !== home)];
  const cityCount = int(r, 4, 6);
  const cities: CompanyCity[] = [];
  const stores: CompanyStore[] = [];
  let storeCode = 0;
  for (let ci = 0; ci < cityCount; ci++) {
    const c = ci === 0 ? cityPool[0] : cityPool.splice(1 + Math.floor(r() * (cityPool.length - 1)), 1)[0];
    const city: CompanyCity = { id: uuid(r), name: c.name, region: c.region };
    cities.push(city);
    const n = int(r, 2, 5);
    for (let si = 0; si < n; si++) {
      const type = si === 0 && r() < 0.5 ? 'warehouse' : r() < 0.2 ? 'pickup' : 'retail';
      const street = pick(r, c.streets);
      const house = int(r, 1, 150);
      stores.push({
        id: uuid(r),
        cityId: city.id,
        code: String(++storeCode).padStart(9, '0'),
        name: type === 'warehouse' ? `Склад ${c.name} (${street})` : type === 'pickup' ? `Пункт выдачи ${street}, ${house}` : `Магазин ${street}, ${house}`,
        address: `г. ${c.name}, ${street}, д. ${house}`,
        phone: `+7 (${c.phone}) ${digits(r, 3)}-${digits(r, 2)}-${digits(r, 2)}`,
        type,
      });
    }
  }

  // ---- groups ----
  const groups: CompanyGroup[] = [];
  const leaves: Array<{ leaf: Leaf; groupId: string }> = [];
  const walk = (n: Node | Leaf, parentId: string | null, level: number): void => {
    const id = uuid(r);
    groups.push({ id, parentId, name: n.name, level });
    if (isLeaf(n)) leaves.push({ leaf: n, groupId: id });
    else for (const child of n.children) walk(child, id, level + 1);
  };
  for (const top of TREE) walk(top, null, 1);

  // ---- items ----
  const items: CompanyItem[] = [];
  const usedBarcodes = new Set<string>();
  const barcode = (brand: Brand): string => {
    for (;;) {
      const prefix = pick(r, brand.gs1);
      const first12 = prefix + digits(r, 12 - prefix.length);
      const code = first12 + String(ean13CheckDigit(first12));
      if (!usedBarcodes.has(code)) {
        usedBarcodes.add(code);
        return code;
      }
    }
  };
  for (let li = 0; li < leaves.length; li++) {
    const { leaf, groupId } = leaves[li];
    const want = Math.floor(itemCount / leaves.length) + (li < itemCount % leaves.length ? 1 : 0);
    const brands = leaf.home ? HOME_BRANDS : BRANDS;
    // All combinations in a shuffled order, so names repeat only past the combination count.
    const combos: Array<[string, Brand, Pack]> = [];
    for (const noun of leaf.nouns) for (const brand of brands) for (const pack of leaf.packs) combos.push([noun, brand, pack]);
    for (let i = combos.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [combos[i], combos[j]] = [combos[j], combos[i]];
    }
    for (let k = 0; k < want; k++) {
      const [noun, brand, pack] = combos[k % combos.length];
      const series = Math.floor(k / combos.length);
      const n = items.length + 1;
      const unit = leaf.unit;
      const weightOrVolume = unit === 'pcs' ? `, ${pack.label}` : '';
      const name = `${noun} «${brand.name}»${weightOrVolume}${series > 0 ? ` (серия ${series + 1})` : ''}`;
      const base = leaf.price[0] + r() * (leaf.price[1] - leaf.price[0]);
      const p0 = round2(Math.round(base) - (r() < 0.5 ? 0.01 : 0));
      const x1 = unit === 'pcs' ? pick(r, [6, 10, 12, 24]) : unit === 'kg' ? pick(r, [3, 5, 10]) : pick(r, [5, 10]);
      const x2 = unit === 'pcs' ? x1 * pick(r, [4, 5, 10]) : unit === 'kg' ? x1 * pick(r, [3, 4]) : x1 * 5;
      const prices: PriceBreak[] = [
        { fromQty: 0, price: p0 },
        { fromQty: x1, price: round2(p0 * (0.93 + r() * 0.04)) },
        { fromQty: x2, price: round2(p0 * (0.85 + r() * 0.05)) },
      ];
      let minQty = 1;
      let qtyStep = 1;
      if (unit === 'kg') {
        qtyStep = 0.1;
        minQty = pick(r, [0.1, 0.2, 0.3, 0.5]);
      } else if (unit === 'l') {
        qtyStep = 0.5;
        minQty = pick(r, [0.5, 1]);
      } else if (r() < 0.1) {
        qtyStep = pick(r, [2, 6, 10]);
        minQty = qtyStep;
      }
      const sku = `${leaf.name.slice(0, 2).toUpperCase()}-${String(n).padStart(5, '0')}`;
      const codes = [barcode(brand)];
      if (r() < 0.25) codes.push(barcode(brand));
      const imageDir = `https://img.regate-demo.ru/items/${String(n).padStart(6, '0')}`;
      const images = [{ url: `${imageDir}/1.jpg`, main: true }];
      for (let i = 2, m = int(r, 0, 2); i < m + 2; i++) images.push({ url: `${imageDir}/${i}.jpg`, main: false });
      items.push({
        id: uuid(r),
        code: `ТД-${String(n).padStart(8, '0')}`,
        sku,
        name,
        fullName: `${noun} ТМ «${brand.name}»${unit === 'pcs' ? `, упаковка ${pack.label}` : `, весовой товар (${UNIT_NAMES[unit]})`}`,
        countryOfOrigin: brand.country,
        brand: brand.name,
        manufacturer: brand.country === 'Россия' ? `ООО «${brand.name}»` : `${brand.name} (${brand.country})`,
        barcodes: codes,
        shortDescription: `${noun}, ${unit === 'pcs' ? pack.label : `цена за 1 ${UNIT_NAMES[unit]}`}`,
        description: `${noun} торговой марки «${brand.name}». Страна происхождения: ${brand.country}. ${leaf.vat === 10 ? 'Хранить в сухом прохладном месте.' : 'Беречь от детей и прямых солнечных лучей.'}`,
        images,
        unit: { code: unit, name: UNIT_NAMES[unit] },
        portion: unit === 'pcs' || r() < 0.7 ? { qty: pack.qty, unit: pack.unit } : null,
        minQty,
        qtyStep,
        prices,
        vatRate: leaf.vat,
        groupId,
        soldToOrder: r() < 0.1,
        updatedAt: now - int(r, 1, 90 * 24) * 3_600_000,
      });
    }
  }

  // ---- stock ----
  const stock: Record<string, Record<string, StockEntry>> = {};
  for (const store of stores) {
    const carry = 0.7 + r() * 0.25;
    const rows: Record<string, StockEntry> = {};
    for (const it of items) {
      if (r() >= carry) continue;
      let qty: number | null = null;
      if (!it.soldToOrder) {
        if (r() < 0.05) qty = 0;
        else if (it.unit.code === 'pcs') qty = int(r, 1, 40) * it.qtyStep * (r() < 0.2 ? 5 : 1);
        else qty = round3(int(r, 1, 800) / 10);
      }
      rows[it.id] = { qty, updatedAt: now - int(r, 1, 72) * 3_600_000 };
    }
    stock[store.id] = rows;
  }

  // ---- clients ----
  const clients: CompanyClient[] = [];
  const clientCount = Math.max(0, Math.floor(opts.clients ?? 40));
  for (let i = 0; i < clientCount; i++) {
    const kind = r();
    const region = pick(r, CITIES).code;
    const createdAt = now - int(r, 30, 700) * DAY_MS;
    const phone = `+7 9${digits(r, 2)} ${digits(r, 3)}-${digits(r, 2)}-${digits(r, 2)}`;
    let c: Omit<CompanyClient, 'id' | 'externalId' | 'createdAt' | 'updatedAt' | 'debt' | 'advance' | 'phone' | 'email'>;
    if (kind < 0.45) {
      const female = r() < 0.5;
      const [m, f] = pick(r, SURNAMES);
      const [pm, pf] = pick(r, PATRONYMICS);
      const full = female ? `${f} ${pick(r, FEMALE)} ${pf}` : `${m} ${pick(r, MALE)} ${pm}`;
      c = { type: 'person', name: full, fullName: full, inn: null, kpp: null };
    } else if (kind < 0.65) {
      const [m] = pick(r, SURNAMES);
      const first = pick(r, MALE);
      const [pm] = pick(r, PATRONYMICS);
      c = { type: 'entrepreneur', name: `ИП ${m} ${first[0]}. ${pm[0]}.`, fullName: `Индивидуальный предприниматель ${m} ${first} ${pm}`, inn: personInn(r, region), kpp: null };
    } else {
      const w = pick(r, COMPANY_WORDS);
      c = { type: 'company', name: `ООО «${w}»`, fullName: `Общество с ограниченной ответственностью «${w}»`, inn: legalInn(r, region), kpp: `${region}0${int(r, 1, 9)}01001` };
    }
    clients.push({
      id: uuid(r),
      externalId: `rs-${String(100000 + i * 7 + int(r, 0, 6))}`,
      ...c,
      phone,
      email: r() < 0.8 ? `client${i + 1}@example.ru` : null,
      createdAt,
      updatedAt: createdAt,
      debt: r() < 0.2 ? round2(int(r, 100, 50000) + r()) : 0,
      advance: r() < 0.15 ? round2(int(r, 100, 20000)) : 0,
    });
  }

  // ---- orders ----
  const orders: CompanyOrder[] = [];
  const orderCount = clients.length === 0 ? 0 : Math.max(0, Math.floor(opts.orders ?? 60));
  const itemById = new Map(items.map((it) => [it.id, it]));
  const STATUS_MIX = [0, 0, 0, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7];
  const METHODS: Array<CompanyPayment['method']> = ['card', 'bank', 'cash', 'emoney'];
  for (let i = 0; i < orderCount; i++) {
    const client = pick(r, clients);
    const store = pick(r, stores);
    const available = Object.entries(stock[store.id]).filter(([, s]) => s.qty === null || s.qty > 0);
    if (available.length === 0) continue;
    const date = now - int(r, 1, 60 * 24) * 3_600_000;
    const lines: CompanyOrderLine[] = [];
    const seen = new Set<string>();
    for (let k = 0, n = int(r, 1, 6); k < n; k++) {
      const [itemId] = pick(r, available);
      if (seen.has(itemId)) continue;
      seen.add(itemId);
      const it = itemById.get(itemId);
      if (!it) throw new Error(`fake 1C seed: stock of unknown item ${itemId}`);
      const qty = round3(it.minQty + it.qtyStep * int(r, 0, 15));
      const price = priceFor(it, qty);
      lines.push({ itemId, qty, price, sum: round2(qty * price) });
    }
    const sum = round2(lines.reduce((s, x) => s + x.sum, 0));
    const orderStatus = pick(r, STATUS_MIX);
    const paid = orderStatus >= 1 && orderStatus <= 4 ? orderStatus : orderStatus === 7 ? int(r, 1, 4) : 0;
    const paidAt = paid ? date + int(r, 1, 48) * 600_000 : null;
    const payments: CompanyPayment[] = paidAt !== null
      ? [{ id: uuid(r), method: METHODS[paid - 1], paymentCode: paid, amount: sum, paidAt, provider: paid === 1 ? 'Сбербанк эквайринг' : null, transactionId: paid === 1 ? digits(r, 12) : null }]
      : [];
    // Status 7 (refunded) is always paid: paidAt is set.
    const refunds: CompanyRefund[] = orderStatus === 7 && paidAt !== null ? [{ id: uuid(r), amount: sum, reason: pick(r, BREAK_REASONS), state: 'posted', createdAt: paidAt + DAY_MS }] : [];
    const street = pick(r, CITIES).streets[0];
    orders.push({
      id: uuid(r),
      number: `ТД00-${String(i + 1).padStart(6, '0')}`,
      date,
      richestOrderId: `R-${200000 + i}`,
      clientExternalId: client.externalId,
      storeId: store.id,
      delivery: { address: `${street}, д. ${int(r, 1, 99)}, кв. ${int(r, 1, 200)}`, comment: pick(r, COMMENTS), from: '10:00', to: pick(r, ['14:00', '18:00', '21:00']) },
      lines,
      sum,
      orderStatus,
      paymentCode: orderStatus === 7 ? paid : paid,
      paidAmount: orderStatus >= 1 && orderStatus <= 4 ? sum : 0,
      paidAt,
      updatedAt: refunds[0]?.createdAt ?? paidAt ?? date,
      comment: r() < 0.3 ? 'Заказ с сайта Richest.store' : null,
      requestId: null,
      payments,
      refunds,
    });
  }

  return {
    now,
    platformVersion: '8.3.24.1548',
    configuration: { name: 'УправлениеТорговлей', synonym: 'Управление торговлей, редакция 11', version: '11.5.18.65' },
    organization,
    cities,
    stores,
    groups,
    items,
    stock,
    clients,
    orders,
  };
}

/** Unit price for a quantity: the break with the largest `fromQty` ≤ qty. */
export function priceFor(item: Pick<CompanyItem, 'prices'>, qty: number): number {
  let price = item.prices[0]?.price ?? 0;
  let from = -Infinity;
  for (const b of item.prices) if (b.fromQty <= qty + 1e-9 && b.fromQty >= from) {
    price = b.price;
    from = b.fromQty;
  }
  return price;
}
