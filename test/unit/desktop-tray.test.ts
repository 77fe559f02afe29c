import { describe, expect, it, vi } from 'vitest';
import type { HealthView, TrayState } from '../../main/desktop/status.ts';
import { docpartEnabled, restartOffered, sendingState, trayStatus } from '../../main/desktop/status.ts';
import { coreDown, type CoreState } from '../../main/desktop/core-process.ts';
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

const actions = () => ({
  open: vi.fn(),
  syncDocpart: vi.fn(),
  pauseSending: vi.fn(),
  resumeSending: vi.fn(),
  restartCore: vi.fn(),
  setAutostart: vi.fn(),
  openLogsFolder: vi.fn(),
  quit: vi.fn(),
});

const NOW = new Date(2026, 10, 23, 12, 0, 0).getTime();
/** Local shop time, as the core's health writes `since`. */
function localAgo(ms: number): string {
  const d = new Date(NOW - ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
const failing = (agoMs: number | null) => ({ state: 'failing' as const, lastError: { code: 'timeout', message: 'нет ответа' }, since: agoMs === null ? null : localAgo(agoMs) });

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

const icons: Record<TrayState, string> = { ok: 'green.png', warning: 'yellow.png', problem: 'red.png' };

function makeTray(autostart = false) {
  let fake!: FakeTray;
  const a = actions();
  const service = new TrayService<string, MenuItemSpec[]>({
    createTray: (image) => (fake = new FakeTray(image)),
    buildMenu: (items) => items,
    icons,
    actions: a,
    getAutostart: () => autostart,
    now: () => NOW,
  });
  return { service, fake, actions: a, setAutostart: (on: boolean) => (autostart = on), created: () => fake };
}

const labels = (menu: MenuItemSpec[]) => menu.map((i) => (i.type === 'separator' ? '---' : i.label));
const menuState = (over: Partial<Parameters<typeof buildTrayMenu>[0]> = {}) => ({
  status: trayStatus(health(), NOW),
  autostart: false,
  docpartEnabled: false,
  sending: { running: [] as string[], paused: [] as string[] },
  ...over,
});

describe('tray status from health (green / yellow / red)', () => {
  it('green: every enabled connector ok and the queue empty', () => {
    expect(trayStatus(health(), NOW)).toEqual({ state: 'ok', line: 'Всё работает', tooltip: 'Спутник — Всё работает' });
    expect(trayStatus(health({ sandbox: true }), NOW)).toMatchObject({ state: 'ok', line: 'Песочница: всё работает' });
  });

  it('yellow: items waiting in the queue', () => {
    expect(trayStatus(health({ queue: { depth: 3, oldestAgeSeconds: 2 } }), NOW)).toMatchObject({ state: 'warning', line: 'Отправляется · в очереди 3' });
  });

  it('yellow: a connector failing for less than 5 minutes; red after', () => {
    const brief = trayStatus(health({ connectors: { passteam: failing(4 * 60_000) }, queue: { depth: 2, oldestAgeSeconds: 240 } }), NOW);
    expect(brief).toMatchObject({ state: 'warning', line: 'Нет связи, повторяем: Passteam · в очереди 2' });
    expect(brief.tooltip).toBe('Спутник — Нет связи, повторяем: Passteam · в очереди 2');
    expect(trayStatus(health({ connectors: { passteam: failing(5 * 60_000) } }), NOW)).toMatchObject({ state: 'problem', line: 'Нет связи: Passteam' });
    expect(trayStatus(health({ connectors: { passteam: failing(null) } }), NOW).state).toBe('problem');
  });

  it('red: paused (credentials refused or by the operator), named, outranking the sandbox', () => {
    const s = trayStatus(
      health({
        sandbox: true,
        connectors: {
          passteam: { state: 'paused', lastError: { code: 'paused_by_operator', message: 'приостановлено' }, since: null },
          paykeeper: { state: 'paused', lastError: { code: 'auth', message: 'пароль' }, since: null },
          docpart: failing(60_000),
        },
        queue: { depth: 12, oldestAgeSeconds: 90 },
      }),
      NOW,
    );
    expect(s.state).toBe('problem');
    expect(s.line).toBe('Отправка приостановлена: Passteam; проверьте настройки: PayKeeper; нет связи, повторяем: Docpart · в очереди 12');
  });

  it('red: a broken store or an unreachable core', () => {
    expect(trayStatus(health({ status: 'degraded', store: { ok: false } }), NOW)).toMatchObject({ state: 'problem', line: 'База данных недоступна' });
    expect(trayStatus(new Error('boom'))).toMatchObject({ state: 'problem', line: 'Служба Спутника не отвечает' });
  });

  it('a brief health (no detail) still yields a status; tooltips fit Windows\' 127 characters', () => {
    expect(trayStatus({ status: 'ok', version: '0.1.0', listener: { url: 'x', exposed: false } }).state).toBe('ok');
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`connector${i}`, failing(null)]));
    const t = trayStatus(health({ connectors: many }), NOW).tooltip;
    expect(t).toHaveLength(127);
    expect(t.endsWith('…')).toBe(true);
  });

  it('sending and Docpart states for the menu', () => {
    const h = health({ connectors: { passteam: { state: 'paused', lastError: null, since: null }, paykeeper: { state: 'ok', lastError: null, since: null }, docpart: { state: 'disabled', lastError: null, since: null } } });
    expect(sendingState(h)).toEqual({ running: ['paykeeper'], paused: ['passteam'] });
    expect(sendingState(new Error('x'))).toEqual({ running: [], paused: [] });
    expect(docpartEnabled(h)).toBe(false);
    expect(docpartEnabled(health())).toBe(true);
  });
});

