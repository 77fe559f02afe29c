import { z } from 'zod';
import { healthSchema, type ConnectorHealth } from '../core/health-shape.ts';
import { MODULES } from '../connectors/index.ts';
import type { ModuleDescriptor } from '../core/module.ts';

/**
 * The tray's one-glance summary of the core's health: a traffic-light icon and a Russian
 * status line, read from the core's health (detailed fields optional, as in `CoreHealth`).
 *
 * Colours (decided here, tested in desktop-tray.test.ts):
 * - green  `ok`      every enabled connector ok and the queue empty;
 * - yellow `warning` work is waiting or being retried (queue depth > 0), or a connector has been
 *                    failing for less than FAILING_RED_AFTER_MS (a blip the outbox rides out);
 * - red    `problem` a connector failing longer (or since an unknown time), a paused connector
 *                    (credentials refused, or sending paused by the operator), the store down /
 *                    health degraded, or the core not answering at all.
 * The sandbox only changes the wording, never the colour: red must mean "act now" in both modes.
 */

/** The core's health as GET /api/health gives it (its one shape: main/core/health-shape.ts), with where the 1C API listens. */
export const healthViewSchema = healthSchema.extend({ listener: z.object({ url: z.string(), exposed: z.boolean() }) });
export type HealthView = z.output<typeof healthViewSchema>;
export type ConnectorHealthView = ConnectorHealth;
export type ConnectorState = ConnectorHealthView['state'];

export type TrayState = 'ok' | 'warning' | 'problem';

export interface TrayStatus {
  state: TrayState;
  line: string;
  tooltip: string;
}

export const FAILING_RED_AFTER_MS = 5 * 60_000;
/** The outbox marks a pause by the tray menu / admin API with this error code. */
export const PAUSED_BY_OPERATOR = 'paused_by_operator';
/** Windows truncates tray tooltips at 127 characters; cut them ourselves, with an ellipsis. */
export const TOOLTIP_MAX = 127;

const MODULE_LIST: readonly ModuleDescriptor[] = MODULES;
const CONNECTOR_MODULES = MODULE_LIST.filter((m) => m.connector);
/** The connectors' titles, from their descriptors («Passteam»). */
const CONNECTOR_NAMES: ReadonlyMap<string, string> = new Map(CONNECTOR_MODULES.map((m) => [m.name, m.title]));

function named(health: HealthView, pick: (c: ConnectorHealthView) => boolean): string[] {
  return Object.entries(health.connectors ?? {})
    .filter(([, c]) => pick(c))
    .map(([key]) => CONNECTOR_NAMES.get(key) ?? key);
}

/** How long a connector has been in its state; Infinity when unknown (treated as "long"). */
function ageMs(since: string | null, now: number): number {
  if (!since) return Infinity;
  // No zone in the string: the Date constructor reads a date-time form as local time, as written.
  const at = new Date(since).getTime();
  return Number.isNaN(at) ? Infinity : Math.max(0, now - at);
}

/**
 * The core's own process is not running (starting, restarting after a crash, given up, stopping):
 * the shell shows what its supervisor knows instead of a health it cannot read.
 */
export class CoreDown extends Error {
  readonly state: TrayState;
  /** The supervisor has stopped trying: «Перезапустить службу» is the way back. */
  readonly restart: boolean;
  constructor(state: TrayState, line: string, opts: { restart?: boolean } = {}) {
    super(line);
    this.name = 'CoreDown';
    this.state = state;
    this.restart = opts.restart === true;
  }
}

/** The tray's item (and the window's button) that starts the core again: `CoreSupervisor.restart`. */
export const RESTART_LABEL = 'Перезапустить службу';

/**
 * Whether the tray (and the window) offer «Перезапустить службу»: when the service itself is what
 * is wrong and nothing will bring it back by itself — the supervisor gave up, or the process runs
 * but does not answer its health (hung). Not while it starts or restarts by itself, and not for a
 * remote service that is down: restarting Sputnik would not fix Passteam.
 */
export function restartOffered(health: HealthView | Error | null): boolean {
  if (health instanceof CoreDown) return health.restart;
  return health instanceof Error;
}

export function trayStatus(health: HealthView | Error, now: number = Date.now()): TrayStatus {
  if (health instanceof CoreDown) return make(health.state, health.message);
  if (health instanceof Error) return make('problem', 'Служба Спутника не отвечает');
  const red: string[] = [];
  const yellow: string[] = [];
  if (health.store?.ok === false) red.push('база данных недоступна');
  const isFailing = (c: ConnectorHealthView) => c.state === 'failing';
  const longFailing = named(health, (c) => isFailing(c) && ageMs(c.since, now) >= FAILING_RED_AFTER_MS);
  const briefFailing = named(health, (c) => isFailing(c) && ageMs(c.since, now) < FAILING_RED_AFTER_MS);
  if (longFailing.length > 0) red.push(`нет связи: ${longFailing.join(', ')}`);
  const byOperator = named(health, (c) => c.state === 'paused' && c.lastError?.code === PAUSED_BY_OPERATOR);
  if (byOperator.length > 0) red.push(`отправка приостановлена: ${byOperator.join(', ')}`);
  const refused = named(health, (c) => c.state === 'paused' && c.lastError?.code !== PAUSED_BY_OPERATOR);
  if (refused.length > 0) red.push(`проверьте настройки: ${refused.join(', ')}`);
  if (red.length === 0 && health.status !== 'ok') red.push('есть неполадки');
  if (briefFailing.length > 0) yellow.push(`нет связи, повторяем: ${briefFailing.join(', ')}`);
  const depth = health.queue?.depth ?? 0;
  const queue = depth > 0 ? ` · в очереди ${depth}` : '';
  if (red.length > 0) return make('problem', capitalize([...red, ...yellow].join('; ')) + queue);
  if (yellow.length > 0) return make('warning', capitalize(yellow.join('; ')) + queue);
  if (depth > 0) return make('warning', `Отправляется · в очереди ${depth}`);
  return make('ok', health.sandbox === true ? 'Песочница: всё работает' : 'Всё работает');
}

function make(state: TrayState, line: string): TrayStatus {
  const tooltip = `Спутник — ${line}`;
  return { state, line, tooltip: tooltip.length > TOOLTIP_MAX ? `${tooltip.slice(0, TOOLTIP_MAX - 1)}…` : tooltip };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The connectors «Приостановить отправку» acts on: the outbound senders (`connector.pausable`), not the Docpart pull. */
export const SENDING_CONNECTORS: readonly string[] = CONNECTOR_MODULES.filter((m) => m.connector?.pausable).map((m) => m.name);

export interface SendingState {
  /** Enabled senders that are sending (pause targets). */
  running: string[];
  /** Senders that are paused, for whatever reason (resume targets). */
  paused: string[];
}

export function sendingState(health: HealthView | Error | null): SendingState {
  const out: SendingState = { running: [], paused: [] };
  if (!health || health instanceof Error) return out;
  for (const name of SENDING_CONNECTORS) {
    const c = health.connectors?.[name];
    if (!c || c.state === 'disabled') continue;
    (c.state === 'paused' ? out.paused : out.running).push(name);
  }
  return out;
}

export function docpartEnabled(health: HealthView | Error | null): boolean {
  if (!health || health instanceof Error) return false;
  const c = health.connectors?.docpart;
  return c !== undefined && c.state !== 'disabled';
}
