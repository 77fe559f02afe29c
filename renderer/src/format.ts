import type { ConnectorState, Direction } from './types.ts';

/** Russian wording for everything the operator reads; pure so it is unit-tested. */

export const CONNECTOR_NAMES: Readonly<Record<string, string>> = {
  passteam: 'Passteam',
  paykeeper: 'PayKeeper',
  docpart: 'Docpart',
};

export const SYSTEM_NAMES: Readonly<Record<string, string>> = {
  '1c': '1С',
  admin: 'Интерфейс',
  ...CONNECTOR_NAMES,
};

const STATE_LABELS: Readonly<Record<ConnectorState, string>> = {
  disabled: 'выключен',
  ok: 'работает',
  failing: 'нет связи',
  paused: 'приостановлен: проверьте настройки',
};

export function connectorName(key: string): string {
  return CONNECTOR_NAMES[key] ?? key;
}

export function systemName(key: string): string {
  return SYSTEM_NAMES[key] ?? key;
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