describe('tray menu', () => {
  it('Открыть, the disabled status line, Docpart sync, the pause toggle, autostart, logs, Выход', () => {
    const menu = buildTrayMenu(menuState({ autostart: true, docpartEnabled: true, sending: { running: ['passteam'], paused: [] } }), actions());
    expect(labels(menu)).toEqual([
      'Открыть',
      'Всё работает',
      '---',
      'Синхронизировать Docpart',
      'Приостановить отправку',
      '---',
      'Запускать при входе в систему',
      'Открыть папку журналов',
      '---',
      'Выход',
    ]);
    expect(menu.find((i) => i.id === 'status')!.enabled).toBe(false);
    expect(menu.find((i) => i.id === 'autostart')).toMatchObject({ type: 'checkbox', checked: true });
  });

  it('no Docpart item while Docpart is disabled; «Возобновить» while anything is paused; nothing when no sender is enabled', () => {
    expect(labels(buildTrayMenu(menuState({ sending: { running: ['paykeeper'], paused: ['passteam'] } }), actions()))).toEqual([
      'Открыть',
      'Всё работает',
      '---',
      'Возобновить',
      '---',
      'Запускать при входе в систему',
      'Открыть папку журналов',
      '---',
      'Выход',
    ]);
    expect(labels(buildTrayMenu(menuState(), actions()))).toEqual(['Открыть', 'Всё работает', '---', 'Запускать при входе в систему', 'Открыть папку журналов', '---', 'Выход']);
  });

  it('items call their actions; the checkbox passes its new state', () => {
    const a = actions();
    const click = (state: ReturnType<typeof menuState>, id: string) => buildTrayMenu(state, a).find((i) => i.id === id)!.click!({ checked: true });
    const full = menuState({ docpartEnabled: true, sending: { running: ['passteam'], paused: [] } });
    for (const id of ['open', 'docpart-sync', 'pause', 'autostart', 'logs', 'quit']) click(full, id);
    click(menuState({ sending: { running: [], paused: ['passteam'] } }), 'resume');
    expect(a.open).toHaveBeenCalledOnce();
    expect(a.syncDocpart).toHaveBeenCalledOnce();
    expect(a.pauseSending).toHaveBeenCalledOnce();
    expect(a.resumeSending).toHaveBeenCalledOnce();
    expect(a.setAutostart).toHaveBeenCalledWith(true);
    expect(a.openLogsFolder).toHaveBeenCalledOnce();
    expect(a.quit).toHaveBeenCalledOnce();
  });
});

