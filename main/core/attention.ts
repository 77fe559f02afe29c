import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ListenerApp, ListenerDomain } from '../listener/app.ts';
import { toOnecDateTime } from '../listener/onec-values.ts';
import type { Outbox } from '../store/outbox.ts';
import type { RefusalRow, Refusals } from '../store/refusals.ts';
import type { CoreModule } from './module.ts';
import { connectorModules } from './registry.ts';
import { errorMessage, isRecord, prop } from '../unknown.ts';
import type { AttentionItem, AttentionList, CallSubject, OnecCall } from './attention-shape.ts';

export type { AttentionAction, AttentionItem, AttentionList, CallSubject, OnecCall } from './attention-shape.ts';

/**
 * «Требует внимания»: everything the operator should act on, each with a plain Russian reason and
 * one action that can work. Modules add their own (failed cards, failed invoices); the core adds
 * what it knows without knowing any connector: delivering connectors that are paused or failing,
 * a queue that has waited too long, and 1C calls refused at the door. The shapes: attention-shape.ts.
 */

/** A queue whose oldest job has waited this long is listed (a remote that is up should take it in seconds). */
export const QUEUE_STUCK_MS = 15 * 60_000;

/** The connectors' titles, from their descriptors («Passteam»). */
export const CONNECTOR_TITLES: ReadonlyMap<string, string> = new Map(connectorModules().map((m) => [m.name, m.title]));
const title = (connector: string) => CONNECTOR_TITLES.get(connector) ?? connector;
export const settingsLink = (connector: string) => ({ type: 'open' as const, label: `Открыть настройки ${title(connector)}`, href: `#/settings/${connector}` });

const minutes = (ms: number) => Math.max(1, Math.round(ms / 60_000));

/** A delivering connector (one with outbox workers) that is paused or failing. */
function connectorItem(connector: string, outbox: Outbox): AttentionItem | null {
  const s = outbox.connectorStatus(connector);
  if (s.state === 'ok') return null;
  const since = toOnecDateTime(s.since ?? outbox.now());
  const ref = `connector:${connector}`;
  if (s.state === 'paused' && s.lastError?.code === 'paused_by_operator') {
    return {
      kind: 'connector',
      ref,
      title: title(connector),
      reason: `Отправка в ${title(connector)} приостановлена вручную: данные копятся в очереди`,
      action: { type: 'call', label: 'Возобновить отправку', path: `/api/connectors/${connector}/resume` },
      since,
    };
  }
  if (s.state === 'paused') {
    // Refused credentials or a switched-off connector: only a settings change lets it run again.
    return {
      kind: 'connector',
      ref,
      title: title(connector),
      reason: `${s.lastError?.message ?? `${title(connector)} не принимает данные`}. Данные копятся в очереди и уйдут, когда настройки исправят`,
      action: settingsLink(connector),
      since,
    };
  }
  return {
    kind: 'connector',
    ref,
    title: title(connector),
    reason: `Нет связи с ${title(connector)}: ${s.lastError?.message ?? 'сервис не отвечает'}. Данные копятся в очереди; Спутник повторяет сам`,
    action: { type: 'call', label: 'Повторить сейчас', path: `/api/connectors/${connector}/resume` },
    since,
  };
}

function refusalItem(r: RefusalRow): AttentionItem {
  const who = r.client ? `с компьютера ${r.client}` : '1С';
  const times = r.count > 1 ? ` (отказано ${r.count} раз)` : '';
  return {
    kind: 'refusal',
    ref: `refusal:${r.key}`,
    title: r.title,
    reason: `Спутник не принял запрос ${who === '1С' ? 'из 1С' : who}${times}: ${r.message}`,
    action: { type: 'instruction', label: r.fix },
    since: toOnecDateTime(r.at),
    dismissible: true,
  };
}

/** Connectors first, then queues, then the rest (refusals and the modules' own kinds) newest first. */
const RANK: ReadonlyMap<string, number> = new Map([
  ['connector', 0],
  ['queue', 1],
]);
const rank = (kind: string) => RANK.get(kind) ?? 2;

