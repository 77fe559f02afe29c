import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * Search as the operator types it, in lower case, in every list and the journal: the real
 * `sputnik serve --sandbox` serving the built renderer to Debian chromium at 1366×768 (as
 * ui.test.ts). Screenshots go to test-results/search-*.png; the cards' («елкина» → «Ёлкина») is docs/screenshots/search.png.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'main/cli.ts');
const CHROMIUM = '/usr/bin/chromium';
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;
const RESULTS = join(ROOT, 'test-results');

let server: ChildProcess | undefined;
let output = '';
let dataDir = '';
let browser: Browser | undefined;
let page: Page;
let uiUrl = '';
const pageProblems: string[] = [];

function ensureRendererBuilt(): void {
  if (existsSync(join(ROOT, 'out/renderer/index.html'))) return;
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'renderer/vite.config.ts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

function startServer(): Promise<void> {
  server = spawn(process.execPath, [CLI, 'serve', '--sandbox', '--data-dir', dataDir, '--port', '0', '--ui-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve printed no UI/listener URL within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const ui = UI_URL_RE.exec(output);
      if (ui && LISTENER_RE.test(output)) {
        uiUrl = ui[0];
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

async function setUp(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium» (npm test ставит его сам, где может)`);
  ensureRendererBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'sputnik-e2e-search-'));
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
}

/** The admin API through the page's own session cookie. */
function adminGet<T>(path: string): Promise<T> {
  return page.evaluate(async (p) => (await (await fetch(p)).json()) as T, path);
}

/** What 1C sends, through the listener with its token. */
async function onec(path: string, method: string, body?: unknown): Promise<number> {
  const listener = await adminGet<{ url: string; token: string }>('/api/listener');
  const r = await fetch(listener.url + path, { method, headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

async function openPage(title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: title, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 2, name: title, exact: true }).first().isVisible()).toBe(true);
}

/** Types `q` into the page's search box, waits for the list's answer to it, then for `row` in `table`. */
async function search(box: string, api: string, q: string, table: string, row: string): Promise<void> {
  const answered = page.waitForResponse((r) => r.url().includes(`/api/${api}?`) && new URL(r.url()).searchParams.get('q') === q);
  await page.getByRole('searchbox', { name: box }).fill(q);
  expect((await answered).status()).toBe(200);
  await expect.poll(() => page.getByRole('table', { name: table }).locator('tbody tr').filter({ hasText: row }).first().isVisible(), { timeout: 10_000 }).toBe(true);
}

async function shot(name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, name);
  await page.screenshot({ path });
  return path;
}

describe('search in the window, typed in lower case (sandbox)', () => {
  let setupError: unknown = null;
  beforeAll(async () => {
    setupError = await setUp().then(() => null, (e: unknown) => e);
    if (setupError) return;
    // What 1C would have sent: a card, an invoice; and one Docpart pull of the sandbox shop.
    expect(await onec('/v1/cards/E2E-S-1?wait=0', 'PUT', { holder: { name: 'Ёлкина Анна Петровна', phone: '+79160005501', email: 'elkina@example.ru' }, bonus: 120 })).toBe(202);
    expect(await onec('/v1/invoices?wait=0', 'POST', { invoices: [{ orderId: 'ЗК-0005', amount: '1500', email: 'buh@romashka.ru', clientId: 'ООО Ромашка', serviceName: 'Оплата заказа ЗК-0005 (дубль счёта)' }] })).toBe(202);
    expect(await onec('/v1/docpart/sync?wait=60', 'POST')).toBe(200);
  }, 90_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });

  afterAll(async () => {
    await browser?.close();
    await stopServer();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('cards: «елкина» finds «Ёлкина Анна Петровна»', async () => {
    await openPage('Карты');
    await search('Поиск карт', 'cards', 'елкина', 'Карты', 'E2E-S-1');
    const path = await shot('search-cards.png');
    mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true });
    copyFileSync(path, join(ROOT, 'docs/screenshots/search.png'));
  });

  it('invoices: «ромашка» finds the invoice of «ООО Ромашка»', async () => {
    await openPage('Счета');
    await search('Поиск счетов', 'invoices', 'ромашка', 'Счета', 'ЗК-0005');
    await shot('search-invoices.png');
  });

  it('Docpart: a buyer\'s surname in lower case finds their orders', async () => {
    const { orders } = await adminGet<{ orders: Array<{ orderId: number; buyer: string }> }>('/api/docpart/orders?limit=50');
    const buyer = orders.find((o) => o.buyer !== 'гость')!.buyer;
    const surname = buyer.split(' ')[0];
    await openPage('Заказы Docpart');
    await search('Поиск заказов', 'docpart/orders', surname.toLowerCase(), 'Заказы Docpart', buyer);
    const buyers = await page.getByRole('table', { name: 'Заказы Docpart' }).locator('tbody tr').allTextContents();
    expect(buyers.every((row) => row.toLowerCase().replace(/ё/g, 'е').includes(surname.toLowerCase().replace(/ё/g, 'е')))).toBe(true);
    await shot('search-docpart.png');
  });

  it('journal: «зк-0005» and «дубль» find 1C\'s invoice and PayKeeper\'s calls', async () => {
    await openPage('Журнал');
    // The journal lists events: 1C's call that sent the invoice, and the invoice's delivery to PayKeeper.
    await search('Поиск по журналу', 'journal', 'дубль', 'Журнал событий', 'Счета ← 1С');
    await search('Поиск по журналу', 'journal', 'зк-0005', 'Журнал событий', 'Счета ← 1С');
    await expect.poll(() => page.getByRole('table', { name: 'Журнал событий' }).locator('tbody tr').filter({ hasText: 'Счёт по заказу ЗК-0005 → PayKeeper' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot('search-journal.png');
    expect(pageProblems).toEqual([]);
  });
});