describe('«Перезапустить службу»', () => {
  const down = (state: CoreState) => coreDown(state)!;
  /** The menu has the item, and the window is told the same (restartOffered). */
  const offered = (service: TrayService<string, MenuItemSpec[]>, fake: FakeTray) => {
    const inMenu = (fake.menu ?? []).some((i) => i.id === 'restart-core');
    expect(restartOffered(service.health)).toBe(inMenu);
    return inMenu;
  };

  it('is offered, first under the status line, only while the service is down for good or does not answer', () => {
    const { service, fake, actions: a } = makeTray();
    service.update(down({ state: 'failed', crashes: 6, reason: 'служба завершилась с кодом 1' }));
    expect(fake.tooltip).toBe('Спутник — Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу');
    expect(labels(fake.menu!).slice(0, 4)).toEqual(['Открыть', 'Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу', '---', 'Перезапустить службу']);
    fake.menu!.find((i) => i.id === 'restart-core')!.click!({ checked: false });
    expect(a.restartCore).toHaveBeenCalledOnce();
    // Running but not answering its health (hung): nothing brings it back by itself either.
    service.update(new Error('timeout'));
    expect(offered(service, fake)).toBe(true);
    // Starting, restarting after a crash, restarted by the operator, quitting: the supervisor is on it.
    for (const state of [{ state: 'starting' }, { state: 'restarting', attempt: 1, of: 5, retryInMs: 1000, reason: 'x' }, { state: 'stopping', restart: true }, { state: 'stopping' }] as const) {
      service.update(down(state));
      expect(offered(service, fake)).toBe(false);
    }
    expect(fake.tooltip).toBe('Спутник — Спутник останавливается…');
    service.update(down({ state: 'stopping', restart: true }));
    expect(fake.tooltip).toBe('Спутник — Служба Спутника перезапускается…');
    // A remote service that is down is no reason to restart Sputnik.
    service.update(health({ connectors: { passteam: failing(60 * 60_000) } }));
    expect(fake.image).toBe('red.png');
    expect(offered(service, fake)).toBe(false);
  });
});

describe('TrayService', () => {
  it('starts yellow ("запускается"), then sets icon, tooltip and menu from health', () => {
    const { service, fake } = makeTray();
    expect(fake.image).toBe('yellow.png');
    service.update(health());
    expect(fake.image).toBe('green.png');
    expect(fake.tooltip).toBe('Спутник — Всё работает');
    expect(fake.menu?.find((i) => i.id === 'status')?.label).toBe('Всё работает');
    expect(fake.menu?.some((i) => i.id === 'docpart-sync')).toBe(true);
    expect(fake.menu?.some((i) => i.id === 'pause')).toBe(true);
    service.update(new Error('down'));
    expect(fake.image).toBe('red.png');
    expect(service.health).toBeInstanceOf(Error);
    expect(fake.menu?.some((i) => i.id === 'pause' || i.id === 'docpart-sync')).toBe(false);
    service.update(health({ queue: { depth: 1, oldestAgeSeconds: 0 } }));
    expect(fake.image).toBe('yellow.png');
  });

  it('keeps one tray object for its whole life (never recreated, so never lost to GC)', () => {
    let created = 0;
    const service = new TrayService<string, MenuItemSpec[]>({
      createTray: (image) => (created++, new FakeTray(image)),
      buildMenu: (items) => items,
      icons,
      actions: actions(),
      getAutostart: () => false,
    });
    for (let i = 0; i < 5; i++) service.update(i % 2 ? health() : new Error('x'));
    service.refresh();
    expect(created).toBe(1);
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
