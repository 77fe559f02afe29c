import type { Connection } from '../../preload/bridge.ts';
import type { Health, JournalPage } from './types.ts';

/**
 * The admin API client. In the desktop app preload hands over the admin origin and a per-run
 * token (Bearer); in a browser (service mode) the page is same-origin and the session cookie
 * set by `/?token=` authenticates.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
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
    throw new ApiError(0, 'network', 'Спутник не отвечает: служба остановлена или недоступна');
  }
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
  const error = (data as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  if (status === 401) {
    return new ApiError(status, code, 'Нет доступа: откройте Спутник по ссылке со входом, которую служба напечатала при запуске');
  }
  const message = typeof error?.message === 'string' ? error.message : `Ошибка ${status}`;
  return new ApiError(status, code, message);
}

export interface JournalQuery {
  q?: string;
  limit?: number;
  before?: string | null;
}

export function journalPath(query: JournalQuery): string {
  const params = new URLSearchParams();
  const q = query.q?.trim();
  if (q) params.set('q', q);
  params.set('limit', String(query.limit ?? 50));
  if (query.before) params.set('before', query.before);
  return `/api/journal?${params.toString()}`;
}

export const api = {
  health: (signal?: AbortSignal) => request<Health>('/api/health', { signal }),
  journal: (query: JournalQuery, signal?: AbortSignal) => request<JournalPage>(journalPath(query), { signal }),
};
