import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Dialog, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * «Настройки» as the person setting Sputnik up sees them: the real `sputnik serve --sandbox`
 * serving the built renderer to Debian chromium at 1366×768.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'main/cli.ts');
const CHROMIUM = '/usr/bin/chromium';
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;
const RESULTS = join(ROOT, 'test-results');
const SLOW = { timeout: 20_000 };
const TESTED = 'Passteam не принял токен: проверьте его в личном кабинете Passteam';

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
  const child = spawn(process.execPath, [CLI, 'serve', '--sandbox', '--data-dir', dataDir, '--port', '0', '--ui-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
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
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
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

async function shot(name: string, fullPage = true): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name), fullPage });
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

/** The next dialog the page opens (confirm, beforeunload), answered with `accept`. */
function nextDialog(accept: boolean): Promise<Dialog> {
  return new Promise((resolve) => {
    page.once('dialog', (d) => {
      void (accept ? d.accept() : d.dismiss()).then(() => resolve(d));
    });
  });
}

const nav = (title: string) => page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: title, exact: true });
const heading = (title: string) => page.getByRole('heading', { level: 2, name: title, exact: true });
const passteamForm = () => page.getByRole('form', { name: 'Passteam (электронные карты)' });
const tenantsForm = () => page.getByRole('form', { name: 'ReGate: базы 1С для Richest.store' });

async function openSettings(): Promise<void> {
  await nav('Настройки').click();
  await expect.poll(() => heading('Настройки').isVisible()).toBe(true);
  await expect.poll(() => passteamForm().isVisible()).toBe(true);
}

