import type { Connection } from '../../preload/bridge.ts';
import { reportDenied, reportReachable } from './live.ts';
import type {
  Card,
  CardFull,
  DocpartOrder,
  DocpartOrderFull,
  DocpartSyncView,
  AttentionList,
  Health,
  Invoice,
  InvoiceTotals,
  JournalEntryFull,
  JournalEventFull,
  JournalPage,
  ListenerInfo,
  Meta,
  SettingsView,
  TestResult,
} from './types.ts';

/**
 * The admin API client. In the desktop app preload hands over the admin origin and a per-run
 * token (Bearer); in a browser (service mode) the page is same-origin and the session cookie
 * set by `/?token=` authenticates.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The settings field a 422 is about (`paykeeper.baseUrl`). */
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

function desktopConnection(): Connection | null {
  return typeof window !== 'undefined' && window.sputnik ? window.sputnik.connection() : null;
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const connection = desktopConnection();
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (connection) headers.Authorization = `Bearer ${connection.token}`;
  // The admin API rejects mutations without this header: a cross-site form cannot set it.
  if (method !== 'GET') headers['X-Sputnik-UI'] = '1';
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(connection ? new URL(path, connection.baseUrl).toString() : path, {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: connection ? 'omit' : 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    reportReachable(false);
    throw new ApiError(0, 'network', 'Спутник не отвечает: служба остановлена или недоступна');
  }
  if (response.status === 401) reportDenied();
  else reportReachable(true);
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    // A non-JSON body (proxy page, crash) is reported by status below.
  }
  if (!response.ok) throw toApiError(response.status, data);
  return data as T;
}

function toApiError(status: number, data: unknown): ApiError {
  const error = (data as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  if (status === 404 && code === `http_404`) {
    return new ApiError(status, code, 'Эта часть Спутника ещё недоступна: обновите службу');
  }
  if (status === 401) {
    return new ApiError(status, code, 'Нет доступа: откройте Спутник по ссылке со входом, которую служба напечатала при запуске');
  }
  const message = typeof error?.message === 'string' ? error.message : `Ошибка ${status}`;
  return new ApiError(status, code, message, typeof error?.field === 'string' ? error.field : undefined);
}

type Params = Record<string, string | number | boolean | null | undefined>;

/** `path?a=1&b=2`, skipping empty values (except those named in `keepEmpty`). */
export function withQuery(path: string, params: Params, keepEmpty: readonly string[] = []): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || (v === '' && !keepEmpty.includes(k)) || v === false) continue;
    search.set(k, v === true ? '1' : String(v));
  }
  const qs = search.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface JournalQuery {
  q?: string;
  system?: string;
  direction?: string;
  failed?: boolean;
  from?: string;
  to?: string;
  limit?: number;
  before?: string | null;
}

function journalParams(query: JournalQuery): Params {
  return {
    q: query.q?.trim(),
    system: query.system,
    direction: query.direction,
    failed: query.failed,
    from: query.from,
    to: query.to,
  };
}

export function journalPath(query: JournalQuery): string {
  return withQuery('/api/journal', { ...journalParams(query), limit: query.limit ?? 50, before: query.before });
}

export function journalExportPath(query: JournalQuery): string {
  return withQuery('/api/journal/export', journalParams(query));
}

/** The accountant's file of what the invoices page lists: the same period, state and search. */
export function invoicesExportPath(filter: { from: string; to: string; state?: string; q?: string }, format: 'xlsx' | 'csv'): string {
  return withQuery('/api/invoices/export', { from: filter.from, to: filter.to, state: filter.state, q: filter.q?.trim(), format });
}

/** Where an admin path lives: same origin in a browser, the preload's origin in the desktop app. */
export function absoluteUrl(path: string): string {
  const connection = desktopConnection();
  return connection ? new URL(path, connection.baseUrl).toString() : path;
}

export function isDesktop(): boolean {
  return desktopConnection() !== null;
}

/**
 * A file download. The browser sends the session cookie with a plain link; the desktop app has
 * only the Bearer token, so there the file is fetched and handed over as a blob.
 */