/** The whole list as of `now` (the store's clock): connectors and queues first, then newest first. */
export function collectAttention(deps: { modules: CoreModule[]; outbox: Outbox; refusals: Refusals; now: number; limit: number; enabled?: (connector: string) => boolean }): AttentionList {
  const { modules, outbox, refusals, now, limit } = deps;
  const items: AttentionItem[] = [];
  let total = 0;
  const listed = new Set<string>();
  const depth = outbox.depth();
  for (const m of modules) {
    if (!m.connector || !m.workers) continue;
    // Switched off in the settings on purpose: only worth a word while work waits for it.
    if (deps.enabled?.(m.connector) === false && !depth.some((d) => d.connector === m.connector)) continue;
    const item = connectorItem(m.connector, outbox);
    if (item) (items.push(item), listed.add(m.connector), total++);
  }
  for (const d of depth) {
    const waited = now - d.oldest;
    // A paused or failing connector explains its queue already.
    if (waited < QUEUE_STUCK_MS || listed.has(d.connector)) continue;
    total++;
    items.push({
      kind: 'queue',
      ref: `queue:${d.connector}`,
      title: `Очередь ${title(d.connector)}`,
      reason: `${d.queued} ${plural(d.queued, 'задание ждёт', 'задания ждут', 'заданий ждут')} отправки в ${title(d.connector)}, самое старое — ${minutes(waited)} мин`,
      action: { type: 'call', label: 'Отправить сейчас', path: `/api/connectors/${d.connector}/resume` },
      since: toOnecDateTime(d.oldest),
    });
  }
  for (const m of modules) {
    const list = m.attention?.(now);
    if (!list) continue;
    items.push(...list.items);
    total += list.total;
  }
  // A refusal of an entity the module lists already (a card that failed later) would say it twice.
  const refs = new Set(items.map((i) => i.ref));
  let hidden = 0;
  for (const r of refusals.size ? refusals.list(limit) : []) {
    if (r.entity && refs.has(r.entity)) hidden++;
    else items.push(refusalItem(r));
  }
  total += refusals.size - hidden;
  items.sort((a, b) => rank(a.kind) - rank(b.kind) || (a.since < b.since ? 1 : a.since > b.since ? -1 : 0));
  return { items: items.slice(0, limit), total };
}

export function plural(n: number, one: string, few: string, many: string): string {
  const t = n % 100;
  const u = n % 10;
  if (t >= 11 && t <= 14) return many;
  if (u === 1) return one;
  if (u >= 2 && u <= 4) return few;
  return many;
}

const WRITES = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
/**
 * Refusals of what 1C sent (unreadable, invalid, conflicting). Not 401/403 (the caller, not the
 * data), 404/405 (no such thing), 429/5xx (Sputnik's side, answered to be repeated).
 */
const REFUSED = new Set([400, 409, 413, 415, 422]);

/** The 1C error body's `error`, when the answer is one. */
export function errorOf(answer: unknown): { code: string; message: string; field?: string } | null {
  const e = prop(answer, 'error');
  const code = prop(e, 'code');
  const message = prop(e, 'message');
  if (typeof code !== 'string' || typeof message !== 'string') return null;
  const field = prop(e, 'field');
  return { code, message, ...(typeof field === 'string' ? { field } : {}) };
}

/**
 * A module's 1C routes with their refusals kept: a write call answered 4xx is recorded (who, what,
 * why) and a later accepted call for the same entity removes it. Nothing else changes.
 */
export function keepingRefusals(domain: ListenerDomain, subjects: (call: OnecCall) => CallSubject[], refusals: Refusals, now: () => number, log: (msg: string, extra?: object) => void): ListenerDomain {
  const observe = (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const status = reply.statusCode;
    const refused = REFUSED.has(status);
    if (!WRITES.has(req.method) || (!refused && status >= 300)) return;
    // The hot path: an accepted call when nothing is open, and no item of it refused (a batch
    // answers each item's error inside its 200), costs these checks.
    if (!refused && refusals.size === 0 && !(typeof payload === 'string' && payload.includes('"error":{'))) return;
    let parsed: unknown;
    const call: OnecCall = {
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0],
      params: isRecord(req.params) ? req.params : {},
      body: req.body,
      status,
      answer: () => {
        if (parsed === undefined && typeof payload === 'string') {
          try {
            parsed = JSON.parse(payload);
          } catch {
            parsed = null;
          }
        }
        return parsed ?? null;
      },
    };
    const at = now();
    const address = req.socket.remoteAddress ?? '';
    const client = /^(127\.|::1$|::ffff:127\.)/.test(address) || address === '' ? null : address.replace(/^::ffff:/, '');
    const accepted: string[] = [];
    const failed = (e: unknown) => log('refusal not recorded', { url: req.url, err: errorMessage(e) });
    for (const s of subjects(call)) {
      const key = s.entity ?? `${call.method} ${call.route}`;
      if (!s.refused) {
        accepted.push(key);
        continue;
      }
      const { code, message, field, fix } = s.refused;
      refusals.record({ key, entity: s.entity, title: s.title, route: `${call.method} ${call.route}`, status, code, message, field: field ?? null, fix, client, at }).catch(failed);
    }
    if (accepted.length && refusals.size) refusals.remove(accepted).catch(failed);
  };
  return (app: ListenerApp) => {
    app.addHook('onSend', (req, reply, payload, done) => {
      try {
        observe(req, reply, payload);
      } catch (e) {
        // Keeping the note must never cost 1C its answer.
        log('refusal not recorded', { url: req.url, err: errorMessage(e) });
      }
      done(null, payload);
    });
    return domain(app);
  };
}
