/**
 * How the journal's events read to shop staff: which card, invoice or pull a row is about, and
 * what came of it, in Russian. Pure, so every phrase is unit-tested.
 */

const SYSTEMS: Readonly<Record<string, string>> = {
  '1c': '1С',
  admin: 'Интерфейс',
  passteam: 'Passteam',
  paykeeper: 'PayKeeper',
  docpart: 'Docpart',
  regate: 'ReGate',
};

/** `regate:shop` (a ReGate base's calls to its 1C) files under ReGate. */
export function systemKey(system: string): string {
  return system.startsWith('regate:') ? 'regate' : system;
}

/** `passteam` → «Passteam», `regate:shop` → «ReGate (shop)». */
export function systemTitle(system: string): string {
  if (system.startsWith('regate:')) return `ReGate (${system.slice('regate:'.length)})`;
  return SYSTEMS[system] ?? system;
}

const DOCPART_TASKS: Readonly<Record<string, string>> = {
  check_connection: 'проверка связи',
  get_orders: 'заказы',
  get_orders_items: 'строки заказов',
  get_user_info: 'покупатели',
  get_payments: 'платежи',
  get_article_info: 'сведения об артикуле',
};

/** What an entity key names: `card:0000103` → «Карта 0000103». */
export function subjectOf(entity: string | null | undefined): string | null {
  if (!entity) return null;
  const colon = entity.indexOf(':');
  const kind = colon < 0 ? entity : entity.slice(0, colon);
  const id = colon < 0 ? '' : entity.slice(colon + 1);
  switch (kind) {
    case 'card':
      return `Карта ${id}`;
    case 'bonus':
      return `Бонусы карты ${id}`;
    case 'invoice':
      return `Счёт по заказу ${id}`;
    case 'docpart':
      return id === 'pull' ? 'Загрузка заказов Docpart' : `Docpart: ${DOCPART_TASKS[id] ?? id}`;
    case 'regate':
      return `Запрос ${id}`;
  }
  return entity;
}

/** The entity a 1C call is about, read from its address (`/v1/cards/0000103` → `card:0000103`). */
export function inboundEntity(url: string): string | null {
  const path = readablePath(url);
  let m = /^\/v1\/cards\/([^/]+)\/bonus$/.exec(path);
  if (m) return `bonus:${m[1]}`;
  m = /^\/v1\/cards\/([^/]+)$/.exec(path);
  if (m) return `card:${m[1]}`;
  m = /^\/v1\/invoices\/([^/]+)$/.exec(path);
  if (m && m[1] !== 'export') return `invoice:${m[1]}`;
  return null;
}

