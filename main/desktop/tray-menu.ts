import { RESTART_LABEL, type TrayStatus } from './status.ts';

/**
 * The tray menu as plain data. Structurally a subset of Electron's MenuItemConstructorOptions,
 * so `Menu.buildFromTemplate` takes it as is and tests can read it without Electron.
 */
export interface MenuItemSpec {
  id?: string;
  label?: string;
  type?: 'normal' | 'separator' | 'checkbox';
  enabled?: boolean;
  checked?: boolean;
  /** Electron flips `checked` before calling click, so the handler reads the new value. */
  click?: (item: { checked: boolean }) => void;
}

export interface TrayActions {
  open(): void;
  syncDocpart(): void;
  pauseSending(): void;
  resumeSending(): void;
  /** «Перезапустить службу»: starts the core's process again (CoreSupervisor.restart). */
  restartCore(): void;
  setAutostart(on: boolean): void;
  openLogsFolder(): void;
  quit(): void;
}

export interface TrayMenuState {
  status: TrayStatus;
  autostart: boolean;
  /** «Синхронизировать Docpart» appears only while Docpart is enabled. */
  docpartEnabled: boolean;
  /** Senders (Passteam, PayKeeper): which toggle to offer; neither when none is enabled. */
  sending: { running: readonly string[]; paused: readonly string[] };
  /** «Перезапустить службу» appears only while the service is down for good or hung (status.ts restartOffered). */
  restartCore?: boolean;
}

export function buildTrayMenu(state: TrayMenuState, actions: TrayActions): MenuItemSpec[] {
  const work: MenuItemSpec[] = [];
  // First under the red status line: the one thing that helps when the service itself is down.
  if (state.restartCore) work.push({ id: 'restart-core', label: RESTART_LABEL, click: () => actions.restartCore() });
  if (state.docpartEnabled) work.push({ id: 'docpart-sync', label: 'Синхронизировать Docpart', click: () => actions.syncDocpart() });
  // Paused wins: while anything is paused the one thing to offer is getting it going again.
  if (state.sending.paused.length > 0) work.push({ id: 'resume', label: 'Возобновить', click: () => actions.resumeSending() });
  else if (state.sending.running.length > 0) work.push({ id: 'pause', label: 'Приостановить отправку', click: () => actions.pauseSending() });
  return [
    { id: 'open', label: 'Открыть', click: () => actions.open() },
    { id: 'status', label: state.status.line, enabled: false },
    { type: 'separator' },
    ...(work.length > 0 ? [...work, { type: 'separator' } satisfies MenuItemSpec] : []),
    { id: 'autostart', label: 'Запускать при входе в систему', type: 'checkbox', checked: state.autostart, click: (item) => actions.setAutostart(item.checked) },
    { id: 'logs', label: 'Открыть папку журналов', click: () => actions.openLogsFolder() },
    { type: 'separator' },
    { id: 'quit', label: 'Выход', click: () => actions.quit() },
  ];
}
