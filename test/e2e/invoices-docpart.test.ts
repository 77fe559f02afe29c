import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { DOCPART_ORDER_STATUSES } from '../../renderer/src/format.ts';
import { adminGet as adminGetOf, hold as holdOf, onec as onecOf, openBrowser, openPage as openPageOf, setUpOnce, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * The accountant's invoices and the shop's Docpart orders as they are seen: the real
 * `sputnik serve --sandbox` serving the built renderer to Debian chromium (as ui.test.ts).
 * Periods are typed explicitly (01.01.2000 — 31.12.2099), so nothing here depends on today's date.
 * Screenshots go to test-results/; the invoices' and Docpart's are copied to docs/screenshots/.
 * ReGate listens on any free port, so this runs beside other sandbox tests.
 */

/** Invoices this test sends, all for one payer it searches by: more than one page of the list. */
const MINE = 120;
const PAYER = 'Бухгалтерия Е2Е-Итог';

let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

async function setUp(): Promise<void> {
  server = await startSandbox('invoices');
  // The bad-period test provokes 422s on purpose; the browser logs every 4xx fetch.
  ({ browser, page } = await openBrowser(pageProblems, { acceptDownloads: true, allowConsole: /status of 422/ }));
  await page.goto(server.uiUrl);
}

const adminGet = <T>(path: string) => adminGetOf<T>(page, path);
const onec = (path: string, method: string, body?: unknown) => onecOf(page, path, method, body);
const openPage = (title: string) => openPageOf(page, title);
const shot = (name: string, docsName?: string) => shotOf(page, name, { keepAs: docsName });
const hold = (match: (url: URL) => boolean) => holdOf(page, match);

const field = (name: 'С' | 'По') => page.getByRole('search', { name: 'Поиск счетов' }).getByLabel(name, { exact: true });

/** Types the period and waits for the list's answer to exactly these query values. */
async function filterInvoices(f: { from?: string; to?: string; q?: string; state?: string }): Promise<number> {
  const iso = (d: string) => d.split('.').reverse().join('-');
  const answered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    if (u.pathname !== '/api/invoices') return false;
    const p = u.searchParams;
    // A date is sent as YYYY-MM-DD, or as typed when it is not one (the service then says why).
    const day = (name: string, typed: string | undefined) => typed === undefined || [iso(typed), typed].includes(p.get(name) ?? '');
    return day('from', f.from) && day('to', f.to) && (f.q === undefined || (p.get('q') ?? '') === f.q) && (f.state === undefined || (p.get('state') ?? '') === f.state);
  });
  if (f.state !== undefined) await page.getByLabel('Состояние').selectOption(f.state);
  if (f.from !== undefined) await field('С').fill(f.from);
  if (f.to !== undefined) await field('По').fill(f.to);
  if (f.q !== undefined) await page.getByRole('searchbox', { name: 'Поиск счетов' }).fill(f.q);
  return (await answered).status();
}

const totalsText = () => page.getByLabel('Итого', { exact: true }).innerText();
const rub = (amount: string) => `${new Intl.NumberFormat('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(amount))}\u00a0₽`;

