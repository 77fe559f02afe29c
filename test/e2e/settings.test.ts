import { join } from 'node:path';
import type { Browser, Dialog, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { admin as adminOf, openBrowser, RESULTS, setUpWindow, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * «Настройки» as the person setting Sputnik up sees them: the real `sputnik serve --sandbox`
 * serving the built renderer to Debian chromium at 1366×768.
 */
const SLOW = { timeout: 20_000 };
const TESTED = 'Passteam не принял токен: проверьте его в личном кабинете Passteam';

let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

const shot = (name: string, fullPage = true) => shotOf(page, name, { fullPage });
const admin = <T>(path: string, init?: { method?: string; body?: unknown }) => adminOf<T>(page, path, init);

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
  server = await startSandbox('settings');
  // Refused saves (422) are on purpose here.
  ({ browser, page } = await openBrowser(pageProblems, { allowConsole: /status of (422)/ }));
  await page.goto(server.uiUrl);
  await heading('Обзор').waitFor(SLOW);
}

describe('«Настройки» in the window (sandbox)', () => {
  setUpWindow(setUp, () => ({ browser, server }));

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
    const r = await fetch(`${server!.listenerUrl}/v1/cards/E2E-SETTINGS-1?wait=0`, {
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
