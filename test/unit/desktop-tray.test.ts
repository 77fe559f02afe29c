import { describe, expect, it, vi } from 'vitest';
import type { HealthView, TrayState } from '../../main/desktop/status.ts';
import { trayStatus } from '../../main/desktop/status.ts';
import { buildTrayMenu, type MenuItemSpec } from '../../main/desktop/tray-menu.ts';
import { TrayService, type TrayLike } from '../../main/desktop/tray.ts';

function health(over: Partial<HealthView> = {}): HealthView {
  return {
    status: 'ok',
    version: '0.1.0',
    sandbox: false,
    listener: { url: 'http://127.0.0.1:37080', exposed: false },
    connectors: {
      passteam: { state: 'ok', lastError: null, since: null },
      paykeeper: { state: 'disabled', lastError: null, since: null },
      docpart: { state: 'ok', lastError: null, since: null },
    },
    queue: { depth: 0, oldestAgeSeconds: null },
    store: { ok: true },
    ...over,
  };
}

const actions = () => ({ open: vi.fn(), setAutostart: vi.fn(), openLogsFolder: vi.fn(), quit: vi.fn() });

class FakeTray implements TrayLike<string, MenuItemSpec[]> {
  image = '';
  tooltip = '';
  menu: MenuItemSpec[] | null = null;
  menuSets = 0;
  clickListener: (() => void) | undefined;
  destroyed = false;
  constructor(image: string) {
    this.image = image;
  }
  setImage(image: string) {
    this.image = image;
  }
  setToolTip(text: string) {
    this.tooltip = text;
  }
  setContextMenu(menu: MenuItemSpec[] | null) {
    this.menu = menu;
    this.menuSets++;
  }
  on(_event: 'click', listener: () => void) {
    this.clickListener = listener;
  }
  destroy() {
    this.destroyed = true;
  }
}

const icons: Record<TrayState, string> = { ok: 'green.png', problem: 'red.png', sandbox: 'yellow.png' };

function makeTray(autostart = false) {
  let fake!: FakeTray;
  const a = actions();
  const service = new TrayService<string, MenuItemSpec[]>({
    createTray: (image) => (fake = new FakeTray(image)),
    buildMenu: (items) => items,
    icons,
    actions: a,
    getAutostart: () => autostart,
  });
  return { service, fake, actions: a, setAutostart: (on: boolean) => (autostart = on) };
}

describe('tray status from health', () => {
  it('all fine: ok state, plain line', () => {
    expect(trayStatus(health())).toEqual({ state: 'ok', line: 'Всё работает', tooltip: 'Спутник — Всё работает' });
  });

  it('sandbox gets its own state and says so', () => {
    const s = trayStatus(health({ sandbox: true }));
    expect(s.state).toBe('sandbox');
    expect(s.line).toBe('Песочница: всё работает');
  });

  it('a failing or paused connector is a problem, named, and outranks the sandbox colour', () => {
    const s = trayStatus(
      health({
        sandbox: true,
        connectors: {
          passteam: { state: 'failing', lastError: { code: 'timeout', message: 'нет ответа' }, since: null },
          paykeeper: { state: 'paused', lastError: { code: 'auth', message: 'пароль' }, since: null },
          docpart: { state: 'disabled', lastError: null, since: null },
        },
        queue: { depth: 12, oldestAgeSeconds: 90 },
      }),
    );
    expect(s.state).toBe('problem');
    expect(s.line).toBe('Нет связи: Passteam; проверьте настройки: PayKeeper · в очереди 12');
  });

  it('a broken store or an unreachable core is a problem', () => {
    expect(trayStatus(health({ status: 'degraded', store: { ok: false } })).line).toBe('База данных недоступна');
    expect(trayStatus(new Error('boom'))).toMatchObject({ state: 'problem', line: 'Служба Спутника не отвечает' });
  });

  it('a brief health (no detail) still yields a status', () => {
    expect(trayStatus({ status: 'ok', version: '0.1.0', listener: { url: 'x', exposed: false } }).state).toBe('ok');
  });
});

describe('tray menu', () => {
  it('has the status line (disabled), open, autostart checkbox, logs folder and quit, in that order', () => {
    const menu = buildTrayMenu(trayStatus(health()), true, actions());
    expect(menu.map((i) => (i.type === 'separator' ? '---' : i.label))).toEqual([
      'Всё работает',
      '---',
      'Открыть Спутник',
      'Автозапуск',
      'Открыть папку журналов',
      '---',
      'Выход',
    ]);
    expect(menu[0].enabled).toBe(false);
    expect(menu.find((i) => i.id === 'autostart')).toMatchObject({ type: 'checkbox', checked: true });
  });

  it('items call their actions; the checkbox passes its new state', () => {
    const a = actions();
    const menu = buildTrayMenu(trayStatus(health()), false, a);
    const item = (id: string) => menu.find((i) => i.id === id)!;
    item('open').click!({ checked: false });
    item('autostart').click!({ checked: true });
    item('logs').click!({ checked: false });
    item('quit').click!({ checked: false });
    expect(a.open).toHaveBeenCalledOnce();
    expect(a.setAutostart).toHaveBeenCalledWith(true);
    expect(a.openLogsFolder).toHaveBeenCalledOnce();
    expect(a.quit).toHaveBeenCalledOnce();
  });
});

describe('TrayService', () => {
  it('sets icon, tooltip and menu from health', () => {
    const { service, fake } = makeTray();
    service.update(health({ sandbox: true }));
    expect(fake.image).toBe('yellow.png');
    expect(fake.tooltip).toBe('Спутник — Песочница: всё работает');
    expect(fake.menu?.[0].label).toBe('Песочница: всё работает');
    service.update(new Error('down'));
    expect(fake.image).toBe('red.png');
    service.update(health());
    expect(fake.image).toBe('green.png');
  });

  it('does not rebuild the menu when nothing changed, but does after autostart changes', () => {
    const { service, fake, setAutostart } = makeTray();
    service.update(health());
    const sets = fake.menuSets;
    service.update(health());
    service.update(health());
    expect(fake.menuSets).toBe(sets);
    setAutostart(true);
    service.refresh();
    expect(fake.menuSets).toBe(sets + 1);
    expect(fake.menu?.find((i) => i.id === 'autostart')?.checked).toBe(true);
  });

  it('a click on the icon opens the window; destroy removes the icon', () => {
    const { service, fake, actions: a } = makeTray();
    fake.clickListener!();
    expect(a.open).toHaveBeenCalledOnce();
    service.destroy();
    expect(fake.destroyed).toBe(true);
  });
});
