import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, powerMonitor, safeStorage, screen, shell, Tray, utilityProcess, type NativeImage } from 'electron';
import ElectronStore from 'electron-store';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Autostart, isHiddenLaunch } from './autostart.ts';
import { CoreControl } from './core-control.ts';
import { CoreSupervisor, secretsSnapshot, utilityChild, type CoreReady } from './core-process.ts';
import { CoreWatch } from './core-watch.ts';
import { trayIconPng } from './icons.ts';
import { registerIpc } from './ipc.ts';
import { DESKTOP_FILE, DesktopStore } from './desktop-store.ts';
import { DesktopPrefs } from './prefs.ts';
import { defaultDataDir, logsDir, userConfigFile } from '../config/paths.ts';
import { createWillQuitHandler } from './quit.ts';
import { SecretStore } from './secret-store.ts';
import { SingleInstance } from './single-instance.ts';
import type { HealthView, TrayState } from './status.ts';
import { TrayService } from './tray.ts';
import { WindowService, loginUrl } from './window.ts';
import { errorMessage } from '../unknown.ts';

/**
 * Electron entry: a thin shell — one tray icon, one window — beside the core, which runs in its
 * own utility process (core-child.js, supervised by core-process.ts) and is reached only over
 * its admin API. Logic lives in the modules.
 */
const HEALTH_EVERY_MS = 5000;
const STOP_GRACE_MS = 10_000;
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Everything long-lived, held at module level for the app's lifetime: a Tray only referenced
 * from a function's locals can be garbage-collected, and its icon vanishes from the tray.
 */
let shellRefs: { tray: TrayService<NativeImage, Menu>; windows: WindowService; core: CoreSupervisor } | undefined;

function icon(state: TrayState): NativeImage {
  const image = nativeImage.createFromBuffer(trayIconPng(state, 16), { scaleFactor: 1 });
  image.addRepresentation({ scaleFactor: 2, buffer: trayIconPng(state, 32) });
  return image;
}

function notify(body: string): void {
  if (Notification.isSupported()) new Notification({ title: 'Спутник', body }).show();
  else dialog.showErrorBox('Спутник', body);
}