async function setUp(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium» (npm test ставит его сам, где может)`);
  ensureRendererBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'sputnik-e2e-settings-'));
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, LANG: 'ru_RU.UTF-8', LANGUAGE: 'ru' },
    args: ['--headless', '--lang=ru-RU', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU' });
  page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Refused saves (422) are on purpose here.
    if (m.type() === 'error' && !/status of (422)/.test(m.text())) pageProblems.push(`console: ${m.text()}`);
  });
  await page.goto(uiUrl);
  await heading('Обзор').waitFor(SLOW);
}

describe('«Настройки» in the window (sandbox)', () => {
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

  it('a token tried with «Проверить соединение»: refused in plain words, nothing paused; the answer goes away once the field is edited', async () => {
    await openSettings();
    const form = passteamForm();
    const token = form.getByLabel('Токен', { exact: true });
    await token.fill('typo-token');
    await form.getByRole('button', { name: 'Проверить соединение' }).click();
    const result = form.locator('.test-result');
    await expect.poll(() => result.textContent(), SLOW).toContain(TESTED);
    const text = (await result.textContent()) ?? '';
    expect(text).toMatch(/^Проверка не прошла\./);
    expect(text).toContain('сохранённые настройки не изменились');
    expect(text).not.toMatch(/приостановлен/i);
    expect(await form.locator('.unsaved').textContent()).toBe('Есть несохранённые изменения');
    // Nothing was paused: the saved token goes on working.
    const health = await admin<{ connectors: Record<string, { state: string }> }>('/api/health');
    expect(health.body.connectors.passteam.state).toBe('ok');
    await shot('settings.png', false);

    // An edit makes that answer stale: it is gone.
    await token.press('End');
    await token.pressSequentially('2');
    await expect.poll(() => result.count()).toBe(0);
    // A check still running when the field changes does not come back with the old values' answer.
    await form.getByRole('button', { name: 'Проверить соединение' }).click();
    await token.pressSequentially('3');
    await expect.poll(() => form.getByRole('button', { name: 'Проверить соединение' }).isEnabled()).toBe(true);
    await admin('/api/health'); // one round trip later the stale answer would have landed
    expect(await result.count()).toBe(0);
  });

  it('unsaved changes: leaving for another page asks first; «stay» keeps them, «leave» drops them; a reload asks the browser way', async () => {
    await openSettings();
    await passteamForm().getByLabel('Токен', { exact: true }).fill('typo-token23');
    let asked = nextDialog(false);
    await nav('Обзор').click();
    const stay = await asked;
    expect(stay.type()).toBe('confirm');
    expect(stay.message()).toBe('Изменения в настройках (Passteam) не сохранены и пропадут. Уйти со страницы?');
    expect(await heading('Настройки').isVisible()).toBe(true);
    expect(page.url()).toMatch(/#\/settings$/);
    expect(await passteamForm().getByLabel('Токен', { exact: true }).inputValue()).toBe('typo-token23');

    // Closing or reloading the window: the browser's own question.
    asked = nextDialog(false);
    void page.evaluate(() => location.reload());
    expect((await asked).type()).toBe('beforeunload');
    expect(await passteamForm().getByLabel('Токен', { exact: true }).inputValue()).toBe('typo-token23');

    asked = nextDialog(true);
    await nav('Обзор').click();
    await asked;
    await expect.poll(() => heading('Обзор').isVisible()).toBe(true);
    await openSettings();
    expect(await passteamForm().getByLabel('Токен', { exact: true }).inputValue()).toBe('');
    // Nothing unsaved: no question at all.
    let questions = 0;
    const count = () => void questions++;
    page.on('dialog', count);
    await nav('Журнал').click();
    await expect.poll(() => heading('Журнал').isVisible()).toBe(true);
    page.off('dialog', count);
    expect(questions).toBe(0);
  });

  it('ReGate tenants: listed with passwords only as «задан», added with field errors named in Russian, saved with a restart note, removed', async () => {
    await openSettings();
    const form = tenantsForm();
    const sandbox = form.getByRole('group', { name: 'База «sandbox»' });
    await expect.poll(() => sandbox.isVisible()).toBe(true);
    expect(await sandbox.getByLabel('Код базы').isEditable()).toBe(false);
    expect(await sandbox.getByLabel('Пароль для Richest.store').inputValue()).toBe('');
    expect(await sandbox.locator('#regate-0-password-hint').textContent()).toBe('задан; оставьте пустым, чтобы не менять');

    await form.getByRole('button', { name: 'Добавить базу' }).click();
    const fresh = form.getByRole('group', { name: 'Новая база' });
    await expect.poll(() => fresh.getByLabel('Код базы').evaluate((e) => e === document.activeElement)).toBe(true);
    await fresh.getByLabel('Код базы').fill('shop2');
    await fresh.getByLabel('Адрес HTTP-сервиса ReGate в 1С').fill('1c.local/shop2');
    await fresh.getByLabel('Пользователь 1С').fill('svc2');
    await fresh.getByLabel('Логин для Richest.store').fill('richest-shop2');
    await form.getByRole('button', { name: 'Сохранить базы ReGate' }).click();
    const urlError = fresh.locator('.field-invalid .field-error');
    await expect.poll(() => urlError.textContent()).toBe('нужен адрес вида https://host или http://127.0.0.1:порт');

    await fresh.getByLabel('Адрес HTTP-сервиса ReGate в 1С').fill('https://1c.local/shop2/hs/regate/v1');
    await form.getByRole('button', { name: 'Сохранить базы ReGate' }).click();
    // No password for a new base: the server names the field, shown under it.
    await expect.poll(() => urlError.textContent(), SLOW).toBe('Настройка «regate.tenants[1].password»: обязательное поле не заполнено');
    expect(await fresh.getByLabel('Пароль для Richest.store').evaluate((e) => e === document.activeElement)).toBe(true);
    await fresh.getByLabel('Пароль для Richest.store').fill('shop2-secret-pass');
    await form.getByRole('button', { name: 'Сохранить базы ReGate' }).click();
    await expect.poll(() => form.locator('.ok-text').textContent(), SLOW).toBe('Сохранено. ReGate применит изменения после перезапуска Спутника.');
    await expect.poll(() => page.locator('.settings-restart').textContent()).toContain('ReGate');
    const saved = form.getByRole('group', { name: 'База «shop2»' });
    expect(await saved.locator('#regate-1-password-hint').textContent()).toBe('задан; оставьте пустым, чтобы не менять');
    const view = await admin<{ config: { regate: { tenants: Array<{ id: string }> } } }>('/api/settings');
    expect(view.body.config.regate.tenants.map((t) => t.id)).toEqual(['sandbox', 'shop2']);
    expect(JSON.stringify(view.body)).not.toContain('shop2-secret-pass');
    await saved.scrollIntoViewIfNeeded();
    await form.screenshot({ path: join(RESULTS, 'settings-regate.png') });

    await saved.getByRole('button', { name: 'Убрать базу «shop2»' }).click();
    expect(await form.locator('.unsaved').textContent()).toBe('Есть несохранённые изменения');
    await form.getByRole('button', { name: 'Сохранить базы ReGate' }).click();
    await expect.poll(() => form.locator('.ok-text').textContent(), SLOW).toMatch(/^Сохранено/);
    expect((await admin<{ config: { regate: { tenants: Array<{ id: string }> } } }>('/api/settings')).body.config.regate.tenants.map((t) => t.id)).toEqual(['sandbox']);
  });

  it('a saved token Passteam refuses: the form says sending is paused until the settings change', async () => {
    await openSettings();
    const form = passteamForm();
    await form.getByLabel('Токен', { exact: true }).fill('saved-wrong-token');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await expect.poll(() => form.locator('.ok-text').textContent(), SLOW).toMatch(/^Сохранено/);
    const listener = (await admin<{ token: string }>('/api/listener')).body;
    const r = await fetch(`${listenerUrl}/v1/cards/E2E-SETTINGS-1?wait=0`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ holder: { name: 'Смирнова Анна', phone: '+79165550909' } }),
    });
    expect(r.status).toBe(202);
    const refused = form.locator('.settings-refused');
    await expect.poll(() => refused.textContent(), SLOW).toMatch(/^Отправка приостановлена до изменения настроек\. Сохранённые настройки не приняты: Passteam не принял токен/);
    await form.scrollIntoViewIfNeeded();
    await form.screenshot({ path: join(RESULTS, 'settings-saved-token.png') });
    expect(pageProblems).toEqual([]);
  });
});
