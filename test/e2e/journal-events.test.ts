import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * The journal as a record of events, as a shop worker sees it: the real `sputnik serve --sandbox`
 * serving the built renderer to Debian chromium at 1366×768. Rows name what happened; a refusal
 * Passteam sent as HTTP 200 is an error; «Подробнее» unfolds the exchanges with decoded forms.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'main/cli.ts');
const CHROMIUM = '/usr/bin/chromium';
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;
const RESULTS = join(ROOT, 'test-results');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');

let server: ChildProcess | undefined;
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
  let output = '';
  server = spawn(process.execPath, [CLI, 'serve', '--sandbox', '--data-dir', dataDir, '--port', '0', '--ui-port', '0', '--regate-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function shot(name: string, keep = false): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name) });
  if (keep) copyFileSync(join(RESULTS, name), join(SCREENSHOTS, name));
}

/** The admin API through the page's own session cookie. */
function adminGet<T>(path: string): Promise<T> {
  return page.evaluate(async (p) => (await (await fetch(p)).json()) as T, path);
}

let listener = { url: '', token: '' };
function putCard(code: string, phone: string, name: string) {
  return fetch(`${listener.url}/v1/cards/${encodeURIComponent(code)}?wait=5`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ holder: { name, phone } }),
  });
}

const table = () => page.getByRole('table', { name: 'Журнал событий' });
/** Event rows (an unfolded event's detail row has a single cell). */
const rows = () => table().locator('tbody tr:has(td:nth-child(5))');
const row = (title: string) => rows().filter({ has: page.locator('.event-title', { hasText: title }) }).first();

describe('the journal as a record of events (sandbox, chromium)', () => {
  let setupError: unknown = null;
  beforeAll(async () => {
    setupError = await (async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium»`);
      ensureRendererBuilt();
      dataDir = mkdtempSync(join(tmpdir(), 'sputnik-e2e-journal-'));
      await startServer();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        env: { ...process.env, LANG: 'ru_RU.UTF-8', LANGUAGE: 'ru' },
        args: ['--headless', '--lang=ru-RU', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU' });
      page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') pageProblems.push(`console: ${m.text()}`);
      });
      await page.goto(uiUrl);
      listener = await adminGet('/api/listener');
    })().then(
      () => null,
      (e: unknown) => e,
    );
  }, 60_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await browser?.close();
    await stopServer();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('rows name what happened; a Passteam refusal sent as HTTP 200 is an error and is under «только ошибки»', async () => {
    expect(listener.url).toBe(listenerUrl);
    expect((await putCard('2000000000001', '+79161234567', 'Петров Иван')).status).toBe(200);
    expect((await putCard('0000103', '+7 916 123-45-67', 'Сидорова Анна')).status).toBe(409);

    await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Журнал', exact: true }).click();
    const refusal = row('Карта 0000103 → Passteam');
    await expect.poll(() => refusal.isVisible(), { timeout: 10_000 }).toBe(true);
    const cells = await refusal.locator('td').allTextContents();
    expect(cells[0]).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$/);
    expect(cells[1]).toBe('→');
    expect(cells[2]).toBe('Passteam');
    expect(cells[3]).toMatch(/^Карта 0000103 → Passteamотказ: Этот номер телефона уже привязан к другой карте в Passteam — телефон \+79161234567 у карты 2000000000001\. /);
    expect(cells[4]).toBe('ошибка');
    const delivered = row('Карта 2000000000001 → Passteam');
    expect(await delivered.locator('td').nth(3).textContent()).toBe('Карта 2000000000001 → Passteamотправлена');
    expect(await delivered.locator('td').nth(4).textContent()).toBe('успешно');
    // The sandbox's Docpart pull: one row with what it found, not one per request.
    const pull = row('Загрузка заказов Docpart');
    await expect.poll(() => pull.locator('td').nth(3).textContent(), { timeout: 20_000 }).toMatch(/загружено: заказов \d+/);
    expect(await rows().filter({ hasText: 'Загрузка заказов Docpart' }).count()).toBe(1);
    expect(await pull.locator('td').nth(5).textContent()).toMatch(/^Подробнее\d+ обмен(а|ов)?$/);

    // Every system is in the filter, ReGate too.
    expect(await page.getByLabel('Система').locator('option').allTextContents()).toEqual(['все', '1С', 'Passteam', 'PayKeeper', 'Docpart', 'ReGate']);

    await page.getByLabel('Итог').selectOption('failed');
    await expect.poll(async () => (await rows().locator('td:nth-child(5)').allTextContents()).every((t) => t === 'ошибка')).toBe(true);
    await expect.poll(() => row('Карта 0000103 → Passteam').isVisible()).toBe(true);
    expect(await row('Карта 2000000000001 → Passteam').count()).toBe(0);
  });

  it('«Подробнее» unfolds the exchanges: the answer that meant a refusal, the form decoded, the raw answer', async () => {
    // Still «только ошибки»: the refusal near the top, as the accountant looking for problems sees it.
    const refusal = row('Карта 0000103 → Passteam');
    await refusal.getByRole('button', { name: 'Подробнее: Карта 0000103 → Passteam' }).click();
    const detail = page.getByRole('region', { name: 'Подробности: Карта 0000103 → Passteam' });
    await expect.poll(() => detail.isVisible()).toBe(true);
    // A refusal of the data: «Повторить» would fail the same way, so it is not offered.
    expect(await detail.getByRole('button', { name: 'Повторить' }).count()).toBe(0);
    expect(new URL(page.url()).hash).toMatch(/^#\/journal\/\d+$/);
    const exchange = detail.locator('li.exchange');
    await expect.poll(() => exchange.count()).toBe(1);
    expect(await exchange.locator('summary').textContent()).toMatch(/→ POST http:\/\/127\.0\.0\.1:\d+\/oapi\/v1\/createcard — 200 \(ответ означает отказ\)/);
    await exchange.locator('summary').click();
    const form = exchange.getByRole('table', { name: 'Поля формы' });
    await expect.poll(() => form.isVisible()).toBe(true);
    expect(await form.locator('tr', { hasText: 'values[%CLIENT_NAME%]' }).locator('td').textContent()).toBe('Сидорова Анна');
    expect(await form.locator('tr', { hasText: 'values[%PHONE%]' }).locator('td').textContent()).toBe('+79161234567');
    expect(await exchange.locator('pre.body').textContent()).toMatch(/"code": 409/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('journal-events.png', true);

    // The Docpart pull unfolds into its many requests.
    await page.getByLabel('Итог').selectOption('');
    const pull = row('Загрузка заказов Docpart');
    await pull.getByRole('button', { name: 'Подробнее: Загрузка заказов Docpart' }).click();
    const pullDetail = page.getByRole('region', { name: 'Подробности: Загрузка заказов Docpart' });
    await expect.poll(() => pullDetail.locator('li.exchange').count()).toBeGreaterThan(3);
    expect(await pullDetail.locator('.event-counts').textContent()).toMatch(/Заказов: \d+/);
    // Docpart has one address for everything: each request says what it asked for.
    expect(await pullDetail.locator('li.exchange summary').first().textContent()).toMatch(/→ заказы · POST /);
    await pullDetail.scrollIntoViewIfNeeded();
    await shot('journal-events-pull.png');
    await pull.getByRole('button', { name: 'Подробнее: Загрузка заказов Docpart' }).click();
    await expect.poll(() => pullDetail.count()).toBe(0);
    expect(pageProblems).toEqual([]);
  });
});
