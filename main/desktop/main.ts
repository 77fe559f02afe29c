import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, shell, Tray, type NativeImage } from 'electron';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Autostart, isHiddenLaunch } from './autostart.ts';
import { startDesktopCore, type DesktopCore } from './core.ts';
import { trayIconPng } from './icons.ts';
import { registerIpc } from './ipc.ts';
import { defaultDataDir, logsDir, userConfigFile } from '../config/paths.ts';
import { createWillQuitHandler } from './quit.ts';
import type { TrayState } from './status.ts';
import { TrayService } from './tray.ts';
import { WindowService, loginUrl } from './window.ts';

/** Electron entry: the core in-process, one tray icon, one window. Logic lives in the modules. */
const HEALTH_EVERY_MS = 5000;
const STOP_GRACE_MS = 10_000;
const here = dirname(fileURLToPath(import.meta.url));

function icon(state: TrayState): NativeImage {
  const image = nativeImage.createFromBuffer(trayIconPng(state, 16), { scaleFactor: 1 });
  image.addRepresentation({ scaleFactor: 2, buffer: trayIconPng(state, 32) });
  return image;
}

async function run(): Promise<void> {
  await app.whenReady();
  if (process.platform === 'win32') app.setAppUserModelId('ru.sputnik.app');
  const env = process.env;
  const home = homedir();
  const dataDir = defaultDataDir(env, process.platform, home);
  const logs = logsDir(dataDir, process.platform);

  let desktop: DesktopCore;
  try {
    desktop = await startDesktopCore({
      configFile: userConfigFile(env, process.platform, home),
      dataDir,
      rendererDir: join(here, '../renderer'),
    });
  } catch (error) {
    dialog.showErrorBox('Спутник не запустился', (error as Error).message);
    app.exit(1);
    return;
  }
  const { running } = desktop;

  const windows = new WindowService({
    createWindow: (options) => new BrowserWindow(options),
    preloadPath: join(here, '../preload/index.cjs'),
    url: loginUrl(running.uiUrl, running.uiToken),
    openExternal: (url) => void shell.openExternal(url),
  });
  const autostart = new Autostart({
    app,
    platform: process.platform,
    linux: {
      desktopFile: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', 'sputnik.desktop'),
      // An AppImage runs from a temporary mount; only $APPIMAGE survives a reboot.
      execPath: env.APPIMAGE || process.execPath,
      fs: { existsSync, mkdirSync, writeFileSync, rmSync },
    },
  });
  const showLogsFolder = async (): Promise<void> => {
    mkdirSync(logs, { recursive: true });
    const problem = await shell.openPath(logs);
    if (problem) throw new Error(`Не удалось открыть папку журналов ${logs}: ${problem}`);
  };
  const tray = new TrayService({
    createTray: (image) => new Tray(image),
    buildMenu: (items) => Menu.buildFromTemplate(items),
    icons: { ok: icon('ok'), problem: icon('problem'), sandbox: icon('sandbox') },
    getAutostart: () => autostart.get(),
    actions: {
      open: () => void windows.show(),
      setAutostart: (on) => {
        autostart.set(on);
        tray.refresh();
      },
      openLogsFolder: () => void showLogsFolder().catch((e: Error) => dialog.showErrorBox('Спутник', e.message)),
      quit: () => app.quit(),
    },
  });

  registerIpc(
    ipcMain,
    {
      connection: () => ({ baseUrl: new URL(running.uiUrl).origin, token: running.uiToken }),
      getAutostart: () => autostart.get(),
      setAutostart: (on) => {
        const now = autostart.set(on);
        tray.refresh();
        return now;
      },
      showLogsFolder,
      quit: () => app.quit(),
    },
    new URL(running.uiUrl).origin,
  );

  const poll = (): void => {
    try {
      tray.update(desktop.core.health(true));
    } catch (error) {
      tray.update(error as Error);
    }
  };
  poll();
  const timer = setInterval(poll, HEALTH_EVERY_MS);

  app.on('second-instance', () => void windows.show());
  // The app lives in the tray: closing the last window must not quit it.
  app.on('window-all-closed', () => {});
  app.on('before-quit', () => {
    windows.setQuitting(true);
    clearInterval(timer);
  });
  app.on(
    'will-quit',
    createWillQuitHandler({
      stopCore: () => desktop.stop(STOP_GRACE_MS),
      exit: (code) => {
        tray.destroy();
        app.exit(code);
      },
      log: (message) => console.error(message),
      timeoutMs: STOP_GRACE_MS + 2000,
    }),
  );

  const startedAtLogin = process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
  if (!isHiddenLaunch(process.argv) && !startedAtLogin) await windows.show();
}

// A second copy would fight the first for the ports and the store; it wakes the first instead.
if (app.requestSingleInstanceLock()) {
  run().catch((error: unknown) => {
    console.error(error);
    app.exit(1);
  });
} else {
  app.quit();
}
