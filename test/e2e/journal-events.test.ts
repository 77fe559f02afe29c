import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { adminGet, openBrowser, setUpOnce, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * The journal as a record of events, as a shop worker sees it: the real `sputnik serve --sandbox`
 * serving the built renderer to Debian chromium at 1366×768. Rows name what happened; a refusal
 * Passteam sent as HTTP 200 is an error; «Подробнее» unfolds the exchanges with decoded forms.
 */
let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

const shot = (name: string, keep = false) => shotOf(page, name, { keepAs: keep ? name : undefined });

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
  setUpOnce(async () => {
    server = await startSandbox('journal');
    ({ browser, page } = await openBrowser(pageProblems));
    await page.goto(server.uiUrl);
    listener = await adminGet(page, '/api/listener');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  }, 30_000);

  it('rows name what happened; a Passteam refusal sent as HTTP 200 is an error and is under «только ошибки»', async () => {
    expect(listener.url).toBe(server!.listenerUrl);
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
