/**
 * How the journal's events read to shop staff: which card, invoice or pull a row is about, and
 * what came of it, in Russian. Pure, so every phrase is unit-tested.
 */

import { MODULES } from '../connectors/index.ts';
import type { ModuleDescriptor, ModuleWording } from '../core/module.ts';
import { prop } from '../unknown.ts';

/** The core's own systems; each registered module adds its name and title (main/connectors/index.ts). */
const CORE_SYSTEMS: ReadonlyArray<readonly [string, string]> = [
  ['1c', '1С'],
  ['admin', 'Интерфейс'],
];

/** The core's own 1C path: the health. */
const CORE_PATHS = [{ match: /^\/v1\/health$/, noun: 'Проверка связи' }];

const modules: readonly ModuleDescriptor[] = MODULES;
const SYSTEMS = new Map<string, string>([...CORE_SYSTEMS, ...modules.map((m) => [m.name, m.title] as const)]);
/** Modules whose systems have parts (`regate:shop`), and where those parts' outgoing calls go. */
const SUBSYSTEMS = new Map(modules.flatMap((m) => (m.journal?.subsystems ? [[m.name, m.journal.subsystems.calls] as const] : [])));
const SUBJECTS = new Map(modules.flatMap((m) => Object.entries(m.journal?.subjects ?? {})));
/** Entity kinds whose delivery jobs are keyed by the entity and whose failures «Повторить» can retry (`card`, `invoice`). */
export const RETRY_KINDS: readonly string[] = [...SUBJECTS].flatMap(([kind, s]) => (s.retry && /^[a-z][a-z0-9_]*$/.test(kind) ? [kind] : []));
const PATHS: NonNullable<ModuleWording['paths']> = [...modules.flatMap((m) => m.journal?.paths ?? []), ...CORE_PATHS];
const JOB_TITLES = new Map(modules.flatMap((m) => (m.journal?.jobTitle ? [[m.name, m.journal.jobTitle] as const] : [])));

/** `regate:shop` → `['regate', 'shop']` when `regate` has parts; null otherwise. */
function splitSystem(system: string): readonly [string, string] | null {
  const colon = system.indexOf(':');
  if (colon < 0) return null;
  const owner = system.slice(0, colon);
  return SUBSYSTEMS.has(owner) ? [owner, system.slice(colon + 1)] : null;
}

/** `regate:shop` (a ReGate base's calls to its 1C) files under ReGate. */
export function systemKey(system: string): string {
  return splitSystem(system)?.[0] ?? system;
}

/** `passteam` → «Passteam», `regate:shop` → «ReGate (shop)». */
export function systemTitle(system: string): string {
  const parts = splitSystem(system);
  if (parts) return `${SYSTEMS.get(parts[0]) ?? parts[0]} (${parts[1]})`;
  return SYSTEMS.get(system) ?? system;
}

/** What an entity key names: `card:0000103` → «Карта 0000103». */
export function subjectOf(entity: string | null | undefined): string | null {
  if (!entity) return null;
  const colon = entity.indexOf(':');
  const kind = colon < 0 ? entity : entity.slice(0, colon);
  const id = colon < 0 ? '' : entity.slice(colon + 1);
  return SUBJECTS.get(kind)?.title(id) ?? entity;
}

/** The entity a 1C call is about, read from its address (`/v1/cards/0000103` → `card:0000103`). */
export function inboundEntity(url: string): string | null {
  const path = readablePath(url);
  for (const p of PATHS) {
    if (!p.entity) continue;
    const m = p.match.exec(path);
    if (m) return p.entity(m);
  }
  return null;
}

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
    const noun = subjectOf(entity) ?? PATHS.find((p) => p.noun && p.match.test(path))?.noun;
    return noun ? `${noun} ← ${system}` : `${system}: ${e.method} ${path}`;
  }
  const parts = splitSystem(e.system);
  if (parts) return `${system} → ${SUBSYSTEMS.get(parts[0])}: ${e.method} ${readablePath(e.url)}`;
  const noun = subjectOf(e.entity);
  return noun ? `${noun} → ${system}` : `${system}: ${e.method} ${readablePath(e.url)}`;
}

/** A delivery run's title: «Карта 0000103 → Passteam»; a ReGate write: «ReGate (shop) → 1С: отложенная запись». */
export function jobTitle(connector: string, key: string): string {
  const own = JOB_TITLES.get(connector);
  if (own) return own(key, systemTitle);
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

/** A run Sputnik's own stop cut short (a delivery, a Docpart pull): no failure, its job goes again after the start. */
export function interruptedSummary(entity: string | null | undefined): string {
  const what = entity?.startsWith('docpart:') ? 'загрузка' : 'отправка';
  return `прервано остановкой Спутника: после запуска ${what} пройдёт заново`;
}

/** A successful delivery of an entity: «отправлена», «передан». */
export function deliveredSummary(entity: string | null | undefined): string {
  const kind = entity?.split(':')[0];
  return (kind !== undefined ? SUBJECTS.get(kind)?.delivered : undefined) ?? 'выполнено';
}

/** The human part of an error answer: `{"error": {"message"}}` (Sputnik) or `{"detail"}` (ReGate's problem+json). */
function answerMessage(body: string | null): string | null {
  if (!body || body[0] !== '{') return null;
  try {
    const v: unknown = JSON.parse(body);
    const message = prop(prop(v, 'error'), 'message');
    if (typeof message === 'string') return message;
    const detail = prop(v, 'detail');
    if (typeof detail === 'string') return detail;
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
