import type { TrayStatus } from './status.ts';

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
  setAutostart(on: boolean): void;
  openLogsFolder(): void;
  quit(): void;
}

export function buildTrayMenu(status: TrayStatus, autostart: boolean, actions: TrayActions): MenuItemSpec[] {
  return [
    { id: 'status', label: status.line, enabled: false },
    { type: 'separator' },
    { id: 'open', label: 'Открыть Спутник', click: () => actions.open() },
    { id: 'autostart', label: 'Автозапуск', type: 'checkbox', checked: autostart, click: (item) => actions.setAutostart(item.checked) },
    { id: 'logs', label: 'Открыть папку журналов', click: () => actions.openLogsFolder() },
    { type: 'separator' },
    { id: 'quit', label: 'Выход', click: () => actions.quit() },
  ];
}
