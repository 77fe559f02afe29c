import type { ConnectorState, Direction, Meta } from './types.ts';

/** Russian wording for everything the operator reads; pure so it is unit-tested. */

/** The systems' titles: 1C's, and each module's as the service names it (GET /api/meta, given to `setNames`). */
let systemNames = new Map<string, string>([['1c', '1С']]);

/** Takes the modules' titles from the service's meta (the store calls it when the meta arrives). */
export function setNames(meta: Pick<Meta, 'systems'>): void {
  systemNames = new Map([['1c', '1С'], ...Object.entries(meta.systems)]);
}

/** Every system the journal files events under, in order (its filter lists them all). */
export function systemList(): Array<[string, string]> {
  return [...systemNames];
}

const STATE_LABELS: Readonly<Record<ConnectorState, string>> = {
  disabled: 'выключен',
  ok: 'работает',
  failing: 'нет связи',
  paused: 'приостановлен: проверьте настройки',
};

export function connectorName(key: string): string {
  return systemNames.get(key) ?? key;
}

export function systemName(key: string): string {
  return systemNames.get(key) ?? key;
}

export function stateLabel(state: string): string {
  return (STATE_LABELS as Record<string, string>)[state] ?? `неизвестно (${state})`;
}

/** Outgoing calls point away from Sputnik, incoming ones towards it. */
export function directionArrow(direction: Direction): string {
  return direction === 'out' ? '→' : '←';
}

export function directionTitle(direction: Direction): string {
  return direction === 'out' ? 'исходящий: Спутник вызывает внешний сервис' : 'входящий: запрос к Спутнику';
}

export function formatAge(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} с`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} мин ${s % 60} с`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} ч ${m % 60} мин`;
  return `${Math.floor(h / 24)} д ${h % 24} ч`;
}

const timeFormat = new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat('ru-RU', {
  day: '2-digit',
  month: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Today's entries show only the time; older ones also need the date to be unambiguous. */
export function formatTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const sameDay = at.toDateString() === now.toDateString();
  return (sameDay ? timeFormat : dateTimeFormat).format(at);
}

const msFormat = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1 });

export function formatDuration(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? '—' : msFormat.format(ms);
}

/** The journal's `error` is free-form (string or `{code, message}`); show its human part. */
export function errorText(error: unknown): string {
  if (error === null || error === undefined) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return JSON.stringify(error);
}

/** The four connector states as the overview shows them (the reason is printed beside). */
const SHORT_STATE_LABELS: Readonly<Record<ConnectorState, string>> = {
  disabled: 'выключен',
  ok: 'работает',
  failing: 'нет связи',
  paused: 'приостановлен',
};

export function connectorStateLabel(state: string): string {
  return (SHORT_STATE_LABELS as Record<string, string>)[state] ?? `неизвестно (${state})`;
}

/**
 * Admin API times are the shop's local time `YYYY-MM-DDTHH:MM:SS` (no zone: JS reads that as
 * local time) or ISO with a zone; both become a Date.
 */
export function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `ДД.ММ.ГГГГ ЧЧ:ММ` in local time; '—' for nothing. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const at = parseTime(value);
  if (!at) return value;
  return `${pad(at.getDate())}.${pad(at.getMonth() + 1)}.${at.getFullYear()} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** `ДД.ММ.ГГГГ` for date-only values (birthday, expiry). */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : value;
}

const moneyFormat = new Intl.NumberFormat('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `1 234,50 ₽` */
export function formatMoney(amount: number | string | null | undefined): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const n = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  return `${moneyFormat.format(n)}\u00a0₽`;
}

/** Bonus points: `1 250,50`, as money without the currency. */
export function formatPoints(points: number | string | null | undefined): string {
  return formatMoney(points).replace('\u00a0₽', '');
}

const countFormat = new Intl.NumberFormat('ru-RU');
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : countFormat.format(n);
}

export const CARD_STATES: ReadonlyArray<[string, string]> = [
  ['queued', 'ждёт отправки'],
  ['synced', 'отправлена'],
  ['failed', 'ошибка'],
];

export const INVOICE_STATES: ReadonlyArray<[string, string]> = [
  ['queued', 'в очереди'],
  ['created', 'создан'],
  ['sent', 'отправлен'],
  ['paid', 'оплачен'],
  ['expired', 'просрочен'],
  ['revoked', 'отозван'],
  ['failed', 'ошибка'],
];

/** «1 счёт», «2 счёта», «5 счетов», «1 021 счёт». */
export function invoiceCount(n: number): string {
  const [ten, one] = [n % 100, n % 10];
  const word = ten >= 11 && ten <= 14 ? 'счетов' : one === 1 ? 'счёт' : one >= 2 && one <= 4 ? 'счёта' : 'счетов';
  return `${formatCount(n)} ${word}`;
}

const label = (list: ReadonlyArray<[string, string]>, key: string) => list.find(([k]) => k === key)?.[1] ?? key;
export const cardStateLabel = (state: string) => label(CARD_STATES, state);
export const invoiceStateLabel = (state: string) => label(INVOICE_STATES, state);

