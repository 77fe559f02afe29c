import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * «Требует внимания» and «Спутник не отвечает» as a shop worker sees them: the real
 * `sputnik serve --sandbox` serving the built renderer to Debian chromium at 1366×768.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'main/cli.ts');
const CHROMIUM = '/usr/bin/chromium';
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:(\d+)\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;
const RESULTS = join(ROOT, 'test-results');
/** Generous: the banner's 3 s is the product's heartbeat setting, not what this test measures. */
const SLOW = { timeout: 20_000 };

let server: ChildProcess | undefined;
let dataDir = '';
let browser: Browser | undefined;
let page: Page;
let uiUrl = '';
let uiPort = '';
const pageProblems: string[] = [];

function ensureRendererBuilt(): void {
  if (existsSync(join(ROOT, 'out/renderer/index.html'))) return;
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'renderer/vite.config.ts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * `sputnik serve --sandbox` on this data folder; the window's port is kept across restarts.
 * ReGate takes any free port: another sandbox on this machine may hold its default.
 */
function startServer(): Promise<void> {
  let output = '';
  const child = spawn(process.execPath, [CLI, 'serve', '--sandbox', '--data-dir', dataDir, '--port', '0', '--ui-port', uiPort || '0', '--regate-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve printed no UI/listener URL within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const ui = UI_URL_RE.exec(output);
      if (ui && LISTENER_RE.test(output)) {
        uiUrl = ui[0];
        uiPort = ui[1];
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`serve exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

function stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill(signal);
  });
}

async function shot(name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name), fullPage: true });
}

async function openPage(title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: title, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 2, name: title, exact: true }).first().isVisible()).toBe(true);
}

/** The admin API through the page's own session cookie. */
function admin<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ({ path, init }) => {
      const r = await fetch(path, {
        method: init.method ?? 'GET',
        headers: init.method && init.method !== 'GET' ? { 'X-Sputnik-UI': '1', 'Content-Type': 'application/json' } : {},
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      return { status: r.status, body: (await r.json()) as T };
    },
    { path, init },
  );
}

let listener = { url: '', token: '' };
const attentionList = async () => (await admin<{ items: Array<{ ref: string }> }>('/api/attention')).body.items;
const total = async () => (await admin<{ total: number }>('/api/attention')).body.total;
const onec = (method: string, path: string, body: unknown) =>
  fetch(`${listener.url}${path}`, { method, headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function setUp(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium» (npm test ставит его сам, где может)`);
  ensureRendererBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'sputnik-e2e-attention-'));
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, LANG: 'ru_RU.UTF-8', LANGUAGE: 'ru' },
    args: ['--headless', '--lang=ru-RU', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU' });
  page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs every failed request: the refused calls and the stopped server are on purpose here.
    if (m.type() === 'error' && !/status of (404|409|422)|net::ERR_/.test(m.text())) pageProblems.push(`console: ${m.text()}`);
  });
}

