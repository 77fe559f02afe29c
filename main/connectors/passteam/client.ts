import type { Config } from '../../config/schema.ts';
import { DeliveryError } from '../../errors.ts';
import type { HttpClient, OutboundResponse } from '../../http/client.ts';
import { isRecord, prop } from '../../unknown.ts';

/**
 * The Passteam protocol (reference/passteam.md): `POST {base}/oapi/v1/<method>`, form bodies with
 * `values[%VAR%]` keys, a bare token in `Authorization`, and success decided by `code` in the body
 * (the HTTP status may or may not mirror it). `%` in answers is data: never stripped.
 */

export type Vars = Record<string, string>;

export interface RemoteCard {
  cardId: string;
  cardUrl: string | null;
  installed: boolean | null;
}

const UNIQUE_MISSING = /Provided field \(([^)]+)\) is unique and must be set/i;

/** Passteam's methods as staff name them. */
const METHOD_NAMES: Readonly<Record<string, string>> = {
  createcard: 'создание карты',
  updatecard: 'изменение карты',
  getcardswithpagination: 'поиск карты',
};
const methodName = (method: string) => METHOD_NAMES[method] ?? method;

export class PassteamClient {
  readonly #http: HttpClient;
  readonly #config: () => Config['passteam'];

  constructor(http: HttpClient, config: () => Config['passteam']) {
    this.#http = http;
    this.#config = config;
  }

  async createCard(vars: Vars, ctx: CallContext = {}): Promise<RemoteCard> {
    const cfg = this.#config();
    const result = await this.#call('createcard', { templateId: cfg.templateId ?? '', ...varFields(vars) }, ctx);
    return remoteCard(result, null);
  }

  async updateCard(cardId: string, vars: Vars, ctx: CallContext = {}): Promise<RemoteCard> {
    const result = await this.#call('updatecard', { cardId, ...varFields(vars) }, ctx);
    return remoteCard(result, cardId);
  }

  /**
   * Cards of the template whose variables equal `filter` (ASSUMED method `getcardswithpagination`:
   * its real parameters are not documented publicly). Null when the server does not know the method.
   */
  async findCards(filter: Vars, ctx: CallContext = {}): Promise<RemoteCard[] | null> {
    const cfg = this.#config();
    try {
      const result = await this.#call('getcardswithpagination', { templateId: cfg.templateId ?? '', page: '1', ...varFields(filter) }, ctx);
      const cards = prop(result, 'cards');
      return Array.isArray(cards) ? cards.map((c) => remoteCard(c, null)) : [];
    } catch (e) {
      if (e instanceof DeliveryError && e.code === 'passteam_method_unknown') return null;
      throw e;
    }
  }

  async #call(method: string, fields: Record<string, string>, ctx: CallContext): Promise<unknown> {
    const cfg = this.#config();
    // The answer is judged where it is journaled: a refusal in a 200 answer is a failed exchange.
    return this.#http.call({
      system: 'passteam',
      method: 'POST',
      url: `${cfg.baseUrl.replace(/\/+$/, '')}/oapi/v1/${method}`,
      headers: { Authorization: cfg.token ?? '', 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', Accept: 'application/json' },
      // URLSearchParams percent-encodes `[`, `]`, `%`, `+`, `&`, `=` and Cyrillic in keys and values alike.
      body: new URLSearchParams(fields).toString(),
      entity: ctx.entity,
      jobId: ctx.jobId,
      signal: ctx.signal,
    }, (res) => resultOf(res, method));
  }
}

export interface CallContext {
  entity?: string;
  jobId?: number;
  signal?: AbortSignal;
}

function varFields(vars: Vars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) out[`values[%${name}%]`] = value;
  return out;
}

/** A card in an answer: its fields at the top or under `card`; anything else in the answer reads as absent. */
function remoteCard(result: unknown, knownId: string | null): RemoteCard {
  const card = prop(result, 'card');
  const id = prop(result, 'cardId') ?? prop(card, 'cardId') ?? knownId;
  if (id === undefined || id === null || id === '') throw new DeliveryError('retry', 'passteam_bad_answer', 'Passteam ответил без cardId', { status: 502 });
  const url = prop(result, 'cardUrl') ?? prop(card, 'cardUrl');
  const installed = prop(card, 'installed') ?? prop(result, 'installed');
  return { cardId: String(id), cardUrl: typeof url === 'string' ? url : null, installed: typeof installed === 'boolean' ? installed : null };
}

/** The envelope's `code` decides, whatever the HTTP status; a non-JSON answer is the network's fault. */
export function resultOf(res: OutboundResponse, method: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  // The envelope is an object with a `code` (an array or a bare value is not one).
  if (!isRecord(body) || body.code === undefined) {
    if (res.status === 401 || res.status === 403) throw authRefused();
    throw new DeliveryError('retry', 'passteam_unavailable', `Passteam временно недоступен: вместо ответа пришла страница ошибки (HTTP ${res.status}). Спутник повторит сам`, { status: 502 });
  }
  const code = Number(body.code);
  const message = typeof body.message === 'string' ? body.message : '';
  if (code === 200 && body.error !== true) return body.result;
  if (code === 409) {
    throw new DeliveryError('refused', 'phone_taken', 'Этот номер телефона уже привязан к другой карте в Passteam: проверьте телефон владельца карты', { status: 409 });
  }
  const unique = UNIQUE_MISSING.exec(message);
  if (unique) {
    throw new DeliveryError('refused', 'phone_required', 'Passteam не создаёт карту без мобильного телефона владельца: укажите телефон в карточке карты в 1С и запишите её ещё раз', {
      status: 422,
      field: 'holder.phone',
    });
  }
  if (code === 401 || code === 403) throw authRefused();
  if (code === 404 && /method/i.test(message)) {
    throw new DeliveryError('refused', 'passteam_method_unknown', `Passteam не знает такой операции (${methodName(method)}): проверьте адрес Passteam в настройках Спутника`, { status: 422 });
  }
  if (code === 429 || code >= 500) {
    throw new DeliveryError('retry', `passteam_${code}`, `Passteam временно не принимает запросы (код ${code}). Спутник повторит сам`, { status: 502 });
  }
  throw new DeliveryError(
    'refused',
    `passteam_${code}`,
    `Passteam отказал (${methodName(method)}, код ${code}${message ? `: «${message}»` : ''}). Проверьте данные карты в 1С и номер шаблона в «Настройках» Спутника`,
    { status: 422 },
  );
}

function authRefused(): DeliveryError {
  return new DeliveryError('auth', 'passteam_auth', 'Passteam не принял токен: впишите верный токен Passteam в «Настройках» Спутника. Отправка карт приостановлена до этого', {
    status: 502,
  });
}