export async function downloadWithToken(path: string, fallbackName: string): Promise<void> {
  const connection = desktopConnection();
  if (!connection) {
    window.location.assign(path);
    return;
  }
  let response: Response;
  try {
    response = await fetch(absoluteUrl(path), { headers: { Authorization: `Bearer ${connection.token}` }, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'Спутник не отвечает: служба остановлена или недоступна');
  }
  if (!response.ok) {
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      /* not JSON */
    }
    throw toApiError(response.status, data);
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A file fetched by the page itself (cookie in a browser, Bearer in the desktop app), so the page
 * can show how far it got (`onBytes`) and cancel it (`signal`); then saved under the server's name.
 */
export async function downloadFile(path: string, fallbackName: string, opts: { signal?: AbortSignal; onBytes?: (received: number) => void } = {}): Promise<void> {
  const connection = desktopConnection();
  let response: Response;
  try {
    response = await fetch(absoluteUrl(path), {
      headers: connection ? { Authorization: `Bearer ${connection.token}` } : {},
      credentials: connection ? 'omit' : 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Спутник не отвечает: служба остановлена или недоступна');
  }
  if (!response.ok) {
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      /* not JSON */
    }
    throw toApiError(response.status, data);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body?.getReader();
  try {
    for (let r = await reader?.read(); r && !r.done; r = await reader!.read()) {
      chunks.push(r.value);
      received += r.value.byteLength;
      opts.onBytes?.(received);
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Файл не докачался: связь со Спутником прервалась, попробуйте ещё раз');
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallbackName;
  const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: response.headers.get('Content-Type') ?? 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export interface ListQuery {
  q?: string;
  state?: string;
  from?: string;
  to?: string;
  offset?: number;
  limit?: number;
}

const enc = encodeURIComponent;

export const api = {
  health: (signal?: AbortSignal) => request<Health>('/api/health', { signal }),
  meta: (signal?: AbortSignal) => request<Meta>('/api/meta', { signal }),
  listener: (signal?: AbortSignal) => request<ListenerInfo>('/api/listener', { signal }),
  journal: (query: JournalQuery, signal?: AbortSignal) => request<JournalPage>(journalPath(query), { signal }),
  journalEvent: (id: number, signal?: AbortSignal) => request<JournalEventFull>(`/api/journal/${id}`, { signal }),
  journalExchange: (id: number, signal?: AbortSignal) => request<JournalEntryFull>(`/api/journal/exchanges/${id}`, { signal }),
  retry: (entity: string) => request<{ ok: boolean; state?: string }>('/api/retry', { method: 'POST', body: { entity } }),
  pause: (name: string) => request<Health>(`/api/connectors/${enc(name)}/pause`, { method: 'POST' }),
  resume: (name: string) => request<Health>(`/api/connectors/${enc(name)}/resume`, { method: 'POST' }),
  cards: (q: ListQuery, signal?: AbortSignal) =>
    request<{ cards: Card[]; total: number }>(withQuery('/api/cards', { ...q }), { signal }),
  card: (code: string, signal?: AbortSignal) => request<CardFull>(`/api/cards/${enc(code)}`, { signal }),
  invoices: (q: ListQuery, signal?: AbortSignal) =>
    // A cleared «С»/«По» is sent empty: the service says it is not filled in rather than list an open period.
    request<{ invoices: Invoice[]; total: number; totals: InvoiceTotals }>(withQuery('/api/invoices', { ...q }, ['from', 'to']), { signal }),
  invoice: (orderId: string, signal?: AbortSignal) => request<Invoice>(`/api/invoices/${enc(orderId)}`, { signal }),
  docpartOrders: (q: ListQuery, signal?: AbortSignal) =>
    request<{ orders: DocpartOrder[]; total: number }>(withQuery('/api/docpart/orders', { ...q }), { signal }),
  docpartOrder: (id: string, signal?: AbortSignal) => request<DocpartOrderFull>(`/api/docpart/orders/${enc(id)}`, { signal }),
  docpartSync: (signal?: AbortSignal) => request<DocpartSyncView>('/api/docpart/sync', { signal }),
  docpartSyncNow: () => request<DocpartSyncView>('/api/docpart/sync', { method: 'POST' }),
  settings: (signal?: AbortSignal) => request<SettingsView>('/api/settings', { signal }),
  saveSettings: (patch: Record<string, unknown>) => request<SettingsView>('/api/settings', { method: 'PUT', body: patch }),
  attention: (limit?: number, signal?: AbortSignal) => request<AttentionList>(withQuery('/api/attention', { limit }), { signal }),
  dismissAttention: (ref: string) => request<{ ok: boolean }>('/api/attention/dismiss', { method: 'POST', body: { ref } }),
  /** An action «Требует внимания» offers (retry, resume, load now): a POST the server named. */
  act: (path: string, body?: Record<string, string>) => request<unknown>(path, { method: 'POST', body }),
  testConnection: (connector: string, settings: Record<string, unknown>) =>
    request<TestResult>('/api/settings/test', { method: 'POST', body: { connector, settings } }),
};
