import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureRendererBuilt, openBrowser } from '../helpers/e2e.ts';

// A connector registered only here (its one registration line): the window draws its settings
// section, its journal filter entry and its connector line from GET /api/meta, with no change to
// the renderer or anything else (test/fixtures/sample-connector/).
vi.mock('../../main/connectors/index.ts', async (importOriginal) => (await import('../fixtures/sample-connector/registered.ts')).withSample(importOriginal));

const { startTestCore } = await import('../helpers/core.ts');
const { sample } = await import('../fixtures/sample-connector/module.ts');

const SLOW = { timeout: 20_000 };

let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

beforeAll(async () => {
  ensureRendererBuilt();
  ({ browser, page } = await openBrowser(pageProblems, { allowConsole: false }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('a connector registered with one line, in the window', () => {
  it('has its settings section (fields, kinds, write-only secret), its journal system and its connector line', async () => {
    const t = await startTestCore({ config: { sample: { enabled: true, baseUrl: 'http://127.0.0.1:9', apiKey: 'KEY-OLD' } } as object, modules: [sample] });
    await page.goto(t.uiLoginUrl);
    await page.getByRole('heading', { level: 2, name: 'Обзор', exact: true }).waitFor(SLOW);
    // Its line in the overview, by its title, with «Приостановить отправку» (it is pausable).
    const line = page.getByRole('listitem', { name: 'Образец' });
    await line.waitFor(SLOW);
    expect(await line.getByRole('button', { name: 'Приостановить отправку' }).isVisible()).toBe(true);
    // No page of its own: the menu is the core's and the other modules'.
    expect(await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Образец' }).count()).toBe(0);

    await page.goto(`${t.uiUrl}#/settings/sample`);
    const form = page.getByRole('form', { name: 'Образец (тестовый коннектор)' });
    await form.waitFor(SLOW);
    expect(await form.getByLabel('Включён').isChecked()).toBe(true);
    expect(await form.getByLabel('Адрес сервиса').getAttribute('type')).toBe('url');
    expect(await form.getByLabel('Адрес сервиса').inputValue()).toBe('http://127.0.0.1:9');
    expect(await form.getByLabel('Ключ API').getAttribute('type')).toBe('password');
    expect(await form.getByLabel('Ключ API').getAttribute('placeholder')).toBe('задан; введите новый, чтобы заменить');
    expect(await form.getByLabel('Ключ API').inputValue()).toBe('');
    const batch = form.getByLabel('Образцов за раз');
    expect([await batch.getAttribute('type'), await batch.getAttribute('min'), await batch.getAttribute('max'), await batch.inputValue()]).toEqual(['number', '1', '50', '10']);

    // A new secret is saved through the form and comes back only as «задан».
    await form.getByLabel('Ключ API').fill('KEY-NEW');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').filter({ hasText: 'Сохранено' }).waitFor(SLOW);
    expect(await form.getByLabel('Ключ API').getAttribute('placeholder')).toBe('задан; введите новый, чтобы заменить');
    expect(await form.getByLabel('Ключ API').inputValue()).toBe('');
    const saved = await (await fetch(`${t.uiUrl}api/settings`, { headers: { Authorization: `Bearer ${t.uiToken}` } })).json();
    expect(saved).toMatchObject({ secrets: { 'sample.apiKey': true } });
    expect(saved.config.sample).not.toHaveProperty('apiKey');

    // The journal's filter offers it by its title.
    await page.goto(`${t.uiUrl}#/journal`);
    await page.getByRole('heading', { level: 2, name: 'Журнал', exact: true }).waitFor(SLOW);
    const systems = page.getByLabel('Система');
    await expect.poll(() => systems.locator('option').allTextContents()).toContain('Образец');
    expect(pageProblems).toEqual([]);
  }, 60_000);
});