describe('invoices for the accountant and Docpart orders (sandbox)', () => {
  setUpOnce(async () => {
    await setUp();
    // What 1C would have sent: a batch for one payer, 100.50 ₽ each; and one Docpart pull of the sandbox shop.
    const invoices = Array.from({ length: MINE }, (_, i) => ({ orderId: `Е2Е-${String(i + 1).padStart(3, '0')}`, amount: '100.50', email: 'buh@example.ru', clientId: PAYER, send: false }));
    expect(await onec('/v1/invoices?wait=0', 'POST', { invoices })).toBe(202);
    expect(await onec('/v1/docpart/sync?wait=60', 'POST')).toBe(200);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  }, 30_000);

  it('invoices: the total of every row the filter matches, not only the page shown', async () => {
    // The sandbox's own invoices (one of them paid) are made at its start.
    await expect.poll(async () => (await adminGet<{ total: number }>('/api/invoices?state=paid')).total, { timeout: 20_000 }).toBeGreaterThan(0);
    await openPage('Счета');
    expect(await filterInvoices({ from: '01.01.2000', to: '31.12.2099', q: 'бухгалтерия е2е' })).toBe(200);
    await expect.poll(totalsText).toBe(`Итого за 01.01.2000 — 31.12.2099 с отбором: ${MINE} счетов на ${rub(String(MINE * 100.5))}\nиз них оплачено: 0 счетов на ${rub('0')}`);
    expect(await page.locator('.pager').innerText()).toMatch(new RegExp(`Показано 50 из ${MINE}`));

    // Without the search: the screen's sum is the service's, paid ones included.
    expect(await filterInvoices({ q: '' })).toBe(200);
    const api = await adminGet<{ totals: { count: number; amount: string; paid: { count: number; amount: string } } }>('/api/invoices?from=2000-01-01&to=2099-12-31');
    expect(api.totals.paid.count).toBeGreaterThan(0);
    const count = new Intl.NumberFormat('ru-RU').format(api.totals.count);
    await expect.poll(totalsText).toMatch(new RegExp(`^Итого за 01\\.01\\.2000 — 31\\.12\\.2099: ${count} сч\\S+ на ${rub(api.totals.amount)}\\nиз них оплачено: ${api.totals.paid.count} сч\\S+ на ${rub(api.totals.paid.amount)}$`));
  });

  it('invoices: the export carries the filters, shows that the file is being made, and holds the listed rows with their total', async () => {
    expect(await filterInvoices({ from: '01.01.2000', to: '31.12.2099', state: 'paid', q: 'ромашка' })).toBe(200);
    const table = page.getByRole('table', { name: 'Счета' });
    await expect.poll(() => table.locator('tbody tr').allInnerTexts()).toEqual([expect.stringContaining('ПЕС-1003')]);

    const csv = page.getByRole('link', { name: 'Скачать CSV' });
    const href = new URL((await csv.getAttribute('href'))!, 'http://x');
    expect(href.pathname).toBe('/api/invoices/export');
    expect(Object.fromEntries(href.searchParams)).toEqual({ from: '2000-01-01', to: '2099-12-31', state: 'paid', q: 'ромашка', format: 'csv' });

    // The service is slow to make the file: the page says so until it arrives.
    const held = await hold((u) => u.pathname === '/api/invoices/export');
    const downloading = page.waitForEvent('download');
    await csv.click();
    await held.reached;
    const progress = page.getByRole('status').filter({ hasText: 'Готовится файл CSV' });
    await expect.poll(() => progress.isVisible()).toBe(true);
    expect(await progress.innerText()).toMatch(/Готовится файл CSV: 1 счёт/);
    expect(await page.getByRole('button', { name: 'Скачать XLSX' }).isDisabled()).toBe(true);
    await shot('invoices-export-progress.png');
    await held.release();
    const download = await downloading;
    await expect.poll(() => progress.count()).toBe(0);
    // (The file's Russian name is checked in test/integration/invoices-window.test.ts: headless chromium
    // without a ru_RU system locale saves any Cyrillic download name as «download».)

    const lines = readFileSync((await download.path())!).toString('utf8').replace(/^\uFEFF/, '').split('\r\n');
    const blank = lines.indexOf('');
    expect(lines.slice(1, blank).map((l) => l.split(';')[0])).toEqual(['ПЕС-1003']);
    expect(lines[blank + 1]).toBe('Итого;1 счёт;;15700,50;;;;;;');
    expect(lines[blank + 2]).toBe('из них оплачено;1 счёт;;15700,50;;;;;;');
    expect(lines[blank + 3]).toMatch(/^Отбор;01\.01\.2000 — 31\.12\.2099, состояние «оплачен», поиск «ромашка»;/);
  });

  it('invoices: a bad date or a reversed period is said under the fields, not shown as an empty list', async () => {
    expect(await filterInvoices({ state: '', q: 'бухгалтерия е2е', from: '01.01.2000', to: '31.12.2099' })).toBe(200);
    await expect.poll(() => page.getByRole('table', { name: 'Счета' }).isVisible()).toBe(true);

    expect(await filterInvoices({ from: '31.02.2026' })).toBe(422);
    const alert = page.getByRole('search', { name: 'Поиск счетов' }).locator('xpath=..').getByRole('alert');
    await expect.poll(() => alert.innerText()).toBe('Поле «С»: «31.02.2026» — не дата; введите ДД.ММ.ГГГГ, например 01.11.2026');
    expect(await field('С').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('table', { name: 'Счета' }).count()).toBe(0);
    expect(await page.getByText('Пока пусто').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Скачать CSV' }).isDisabled()).toBe(true);

    expect(await filterInvoices({ from: '' })).toBe(422);
    await expect.poll(() => alert.innerText()).toBe('Поле «С» не заполнено: укажите первый день периода');

    expect(await filterInvoices({ from: '01.12.2099', to: '01.01.2000' })).toBe(422);
    await expect.poll(() => alert.innerText()).toBe('Поле «По»: конец периода 01.01.2000 раньше его начала 01.12.2099');
    expect(await field('По').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('table', { name: 'Счета' }).count()).toBe(0);
    await shot('invoices-bad-period.png');

    // Fixed: the list and its total come back.
    expect(await filterInvoices({ from: '01.01.2000', to: '31.12.2099' })).toBe(200);
    await expect.poll(() => page.getByRole('table', { name: 'Счета' }).isVisible()).toBe(true);
    expect(await alert.count()).toBe(0);
    await expect.poll(totalsText).toMatch(new RegExp(`^Итого за 01\\.01\\.2000 — 31\\.12\\.2099 с отбором: ${MINE} счетов`));

    // For the docs: the sandbox's own invoices, one in each state, and their total.
    expect(await filterInvoices({ q: 'пес' })).toBe(200);
    await expect.poll(totalsText).toMatch(/из них оплачено: 1 счёт на 15\u00a0700,50\u00a0₽$/);
    await shot('invoices.png', 'invoices.png');
  });

  for (const [width, height] of [
    [1366, 768],
    [1920, 1080],
  ]) {
    it(`Docpart at ${width}×${height}: a status column in words, the order lines inside the panel, the buyer with Russian labels`, async () => {
      await page.setViewportSize({ width, height });
      await openPage('Заказы Docpart');
      const list = page.getByRole('table', { name: 'Заказы Docpart' });
      await expect.poll(() => list.locator('tbody tr').count(), { timeout: 20_000 }).toBe(50);
      const headers = await list.locator('thead th').allInnerTexts();
      const statusAt = headers.indexOf('Статус');
      expect(statusAt).toBeGreaterThan(0);
      const words = Object.values(DOCPART_ORDER_STATUSES);
      const statuses = await list.locator(`tbody tr td:nth-child(${statusAt + 1})`).allInnerTexts();
      expect(statuses.every((s) => words.includes(s)), statuses.join(', ')).toBe(true);

      // The registered buyer's order with the most lines.
      const { orders } = await adminGet<{ orders: Array<{ orderId: number; itemsCount: number; userId: number }> }>('/api/docpart/orders?limit=500');
      const order = orders.filter((o) => o.userId !== 0).sort((a, b) => b.itemsCount - a.itemsCount)[0];
      expect(order.itemsCount).toBeGreaterThanOrEqual(4);
      await page.evaluate((id) => (window.location.hash = `#/docpart/${id}`), order.orderId);
      const detail = page.getByRole('complementary', { name: `Заказ Docpart № ${order.orderId}` });
      const lines = detail.getByRole('table', { name: 'Строки заказа' });
      await expect.poll(() => lines.locator('tbody tr').count()).toBe(order.itemsCount);

      const fit = await lines.evaluate((t) => {
        const panel = t.closest('.detail-panel')!;
        return { table: t.scrollWidth, panel: panel.clientWidth, panelScroll: panel.scrollWidth };
      });
      expect(fit.table, JSON.stringify(fit)).toBeLessThanOrEqual(fit.panel);
      expect(fit.panelScroll, JSON.stringify(fit)).toBeLessThanOrEqual(fit.panel);
      // The list beside still shows its last column.
      const listFits = await list.evaluate((t) => {
        const panel = t.closest('.panel')!;
        return panel.scrollWidth <= panel.clientWidth && t.querySelector('thead th:last-child')!.getBoundingClientRect().right <= panel.getBoundingClientRect().right;
      });
      expect(listFits).toBe(true);

      expect(await detail.locator('dt', { hasText: /^Статус$/ }).locator('xpath=following-sibling::dd').innerText()).toMatch(new RegExp(`^(${words.join('|')})$`));
      const labels = await detail.locator('dt').allInnerTexts();
      expect(labels).toEqual(expect.arrayContaining(['Фамилия', 'Имя', 'Мобильный телефон']));
      expect(labels.filter((l) => /^[a-z_]+$/i.test(l))).toEqual([]);
      // Past the sync panel: the list, and the order with its lines and buyer in the sticky panel.
      await page.evaluate(() => window.scrollTo(0, document.querySelector<HTMLElement>('.split')!.offsetTop - 8));
      await shot(`docpart-${width}.png`, width === 1366 ? 'docpart.png' : undefined);
    });
  }

  it('no page errors', () => {
    expect(pageProblems).toEqual([]);
  });
});
