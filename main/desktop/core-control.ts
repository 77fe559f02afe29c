import { healthViewSchema, sendingState, type HealthView } from './status.ts';
import { errorMessage, prop } from '../unknown.ts';

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
    for (const name of running) last = await this.#healthFrom('POST', `/api/connectors/${name}/pause`, 'приостановить отправку');
    return last;
  }

  /** «Возобновить»: every paused sender. */
  async resumeSending(): Promise<HealthView | null> {
    const { paused } = sendingState(this.#deps.health());
    let last: HealthView | null = null;
    for (const name of paused) last = await this.#healthFrom('POST', `/api/connectors/${name}/resume`, 'возобновить отправку');
    return last;
  }

  /** «Синхронизировать Docpart»: starts a pull now (joins a running one). */
  async syncDocpart(): Promise<void> {
    await this.#request('POST', '/api/docpart/sync', 'запустить синхронизацию Docpart');
  }

  /** The core's health for the tray (`GET /api/health`): the shell reads it over HTTP, never in-process. */
  async health(timeoutMs = 4000): Promise<HealthView> {
    return this.#healthFrom('GET', '/api/health', 'узнать состояние Спутника', timeoutMs);
  }

  /** A call the admin API answers with the core's health (GET /api/health, pause, resume). */
  async #healthFrom(method: 'GET' | 'POST', path: string, what: string, timeoutMs?: number): Promise<HealthView> {
    const parsed = healthViewSchema.safeParse(await this.#request(method, path, what, timeoutMs));
    if (!parsed.success) throw new CoreControlError(`Не удалось ${what}: служба Спутника ответила не тем, что ожидалось`);
    return parsed.data;
  }

  async #request(method: 'GET' | 'POST', path: string, what: string, timeoutMs = this.#deps.timeoutMs ?? 10_000): Promise<unknown> {
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
      throw new CoreControlError(`Не удалось ${what}: служба Спутника не отвечает (${errorMessage(error)})`, { cause: error });
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const message = prop(prop(body, 'error'), 'message');
      throw new CoreControlError(`Не удалось ${what}: ${typeof message === 'string' ? message : `ошибка ${res.status}`}`);
    }
    return body;
  }
}