async function run(instance: SingleInstance): Promise<void> {
  await app.whenReady();
  if (process.platform === 'win32') app.setAppUserModelId('ru.sputnik.app');
  const env = process.env;
  const home = homedir();
  const configFile = userConfigFile(env, process.platform, home);
  const dataDir = defaultDataDir(env, process.platform, home);
  const logs = logsDir(dataDir, process.platform);
  // electron-store, beside the config file where earlier versions kept the same JSON.
  const store = new DesktopStore(join(dirname(configFile), DESKTOP_FILE), (options) => new ElectronStore({ ...options, name: options.configName }));
  const secrets = new SecretStore({
    safeStorage,
    platform: process.platform,
    backing: { load: () => store.get('secrets'), save: (all) => store.set('secrets', all) },
  });

  const core = new CoreSupervisor({
    spawn: () =>
      utilityChild(
        utilityProcess.fork(join(here, 'core-child.js'), [], {
          serviceName: 'Sputnik core',
          stdio: 'inherit',
        }),
      ),
    // Read at each (re)start; the decrypted secrets go in the first message, never argv or env.
    start: () => ({ options: { configFile, dataDir, rendererDir: join(here, '../renderer') }, secrets: secretsSnapshot(secrets) }),
    secrets,
    notify,
    log: (message) => console.error(message),
  });
  let first: CoreReady;
  try {
    first = await core.start();
  } catch (error) {
    dialog.showErrorBox('Спутник не запустился', errorMessage(error));
    app.exit(1);
    return;
  }
  // The last address the core served at: kept while it restarts, so the window shows «не отвечает».
  const current = (): CoreReady => core.lastReady ?? first;
  const origin = () => new URL(current().uiUrl).origin;

  const autostart = new Autostart({
    app,
    platform: process.platform,
    linux: {
      desktopFile: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', 'sputnik.desktop'),
      // An AppImage runs from a temporary mount; only $APPIMAGE survives a reboot.
      execPath: env.APPIMAGE || process.execPath,
      fs: { existsSync, mkdirSync, writeFileSync, rmSync },
    },
    hidden: DesktopPrefs.hiddenStart(store),
  });
  const prefs = new DesktopPrefs(store, autostart);

  const windows = new WindowService({
    createWindow: (options) => new BrowserWindow(options),
    preloadPath: join(here, '../preload/index.cjs'),
    url: () => loginUrl(current().uiUrl, current().uiToken),
    openExternal: (url) => void shell.openExternal(url),
    bounds: prefs.windowBounds,
    displays: () => ({ workAreas: screen.getAllDisplays().map((d) => d.workArea), primary: screen.getPrimaryDisplay().workArea }),
    onSessionEnd: () => app.quit(),
    confirmLeave: () =>
      dialog.showMessageBoxSync({
        type: 'question',
        title: 'Спутник',
        message: 'Настройки не сохранены',
        detail: 'Изменения на странице «Настройки» не сохранены и пропадут.',
        buttons: ['Уйти без сохранения', 'Остаться'],
        defaultId: 1,
        cancelId: 1,
      }) === 0,
  });
  const showLogsFolder = async (): Promise<void> => {
    mkdirSync(logs, { recursive: true });
    const problem = await shell.openPath(logs);
    if (problem) throw new Error(`Не удалось открыть папку журналов ${logs}: ${problem}`);
  };
  const control = new CoreControl({ fetch, connection: () => core.connection(), health: () => tray.health });
  const act = (what: Promise<HealthView | null | void>): void => {
    what.then(() => watch.poll(), (error: Error) => notify(error.message));
  };
  const tray: TrayService<NativeImage, Menu> = new TrayService({
    createTray: (image) => new Tray(image),
    buildMenu: (items) => Menu.buildFromTemplate(items),
    icons: { ok: icon('ok'), warning: icon('warning'), problem: icon('problem') },
    getAutostart: () => prefs.getAutostart(),
    actions: {
      open: () => void windows.show(),
      syncDocpart: () => act(control.syncDocpart()),
      pauseSending: () => act(control.pauseSending()),
      resumeSending: () => act(control.resumeSending()),
      restartCore: () => void watch.restart(),
      setAutostart: (on) => {
        prefs.setAutostart(on);
        tray.refresh();
      },
      openLogsFolder: () => void showLogsFolder().catch((e: Error) => dialog.showErrorBox('Спутник', e.message)),
      quit: () => app.quit(),
    },
  });
  // The tray's health comes over HTTP like everything else; while the process is down, its state.
  // It also says when the supervisor gives up, and runs «Перезапустить службу» (tray and window).
  // A core started again (by itself or by the operator) has a new login token, maybe a new port: the open window is reloaded from it.
  const watch = new CoreWatch({ core, health: () => control.health(), tray, notify, restartGraceMs: STOP_GRACE_MS, reloadWindow: () => windows.reload() });
  shellRefs = { tray, windows, core };

  registerIpc(
    ipcMain,
    {
      connection: () => ({ baseUrl: origin(), token: current().uiToken }),
      getAutostart: () => prefs.getAutostart(),
      setAutostart: (on) => {
        const now = prefs.setAutostart(on);
        tray.refresh();
        return now;
      },
      showLogsFolder,
      appVersion: () => app.getVersion(),
      quit: () => app.quit(),
      coreStatus: () => watch.status(),
      restartCore: () => watch.restart(),
    },
    origin,
  );

  void watch.poll();
  const timer = setInterval(() => void watch.poll(), HEALTH_EVERY_MS);

  instance.onSecondStart(() => void windows.show());
  // The app lives in the tray: closing the last window must not quit it.
  app.on('window-all-closed', () => {});
  // Linux/macOS shutdown: quit properly instead of holding the session with a hidden window.
  powerMonitor.on('shutdown', () => {
    windows.endSession();
    app.quit();
  });
  // The quit can still be cancelled (unsaved settings, «Остаться»): the tray keeps its updates until will-quit.
  app.on('before-quit', () => windows.setQuitting(true));
  // before-quit lets the window really close; will-quit (after it closed) stops the core within
  // the grace period, then app.exit — see quit.ts.
  app.on(
    'will-quit',
    createWillQuitHandler({
      stopCore: async () => {
        clearInterval(timer);
        // The core stops intake, lets running work finish, closes the store and exits 0; killed only past the grace.
        const stopped = await core.stop(STOP_GRACE_MS);
        if (stopped.killed) throw new Error(`служба Спутника не остановилась за ${STOP_GRACE_MS} мс и завершена принудительно`);
        if (!stopped.clean) throw new Error(`служба Спутника остановилась с ошибкой (код ${stopped.code ?? stopped.signal})`);
      },
      exit: (code) => {
        shellRefs?.tray.destroy();
        shellRefs = undefined;
        app.exit(code);
      },
      log: (message) => console.error(message),
      // Past the supervisor's own bound (grace + 2 s to exit + 2 s after a kill).
      timeoutMs: STOP_GRACE_MS + 5000,
    }),
  );

  const startedAtLogin = process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
  if (!isHiddenLaunch(process.argv) && !startedAtLogin) await windows.show();
}

// A second copy would fight the first for the ports and the store; it wakes the first and quits.
const instance = new SingleInstance(app);
if (instance.primary) {
  run(instance).catch((error: unknown) => {
    console.error(error);
    app.exit(1);
  });
}