describe('«Требует внимания» and «Спутник не отвечает» in the window (sandbox)', () => {
  let setupError: unknown = null;
  beforeAll(async () => {
    setupError = await setUp().then(() => null, (e: unknown) => e);
  }, 60_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await browser?.close();
    await stopServer();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  const header = () => page.locator('header .attention-count');

  it('a phone-taken card, a refused invoice and a paused connector: counted in the header of every page, listed with what to do', async () => {
    await page.goto(uiUrl);
    listener = (await admin<{ url: string; token: string }>('/api/listener')).body;
    await expect.poll(() => header().isVisible(), SLOW).toBe(true);

    // The phone belongs to another card in Passteam.
    expect((await onec('PUT', '/v1/cards/E2E-ВН-1?wait=5', { holder: { name: 'Орлова Мария', phone: '+79165550101' } })).status).toBe(200);
    expect((await onec('PUT', '/v1/cards/E2E-ВН-2?wait=5', { holder: { name: 'Соколов Иван', phone: '8 916 555-01-01' } })).status).toBe(409);
    // An invoice refused at the door: a zero amount.
    expect((await onec('POST', '/v1/invoices?wait=0', { orderId: 'E2E-ВН-СЧЁТ', amount: '0', email: 'buyer@example.ru' })).status).toBe(422);
    // Passteam refuses the token: sending pauses.
    expect((await admin('/api/settings', { method: 'PUT', body: { passteam: { token: 'wrong-token-e2e' } } })).status).toBe(200);
    expect((await onec('PUT', '/v1/cards/E2E-ВН-3?wait=0', { holder: { name: 'Кузнецова Ольга', phone: '+79165550303' } })).status).toBe(202);

    const refs = ['card:E2E-ВН-2', 'refusal:invoice:E2E-ВН-СЧЁТ', 'connector:passteam'];
    await expect
      .poll(async () => {
        const items = await attentionList();
        return refs.filter((r) => items.some((i) => i.ref === r));
      }, SLOW)
      .toEqual(refs);
    // The sandbox's own data may need attention too (what else is listed is not this test's business).
    for (const title of ['Обзор', 'Карты', 'Журнал']) {
      await openPage(title);
      await expect.poll(async () => (await header().textContent()) === `Требует внимания: ${await total()}`, SLOW).toBe(true);
    }

    // Обзор does not say «всё отправлено»: it says how many things need attention, with a link.
    await openPage('Обзор');
    const status = page.getByRole('region', { name: 'Состояние' });
    await expect.poll(async () => (await status.locator('.overview-attention').textContent()) === `Требует внимания: ${await total()} — открыть список и исправить`, SLOW).toBe(true);
    expect(await status.getByText('всё отправлено').count()).toBe(0);

    await shot('attention-overview.png');
    await status.getByRole('link', { name: 'открыть список и исправить' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 2, name: 'Требует внимания', exact: true }).isVisible()).toBe(true);
    const list = page.getByRole('region', { name: 'Требует внимания' });

    const card = list.getByRole('listitem', { name: 'Карта E2E-ВН-2 (Соколов Иван)' });
    await expect.poll(() => card.isVisible(), SLOW).toBe(true);
    expect(await card.locator('.attention-reason').textContent()).toMatch(/номер телефона уже привязан к другой карте/);
    expect(await card.locator('.attention-fix').textContent()).toBe('Что сделать: Проверьте телефон владельца карты в 1С: укажите его собственный мобильный номер и запишите карту ещё раз');
    expect(await card.getByRole('button', { name: /Повторить/ }).count()).toBe(0); // a retry cannot make the phone free
    // Nor does the card's own detail offer it: it says that resending will not help and what to do.
    await openPage('Карты');
    await page.getByRole('searchbox', { name: 'Поиск карт' }).fill('E2E-ВН-2');
    await page.getByRole('table', { name: 'Карты' }).getByRole('link', { name: 'E2E-ВН-2' }).click();
    const cardDetail = page.getByRole('complementary', { name: 'Карта E2E-ВН-2' });
    await expect.poll(() => cardDetail.getByText('Повторная отправка не поможет', { exact: false }).isVisible(), SLOW).toBe(true);
    expect(await cardDetail.getByRole('button', { name: 'Повторить' }).count()).toBe(0);
    await openPage('Требует внимания');

    const invoice = list.getByRole('listitem', { name: 'Счёт по заказу E2E-ВН-СЧЁТ' });
    await expect.poll(() => invoice.locator('.attention-reason').textContent()).toMatch(/^Спутник не принял запрос из 1С: .*amount/);
    expect(await invoice.locator('.attention-fix').textContent()).toBe('Что сделать: Исправьте сумму в счёте в 1С и выставьте счёт снова');

    const passteam = list.getByRole('listitem', { name: 'Passteam' });
    await expect.poll(() => passteam.locator('.attention-reason').textContent(), SLOW).toMatch(/Passteam не принял токен/);
    const settingsLink = passteam.getByRole('link', { name: 'Открыть настройки Passteam' });
    expect(await settingsLink.getAttribute('href')).toBe('#/settings/passteam');
    await shot('attention.png');

    // The operator takes the refused invoice off the list (1C may never send that order again).
    await invoice.getByRole('button', { name: 'Убрать из списка' }).click();
    await expect.poll(() => invoice.count()).toBe(0);
    expect((await attentionList()).some((i) => i.ref === 'refusal:invoice:E2E-ВН-СЧЁТ')).toBe(false);
    await expect.poll(async () => (await header().textContent()) === `Требует внимания: ${await total()}`, SLOW).toBe(true);

    // The settings link opens the Passteam form itself.
    await settingsLink.click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id ?? '')).toMatch(/^set-passteam-/);
  });

  it('Sputnik hung (no connection is closed, only the heartbeat stops): the banner still comes, and goes when it runs again', async () => {
    await openPage('Обзор');
    const banner = page.locator('.link-banner[role="alert"]').filter({ hasText: 'Спутник не отвечает' });
    await expect.poll(() => header().isVisible(), SLOW).toBe(true);
    expect(await banner.count()).toBe(0);
    server!.kill('SIGSTOP');
    try {
      await expect.poll(() => banner.isVisible(), SLOW).toBe(true);
    } finally {
      server!.kill('SIGCONT');
    }
    await expect.poll(() => banner.count(), SLOW).toBe(0);
  });

  it('Sputnik killed: every page says «Спутник не отвечает» and dims what it shows as of that moment; restarted: the banner goes by itself', async () => {
    await openPage('Карты');
    const banner = page.locator('.link-banner[role="alert"]').filter({ hasText: 'Спутник не отвечает' });
    expect(await banner.count()).toBe(0);
    await stopServer('SIGKILL');

    await expect.poll(() => banner.isVisible(), SLOW).toBe(true);
    expect(await banner.textContent()).toMatch(/данные на момент \d\d:\d\d:\d\d: они могут быть устаревшими\. Окно подключится само/);
    expect(await page.locator('.app.stale main').count()).toBe(1);
    await shot('connection-lost.png');
    // Every page, not just the one that was open.
    await openPage('Требует внимания');
    expect(await banner.isVisible()).toBe(true);

    await startServer();
    await expect.poll(() => banner.count(), SLOW).toBe(0);
    expect(await page.locator('.app.stale').count()).toBe(0);
    // Live again, without a reload or a new login: the list answers from the restarted Sputnik.
    await expect.poll(() => page.getByRole('region', { name: 'Требует внимания' }).getByRole('listitem', { name: 'Карта E2E-ВН-2 (Соколов Иван)' }).isVisible(), SLOW).toBe(true);
    await expect.poll(() => header().textContent(), SLOW).toMatch(/^Требует внимания: \d+$/);
    expect(pageProblems).toEqual([]);
  });
});
