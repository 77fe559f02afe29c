import { sendingState, type HealthView } from './status.ts';

/**
 * The tray's health and actions, through the same admin API the window uses
 * (docs/admin-api.md): the core runs in its own process (core-process.ts), the shell needs no
 * hooks into it, and the core keeps one implementation of pause/resume/sync. `fetch` is
 * injected; tests pass a fake.
 */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export interface CoreControlDeps {
  fetch: FetchLike;
  /** The admin API origin, e.g. http://127.0.0.1:37081 (or `connection`). */
  baseUrl?: string;
  token?: string;
  /**
   * Where the admin API is now: the core's process may have been restarted (new login token),
   * and null while it is not serving.
   */
  connection?(): { baseUrl: string; token: string } | null;
  /** The health the tray shows now: pause/resume act on what the operator sees. */
  health(): HealthView | Error | null;
  timeoutMs?: number;
}

export class CoreControlError extends Error {}

export class CoreControl {
  readonly #deps: CoreControlDeps;

  constructor(deps: CoreControlDeps) {
    this.#deps = deps;
  }

  /** «Приостановить отправку»: every enabled sender that is running. Answers the last health. */
  async pauseSending(): Promise<HealthView | null> {
    const { running } = sendingState(this.#deps.health());
    let last: HealthView | null = null;
    for (const name of running) last = (await this.#post(`/api/connectors/${name}/pause`, 'приостановить отправку')) as HealthView;
    return last;
  }

  /** «Возобновить»: every paused sender. */
  async resumeSending(): Promise<HealthView | null> {
    const { paused } = sendingState(this.#deps.health());
    let last: HealthView | null = null;
    for (const name of paused) last = (await this.#post(`/api/connectors/${name}/resume`, 'возобновить отправку')) as HealthView;
    return last;
  }

  /** «Синхронизировать Docpart»: starts a pull now (joins a running one). */
  async syncDocpart(): Promise<void> {
    await this.#post('/api/docpart/sync', 'запустить синхронизацию Docpart');
  }

  /** The core's health for the tray (`GET /api/health`): the shell reads it over HTTP, never in-process. */
  async health(timeoutMs = 4000): Promise<HealthView> {
    return (await this.#request('GET', '/api/health', 'узнать состояние Спутника', timeoutMs)) as HealthView;
  }

  #post(path: string, what: string): Promise<unknown> {
    return this.#request('POST', path, what, this.#deps.timeoutMs ?? 10_000);
  }

  async #request(method: 'GET' | 'POST', path: string, what: string, timeoutMs: number): Promise<unknown> {
    const { fetch } = this.#deps;
    const at = this.#deps.connection ? this.#deps.connection() : { baseUrl: this.#deps.baseUrl ?? '', token: this.#deps.token ?? '' };
    if (!at) throw new CoreControlError(`Не удалось ${what}: служба Спутника не запущена`);
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await fetch(new URL(path, at.baseUrl).toString(), {
        method,
        headers:
          method === 'POST'
            ? { authorization: `Bearer ${at.token}`, 'x-sputnik-ui': '1', 'content-type': 'application/json' }
            : { authorization: `Bearer ${at.token}` },
        ...(method === 'POST' ? { body: '{}' } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new CoreControlError(`Не удалось ${what}: служба Спутника не отвечает (${(error as Error).message})`, { cause: error });
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
      throw new CoreControlError(`Не удалось ${what}: ${typeof message === 'string' ? message : `ошибка ${res.status}`}`);
    }
    return body;
  }
}
