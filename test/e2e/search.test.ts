import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { adminGet, onec as onecOf, openBrowser, openPage as openPageOf, setUpOnce, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * Search as the operator types it, in lower case, in every list and the journal: the real
 * `sputnik serve --sandbox` serving the built renderer to Debian chromium at 1366×768 (as
 * ui.test.ts). Screenshots go to test-results/search-*.png; the cards' («елкина» → «Ёлкина») is docs/screenshots/search.png.
 */
let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

const shot = (name: string) => shotOf(page, name);
const openPage = (title: string) => openPageOf(page, title);

const onec = (path: string, method: string, body?: unknown) => onecOf(page, path, method, body);

/** Types `q` into the page's search box, waits for the list's answer to it, then for `row` in `table`. */
async function search(box: string, api: string, q: string, table: string, row: string): Promise<void> {
  const answered = page.waitForResponse((r) => r.url().includes(`/api/${api}?`) && new URL(r.url()).searchParams.get('q') === q);
  await page.getByRole('searchbox', { name: box }).fill(q);
  expect((await answered).status()).toBe(200);
  await expect.poll(() => page.getByRole('table', { name: table }).locator('tbody tr').filter({ hasText: row }).first().isVisible(), { timeout: 10_000 }).toBe(true);
}

describe('search in the window, typed in lower case (sandbox)', () => {
  setUpOnce(async () => {
    server = await startSandbox('search');
    ({ browser, page } = await openBrowser(pageProblems));
    await page.goto(server.uiUrl);
    // What 1C would have sent: a card, an invoice; and one Docpart pull of the sandbox shop.
    expect(await onec('/v1/cards/E2E-S-1?wait=0', 'PUT', { holder: { name: 'Ёлкина Анна Петровна', phone: '+79160005501', email: 'elkina@example.ru' }, bonus: 120 })).toBe(202);
    expect(await onec('/v1/invoices?wait=0', 'POST', { invoices: [{ orderId: 'ЗК-0005', amount: '1500', email: 'buh@romashka.ru', clientId: 'ООО Ромашка', serviceName: 'Оплата заказа ЗК-0005 (дубль счёта)' }] })).toBe(202);
    expect(await onec('/v1/docpart/sync?wait=60', 'POST')).toBe(200);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  }, 30_000);

  it('cards: «елкина» finds «Ёлкина Анна Петровна»', async () => {
    await openPage('Карты');
    await search('Поиск карт', 'cards', 'елкина', 'Карты', 'E2E-S-1');
    await shotOf(page, 'search-cards.png', { keepAs: 'search.png' });
  });

  it('invoices: «ромашка» finds the invoice of «ООО Ромашка»', async () => {
    await openPage('Счета');
    await search('Поиск счетов', 'invoices', 'ромашка', 'Счета', 'ЗК-0005');
    await shot('search-invoices.png');
  });

  it('Docpart: a buyer\'s surname in lower case finds their orders', async () => {
    const { orders } = await adminGet<{ orders: Array<{ orderId: number; buyer: string }> }>(page, '/api/docpart/orders?limit=50');
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
