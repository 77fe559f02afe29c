import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What an operator sees: the real `sputnik serve --sandbox` serving the built renderer to
 * Debian chromium. Needs out/renderer (built here if missing) and /usr/bin/chromium.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'main/cli.ts');
const CHROMIUM = '/usr/bin/chromium';
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;
const BANNER = 'Песочница — внешние сервисы поддельные';
const PROBE = 'e2e-probe-card';
const STATE_LABELS = ['выключен', 'работает', 'нет связи', 'приостановлен: проверьте настройки'];

let server: ChildProcess | undefined;
let output = '';
let dataDir = '';
let browser: Browser | undefined;
let page: Page;
let uiUrl = '';
let listenerUrl = '';
const pageProblems: string[] = [];

function ensureRendererBuilt(): void {
  if (existsSync(join(ROOT, 'out/renderer/index.html'))) return;
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'renderer/vite.config.ts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

function startServer(): Promise<void> {
  server = spawn(process.execPath, [CLI, 'serve', '--sandbox', '--data-dir', dataDir, '--port', '0', '--ui-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve printed no UI/listener URL within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const ui = UI_URL_RE.exec(output);
      const listener = LISTENER_RE.exec(output);
      if (ui && listener) {
        uiUrl = ui[0];
        listenerUrl = listener[1];
        clearTimeout(timer);
        ready();
      }
    };
    server!.stdout!.on('data', onData);
    server!.stderr!.on('data', onData);
    server!.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`serve exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

function stopServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Data rows of the journal table (the "nothing found" placeholder row has a single cell). */
function journalRows(p: Page) {
  return p.getByRole('table', { name: 'Журнал обменов' }).locator('tbody tr:has(td:nth-child(7))');
}

describe('UI in service mode (sandbox)', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    ensureRendererBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'sputnik-e2e-'));
    await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'ru-RU' });
    page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageProblems.push(`console: ${m.text()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stopServer();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('logs in by the printed link and shows the sandbox banner, status and the journal', async () => {
    expect((await fetch(`${listenerUrl}/v1/health`)).status).toBe(200);
    // A second, different exchange so the search below has something to filter out.
    expect((await fetch(`${listenerUrl}/v1/cards/${PROBE}`)).status).toBe(401);

    await page.goto(uiUrl);
    // The login link trades the token for a cookie and drops it from the address bar.
    expect(new URL(page.url()).search).toBe('');

    await expect.poll(() => page.getByText(BANNER, { exact: true }).isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Спутник');
    await expect.poll(() => page.locator('.version').textContent()).toMatch(/^версия \d+\.\d+\.\d+/);

    const status = page.getByRole('region', { name: 'Состояние' });
    await expect.poll(() => status.getByText(listenerUrl).isVisible()).toBe(true);
    for (const name of ['Passteam', 'PayKeeper', 'Docpart']) {
      const row = status.locator('li.connector', { hasText: name });
      await expect.poll(() => row.locator('.connector-state').textContent()).toSatisfy((t) => STATE_LABELS.includes(String(t)));
    }
    await expect.poll(() => status.locator('.queue-depth').textContent()).toMatch(/^\d+$/);

    const healthRow = journalRows(page).filter({ hasText: '/v1/health' }).first();
    await expect.poll(() => healthRow.isVisible(), { timeout: 12_000 }).toBe(true);
    const cells = await healthRow.locator('td').allTextContents();
    expect(cells[1]).toBe('←');
    expect(cells[2]).toBe('1С');
    expect(cells[3]).toBe('GET');
    expect(cells[4]).toContain('/v1/health');
    expect(cells[5]).toBe('200');
    expect(cells[6]).toMatch(/^[\d\u00a0\u202f ]+(,\d)?$/);

    const probeRow = journalRows(page).filter({ hasText: PROBE }).first();
    await expect.poll(() => probeRow.locator('td:nth-child(6)').textContent()).toBe('401');
  });

  it('searching refetches the journal from the server and filters the rows', async () => {
    const search = page.getByRole('searchbox', { name: 'Поиск по журналу' });

    const filtered = page.waitForResponse((r) => r.url().includes('/api/journal') && r.url().includes('q=health'));
    await search.fill('health');
    await filtered;
    await expect.poll(async () => {
      const urls = await journalRows(page).locator('td:nth-child(5)').allTextContents();
      return urls.length > 0 && urls.every((u) => u.includes('health'));
    }).toBe(true);
    expect(await journalRows(page).filter({ hasText: PROBE }).count()).toBe(0);

    const none = page.waitForResponse((r) => r.url().includes('/api/journal') && r.url().includes('q=zzz-'));
    await search.fill('zzz-нет-такого-обмена');
    await none;
    await expect.poll(() => journalRows(page).count()).toBe(0);
    await expect.poll(() => page.getByText('Ничего не найдено').isVisible()).toBe(true);

    await search.fill('');
    await expect.poll(() => journalRows(page).filter({ hasText: PROBE }).count()).toBe(1);

    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/ui.png'), fullPage: true });
    // A CSP violation or a render crash shows up here even when the page still looks right.
    expect(pageProblems).toEqual([]);
  });
});
