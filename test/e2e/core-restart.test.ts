import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { CoreStatus } from '../../preload/bridge.ts';
import { openBrowser, setUpWindow, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * The window of the desktop app while its core is down: the real `sputnik serve --sandbox` serving
 * the built renderer to chromium, with a stand-in for the desktop's preload bridge (`window.sputnik`)
 * whose core status the test sets and whose «Перезапустить службу» starts the server again, as
 * the shell's CoreWatch.restart does (tested with the real supervisor in
 * test/integration/desktop-core-process.test.ts).
 */
const SLOW = { timeout: 20_000 };

let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];
let status: CoreStatus = { state: 'ok', line: 'Всё работает', down: false, restart: false };
let restarts = 0;

async function setUp(): Promise<void> {
  server = await startSandbox('core-restart');
  ({ browser, page } = await openBrowser(pageProblems, { allowConsole: /net::ERR_/ }));
  await page.exposeFunction('e2eCoreStatus', () => status);
  await page.exposeFunction('e2eRestartCore', async () => {
    restarts++;
    await server!.start();
    status = { state: 'ok', line: 'Всё работает', down: false, restart: false };
    return status;
  });
  // The bridge's shape (preload/bridge.ts); no connection: the page keeps its session cookie, as in a browser.
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, (...args: unknown[]) => Promise<unknown>> & { sputnik?: unknown };
    w.sputnik = Object.freeze({
      connection: () => null,
      getAutostart: async () => false,
      setAutostart: async (on: unknown) => on,
      showLogsFolder: async () => {},
      appVersion: async () => 'e2e',
      quit: async () => {},
      coreStatus: () => w.e2eCoreStatus(),
      restartCore: () => w.e2eRestartCore(),
    });
  });
}

describe('the desktop window while the core is down', () => {
  setUpWindow(setUp, () => ({ browser, server }));

  it('says what the shell knows, offers «Перезапустить службу» once the supervisor gave up, and is live again after it', async () => {
    await page.goto(server!.uiUrl);
    await expect.poll(() => page.locator('header .attention-count').isVisible(), SLOW).toBe(true);
    const banner = page.locator('.link-banner[role="alert"]').filter({ hasText: 'Спутник не отвечает' });
    const button = banner.getByRole('button', { name: 'Перезапустить службу' });

    // Crashed: the supervisor is restarting it by itself; nothing to press yet.
    status = { state: 'warning', line: 'Служба Спутника перезапускается после сбоя (попытка 1 из 5)', down: true, restart: false };
    await server!.stop('SIGKILL');
    await expect.poll(() => banner.textContent(), SLOW).toContain('Служба Спутника перезапускается после сбоя (попытка 1 из 5).');
    expect(await banner.textContent()).toMatch(/если этого долго не происходит, запустите Спутник заново\.$/);
    expect(await button.count()).toBe(0);

    // It gave up: the banner says so and offers the tray's restart.
    status = { state: 'problem', line: 'Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу', down: true, restart: true };
    await expect.poll(() => button.isVisible(), SLOW).toBe(true);
    expect(await banner.textContent()).toMatch(
      /^Спутник не отвечает\. Служба Спутника остановлена после 6 сбоев подряд — перезапустите службу\. Ниже — данные на момент \d\d:\d\d:\d\d: они могут быть устаревшими\. Окно подключится само, как только Спутник снова заработает\.Перезапустить службу$/,
    );
    await shot('core-restart.png');

    await button.click();
    await expect.poll(() => banner.count(), SLOW).toBe(0);
    expect(restarts).toBe(1);
    expect(await page.locator('.app.stale').count()).toBe(0);
    expect(pageProblems).toEqual([]);
  });
});

function shot(name: string) {
  return shotOf(page, name, { fullPage: true });
}
