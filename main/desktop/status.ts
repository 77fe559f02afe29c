/**
 * The tray's one-glance summary of the core's health: an icon state and a Russian status line.
 * The shape mirrors the core's health (detailed fields optional, as in `CoreHealth`).
 */
export type ConnectorState = 'disabled' | 'ok' | 'failing' | 'paused';

export interface HealthView {
  status: string;
  version: string;
  sandbox?: boolean;
  listener: { url: string; exposed: boolean };
  connectors?: Record<string, { state: ConnectorState; lastError: { code: string; message: string } | null; since: string | null }>;
  queue?: { depth: number; oldestAgeSeconds: number | null };
  store?: { ok: boolean };
}

export type TrayState = 'ok' | 'problem' | 'sandbox';

export interface TrayStatus {
  state: TrayState;
  line: string;
  tooltip: string;
}

const CONNECTOR_NAMES: Readonly<Record<string, string>> = {
  passteam: 'Passteam',
  paykeeper: 'PayKeeper',
  docpart: 'Docpart',
};

function names(health: HealthView, state: ConnectorState): string[] {
  return Object.entries(health.connectors ?? {})
    .filter(([, c]) => c.state === state)
    .map(([key]) => CONNECTOR_NAMES[key] ?? key);
}

/** A problem outranks the sandbox colour: red must mean "act now" in both modes. */
export function trayStatus(health: HealthView | Error): TrayStatus {
  if (health instanceof Error) return make('problem', 'Служба Спутника не отвечает');
  const problems: string[] = [];
  if (health.store?.ok === false) problems.push('база данных недоступна');
  const failing = names(health, 'failing');
  if (failing.length > 0) problems.push(`нет связи: ${failing.join(', ')}`);
  const paused = names(health, 'paused');
  if (paused.length > 0) problems.push(`проверьте настройки: ${paused.join(', ')}`);
  if (problems.length === 0 && health.status !== 'ok') problems.push('есть неполадки');
  const depth = health.queue?.depth ?? 0;
  const queue = depth > 0 ? ` · в очереди ${depth}` : '';
  if (problems.length > 0) return make('problem', capitalize(problems.join('; ')) + queue);
  return make(health.sandbox === true ? 'sandbox' : 'ok', (health.sandbox === true ? 'Песочница: всё работает' : 'Всё работает') + queue);
}

function make(state: TrayState, line: string): TrayStatus {
  return { state, line, tooltip: `Спутник — ${line}` };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