const INBOUND_NOUNS: ReadonlyArray<[RegExp, string]> = [
  [/^\/v1\/cards$/, 'Карты'],
  [/^\/v1\/invoices$/, 'Счета'],
  [/^\/v1\/invoices\/export$/, 'Выгрузка счетов'],
  [/^\/v1\/docpart\/orders$/, 'Заказы Docpart'],
  [/^\/v1\/docpart\/payments$/, 'Платежи Docpart'],
  [/^\/v1\/docpart\/articles\//, 'Артикул Docpart'],
  [/^\/v1\/docpart\/sync$/, 'Загрузка заказов Docpart'],
  [/^\/v1\/health$/, 'Проверка связи'],
];

/** The path of a URL (absolute or not) with percent-escapes decoded: what 1C's own screens show. */
export function readablePath(url: string): string {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  const abs = /^[a-z]+:\/\/[^/]+/i.exec(path);
  if (abs) path = path.slice(abs[0].length) || '/';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

export interface Verdict {
  /** Short, after the title: «принята», «отказ», «нет связи». */
  summary: string;
  /** A sentence with what to do, for a failure; null when all went well. */
  error: string | null;
}

export interface ExchangeFacts {
  direction: 'in' | 'out';
  system: string;
  method: string;
  url: string;
  status: number | null;
  entity: string | null;
  failed: boolean;
  error: string | null;
  responseBody: string | null;
}

/** The title of an exchange that is its own event: «Карта 0000103 ← 1С», «Счёт по заказу 7 → PayKeeper». */
export function exchangeTitle(e: Pick<ExchangeFacts, 'direction' | 'system' | 'method' | 'url' | 'entity'>): string {
  const system = systemTitle(e.system);
  if (e.direction === 'in') {
    const entity = e.entity ?? inboundEntity(e.url);
    const path = readablePath(e.url);
    const noun = subjectOf(entity) ?? INBOUND_NOUNS.find(([re]) => re.test(path))?.[1];
    return noun ? `${noun} ← ${system}` : `${system}: ${e.method} ${path}`;
  }
  if (e.system.startsWith('regate:')) return `${system} → 1С: ${e.method} ${readablePath(e.url)}`;
  const noun = subjectOf(e.entity);
  return noun ? `${noun} → ${system}` : `${system}: ${e.method} ${readablePath(e.url)}`;
}

/** A delivery run's title: «Карта 0000103 → Passteam»; a ReGate write: «ReGate (shop) → 1С: отложенная запись». */
export function jobTitle(connector: string, key: string): string {
  if (connector === 'regate') {
    const tenant = key.split(':')[1];
    return `${systemTitle(tenant ? `regate:${tenant}` : 'regate')} → 1С: отложенная запись`;
  }
  return `${subjectOf(key) ?? key} → ${systemTitle(connector)}`;
}

/** What came of an exchange that is its own event. */
export function exchangeVerdict(e: ExchangeFacts): Verdict {
  if (!e.failed) {
    if (e.direction === 'out') return { summary: 'ответ получен', error: null };
    return { summary: e.method === 'GET' || e.method === 'HEAD' ? 'ответ отдан' : 'принято', error: null };
  }
  if (e.status === null) return { summary: e.direction === 'in' ? 'ответ не отдан' : 'нет связи', error: e.error ?? 'Ответа нет: связь оборвалась' };
  if (e.direction === 'in') {
    if (e.status >= 500) return { summary: 'ошибка Спутника', error: e.error ?? answerMessage(e.responseBody) ?? `Спутник не смог ответить (HTTP ${e.status}): подробности — в логе Спутника` };
    // What Sputnik told the caller is the reason, in its own words.
    return { summary: 'отклонено', error: e.error ?? answerMessage(e.responseBody) ?? `Спутник отклонил запрос (HTTP ${e.status})` };
  }
  return { summary: 'ошибка', error: e.error ?? `${systemTitle(e.system)} ответил ошибкой (HTTP ${e.status})` };
}

/**
 * What a failed delivery means, by how it failed (DeliveryError's outcome): a refusal of the data,
 * a passing loss of contact the outbox retries by itself, credentials refused, or a fault of Sputnik.
 */
export function failureSummary(outcome: 'refused' | 'retry' | 'auth' | 'internal'): string {
  switch (outcome) {
    case 'refused':
      return 'отказ';
    case 'retry':
      return 'не прошло'; // the sentence says that Sputnik tries again
    case 'auth':
      return 'доступ не принят, отправка приостановлена';
    case 'internal':
      return 'ошибка Спутника';
  }
}

/** A successful delivery of an entity: «отправлена», «передан». */
export function deliveredSummary(entity: string | null | undefined): string {
  const kind = entity?.split(':')[0];
  if (kind === 'card') return 'отправлена';
  if (kind === 'bonus') return 'отправлены';
  if (kind === 'invoice') return 'передан';
  return 'выполнено';
}

/** The human part of an error answer: `{"error": {"message"}}` (Sputnik) or `{"detail"}` (ReGate's problem+json). */
function answerMessage(body: string | null): string | null {
  if (!body || body[0] !== '{') return null;
  try {
    const v = JSON.parse(body) as { error?: { message?: unknown }; detail?: unknown };
    if (typeof v.error?.message === 'string') return v.error.message;
    if (typeof v.detail === 'string') return v.detail;
  } catch {
    /* not JSON: nothing to quote */
  }
  return null;
}

/**
 * A form body (`a=1&values%5B%25NAME%25%5D=%D0%98…`) as its fields, decoded: what the operator reads
 * instead of percent-escapes. Null when the text is not a form.
 */
export function formFields(body: string | null | undefined): Array<{ name: string; value: string }> | null {
  if (!body || body.length > 65_536 || /[\s{}"<]/.test(body) || !/^[^=&]+=/.test(body)) return null;
  const out: Array<{ name: string; value: string }> = [];
  for (const part of body.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeForm(eq < 0 ? part : part.slice(0, eq));
    const value = decodeForm(eq < 0 ? '' : part.slice(eq + 1));
    if (name === null || value === null) return null;
    out.push({ name, value });
  }
  return out.length ? out : null;
}

function decodeForm(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