/** Docpart's `paid`: 0 not paid, 1 paid in full, 2 paid in part (reference docpart.md §4.1, `shop_orders.paid`). */
export function docpartPaidLabel(paid: number): string {
  return paid === 1 ? 'оплачен' : paid === 2 ? 'частично оплачен' : 'не оплачен';
}

/**
 * Docpart order statuses. The API gives the id only (names live in the shop's own settings,
 * `shop_orders_statuses_ref`); these are the names the sandbox's Docpart uses
 * (main/sandbox/docpart/seed.ts), and an id outside them is shown as «статус N».
 */
export const DOCPART_ORDER_STATUSES: Readonly<Record<number, string>> = {
  1: 'новый',
  2: 'подтверждён',
  3: 'в работе',
  4: 'готов к выдаче',
  5: 'выдан',
  6: 'отменён',
};

export function docpartStatusLabel(status: number | string | null | undefined): string {
  if (status === null || status === undefined || status === '') return '—';
  return DOCPART_ORDER_STATUSES[Number(status)] ?? `статус ${status}`;
}

/** Registration fields a Docpart shop commonly asks for (their keys are the shop's own): Russian labels. */
export const DOCPART_USER_FIELDS: Readonly<Record<string, string>> = {
  surname: 'Фамилия',
  name: 'Имя',
  patronymic: 'Отчество',
  cellphone: 'Мобильный телефон',
  phone: 'Телефон',
  email: 'Эл. почта',
  city: 'Город',
  address: 'Адрес',
  company: 'Организация',
  inn: 'ИНН',
  kpp: 'КПП',
  birthday: 'Дата рождения',
};

/** A registration field's label; a key the shop made up is shown as such, marked as a field name. */
export function docpartUserFieldLabel(key: string): string {
  return DOCPART_USER_FIELDS[key] ?? `Поле «${key}»`;
}

/** A buyer's registration fields as label/value rows: the known ones in their usual order, then the shop's own; empty ones left out. */
export function docpartUserFields(fields: Record<string, unknown>): Array<[string, string]> {
  const known = Object.keys(DOCPART_USER_FIELDS);
  const keys = Object.keys(fields).sort((a, b) => (known.indexOf(a) + 1 || known.length + 1) - (known.indexOf(b) + 1 || known.length + 1));
  return keys.flatMap((k): Array<[string, string]> => {
    const v = fields[k];
    return v === null || v === undefined || String(v).trim() === '' ? [] : [[docpartUserFieldLabel(k), String(v)]];
  });
}

export function yesNo(value: boolean | null | undefined): string {
  return value === true ? 'да' : value === false ? 'нет' : '—';
}

/** `YYYY-MM-DD` of a local date (for <input type="date"> and the API's from/to). */
export function isoDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** First and last day of the current month. */
export function currentMonth(now: Date = new Date()): { from: string; to: string } {
  return { from: isoDay(new Date(now.getFullYear(), now.getMonth(), 1)), to: isoDay(new Date(now.getFullYear(), now.getMonth() + 1, 0)) };
}

/**
 * A journal exchange is failed as the server judged it (by what the answer means: a refusal in a
 * 200 answer too); without that judgement, when nothing answered, 4xx/5xx, or it carries an error.
 */
export function isFailedEntry(e: { status: number | null; error: unknown; failed?: boolean }): boolean {
  if (e.failed !== undefined) return e.failed;
  return e.status === null || e.status >= 400 || (e.error !== null && e.error !== undefined && e.error !== '');
}

const DOCPART_TASKS: Readonly<Record<string, string>> = {
  check_connection: 'проверка связи',
  get_orders: 'заказы',
  get_orders_items: 'строки заказов',
  get_user_info: 'покупатели',
  get_payments: 'платежи',
  get_article_info: 'сведения об артикуле',
};

/** What one exchange of an event asked for, when its address alone does not say (Docpart's one entry point). */
export function exchangeWhat(entity: string | null | undefined): string | null {
  if (!entity?.startsWith('docpart:')) return null;
  const task = entity.slice('docpart:'.length);
  return DOCPART_TASKS[task] ?? task;
}

/** «обмен», «обмена», «обменов» after a number. */
export function exchangesWord(n: number): string {
  const d = n % 10;
  const dd = n % 100;
  if (d === 1 && dd !== 11) return 'обмен';
  if (d >= 2 && d <= 4 && (dd < 12 || dd > 14)) return 'обмена';
  return 'обменов';
}

/** Under a search that left rows the indexing has not reached yet (the page searches again by itself). */
export function unsearchedNote(n: number): string {
  const word = n % 10 === 1 && n % 100 !== 11 ? 'записи' : 'записей';
  return `Поиск пока не охватил около ${formatCount(n)} ${word} журнала: Спутник ещё готовит их к поиску. Список дополнится сам.`;
}

const OUTCOME_LABELS: Readonly<Record<string, string>> = { ok: 'успешно', failed: 'ошибка', running: 'идёт…', interrupted: 'прервано' };

/** A journal event's outcome as the «Итог» column shows it. */
export function outcomeLabel(outcome: string): string {
  return OUTCOME_LABELS[outcome] ?? outcome;
}
