import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { adminGet as adminGetOf, hold as holdOf, openBrowser, openPage as openPageOf, setUpWindow, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * What an operator sees: the real `sputnik serve --sandbox` serving the built renderer to
 * Debian chromium. Needs out/renderer (built here if missing) and /usr/bin/chromium.
 */
const BANNER = 'Песочница — внешние сервисы поддельные';
const PROBE = 'e2e-probe-card';
const STATE_LABELS = ['выключен', 'работает', 'нет связи', 'приостановлен'];

let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

const openPage = (title: string) => openPageOf(page, title);
const shot = (name: string) => shotOf(page, name, { fullPage: true });
const hold = (match: (url: URL) => boolean) => holdOf(page, match);
const adminGet = <T>(path: string) => adminGetOf<T>(page, path);

/** Event rows of the journal (the "nothing found" placeholder and an unfolded event's detail have a single cell). */
function journalRows(p: Page) {
  return p.getByRole('table', { name: 'Журнал событий' }).locator('tbody tr:has(td:nth-child(6))');
}

/** With a detail panel open, the list beside it still shows its last column: nothing scrolled out of view. */
async function listFits(table: string): Promise<boolean> {
  return page.getByRole('table', { name: table }).evaluate((t) => {
    const panel = t.closest('.panel')!;
    const last = t.querySelector('thead th:last-child')!.getBoundingClientRect();
    return panel.scrollWidth <= panel.clientWidth && last.right <= panel.getBoundingClientRect().right;
  });
}

let listener = { url: '', port: 0, token: '' };

function putCard(code: string, phone: string, name: string) {
  return fetch(`${listener.url}/v1/cards/${encodeURIComponent(code)}?wait=0`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ holder: { name, phone, email: `${code.toLowerCase()}@example.ru` }, bonus: 150 }),
  });
}

/** The page was never reloaded since this marker was set. */
async function notReloaded(): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { e2eMarker?: number }).e2eMarker === 42);
}

/** Server and browser up; throws when they cannot be (no chromium, the server did not start). */
async function setUp(): Promise<void> {
  server = await startSandbox('ui');
  // The settings test provokes a 422 on purpose; the browser logs every 4xx fetch.
  ({ browser, page } = await openBrowser(pageProblems, { acceptDownloads: true, allowConsole: /status of 422/ }));
}

describe('UI in service mode (sandbox)', () => {
  setUpWindow(setUp, () => ({ browser, server }));

  it('logs in by the printed link: overview with the sandbox banner, connectors, queue, listener address and token', async () => {
    expect((await fetch(`${server!.listenerUrl}/v1/health`)).status).toBe(200);
    // A second, different exchange so the search below has something to filter out.
    expect((await fetch(`${server!.listenerUrl}/v1/cards/${PROBE}`)).status).toBe(401);

    await page.goto(server!.uiUrl);
    // The login link trades the token for a cookie and drops it from the address bar.
    expect(new URL(page.url()).search).toBe('');
    await page.evaluate(() => ((globalThis as unknown as { e2eMarker?: number }).e2eMarker = 42));

    await expect.poll(() => page.getByText(BANNER, { exact: true }).isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Спутник');
    await expect.poll(() => page.locator('.version').textContent()).toMatch(/^версия \d+\.\d+\.\d+/);
    for (const title of ['Обзор', 'Журнал', 'Карты', 'Счета', 'Заказы Docpart', 'Настройки']) {
      expect(await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: title, exact: true }).count()).toBe(1);
    }

    const status = page.getByRole('region', { name: 'Состояние' });
    for (const name of ['Passteam', 'PayKeeper', 'Docpart']) {
      const row = status.getByRole('listitem', { name });
      await expect.poll(() => row.locator('.connector-state').textContent(), { timeout: 10_000 }).toSatisfy((t) => STATE_LABELS.includes(String(t)));
    }
    await expect.poll(() => status.getByRole('button', { name: 'Приостановить отправку' }).count()).toBe(2);
    await expect.poll(() => status.locator('.queue-depth').textContent()).toMatch(/^\d+$/);

    listener = await adminGet('/api/listener');
    expect(listener.url).toBe(server!.listenerUrl);
    const conn = page.getByRole('region', { name: 'Подключение 1С' });
    await expect.poll(() => conn.getByText(server!.listenerUrl).isVisible()).toBe(true);
    await conn.getByRole('button', { name: 'Показать' }).click();
    await expect.poll(() => conn.locator('.listener-token').textContent()).toBe(listener.token);
    expect(await conn.getByRole('button', { name: 'Копировать: токен для 1С' }).count()).toBe(1);
    // The sandbox's ReGate (openssl makes its certificate) is shown like the other connectors: per 1C base.
    const regate = page.getByRole('region', { name: 'ReGate — шлюз для Richest.store' });
    await expect.poll(() => regate.getByRole('cell', { name: 'sandbox', exact: true }).count(), { timeout: 10_000 }).toBe(1);
    await shot('ui-overview.png');
  });

  it('pause and resume a connector from the overview', async () => {
    const row = page.getByRole('region', { name: 'Состояние' }).getByRole('listitem', { name: 'Passteam' });
    await row.getByRole('button', { name: 'Приостановить отправку' }).click();
    await expect.poll(() => row.locator('.connector-state').textContent()).toBe('приостановлен');
    await row.getByRole('button', { name: 'Возобновить' }).click();
    await expect.poll(() => row.locator('.connector-state').textContent()).toBe('работает');
  });

  it('journal: rows newest first, search, filters, detail with bodies', async () => {
    await openPage('Журнал');
    // Each row is an event named by what it is about, not by its address.
    const healthRow = journalRows(page).filter({ hasText: 'Проверка связи ← 1С' }).first();
    await expect.poll(() => healthRow.isVisible(), { timeout: 12_000 }).toBe(true);
    const cells = await healthRow.locator('td').allTextContents();
    expect(cells[0]).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$/);
    expect(cells[1]).toBe('←');
    expect(cells[2]).toBe('1С');
    expect(cells[3]).toBe('Проверка связи ← 1Сответ отдан');
    expect(cells[4]).toBe('успешно');
    expect(cells[5]).toBe('Подробнее');
    const probeRow = journalRows(page).filter({ hasText: PROBE }).first();
    await expect.poll(() => probeRow.locator('td:nth-child(5)').textContent()).toBe('ошибка');
    expect(await probeRow.locator('.row-error').textContent()).toMatch(/^отклонено: Нужен заголовок Authorization/);

    const search = page.getByRole('searchbox', { name: 'Поиск по журналу' });
    const filtered = page.waitForResponse((r) => r.url().includes('/api/journal?') && r.url().includes('q=health'));
    await search.fill('health');
    await filtered;
    await expect.poll(async () => {
      const titles = await journalRows(page).locator('.event-title').allTextContents();
      return titles.length > 0 && titles.every((u) => u === 'Проверка связи ← 1С');
    }).toBe(true);
    await search.fill('zzz-нет-такого-обмена');
    await expect.poll(() => page.getByText('Ничего не найдено').isVisible()).toBe(true);
    await search.fill('');

    // Direction filter: outgoing only (the sandbox's Docpart pull is outgoing).
    const out = page.waitForResponse((r) => r.url().includes('/api/journal?') && r.url().includes('direction=out'));
    await page.getByLabel('Направление').selectOption('out');
    await out;
    await expect.poll(async () => {
      const arrows = await journalRows(page).locator('td:nth-child(2)').allTextContents();
      return arrows.length > 0 && arrows.every((a) => a === '→');
    }).toBe(true);
    // The export link carries the same filters.
    expect(await page.getByRole('link', { name: 'Выгрузить' }).getAttribute('href')).toContain('direction=out');
    await page.getByLabel('Направление').selectOption('');

    // Paging, when there is more than a page of events.
    await expect.poll(() => journalRows(page).count()).toBeGreaterThan(0);
    const more = page.getByRole('button', { name: 'Показать ещё' });
    if (await more.isVisible()) {
      const before = await journalRows(page).count();
      // New exchanges arriving while the older page loads (a live refresh) must not swallow the click:
      // the older page is held back until the refresh for five new rows has come and gone.
      const older = await hold((url) => url.pathname === '/api/journal' && url.searchParams.has('before'));
      const newestLink = () => journalRows(page).first().getAttribute('data-event');
      const newest = await newestLink();
      await more.click();
      await older.reached;
      await Promise.all(Array.from({ length: 5 }, () => fetch(`${server!.listenerUrl}/v1/health`)));
      await expect.poll(newestLink).not.toBe(newest);
      await older.release();
      await expect.poll(() => journalRows(page).count(), { timeout: 10_000 }).toBeGreaterThan(before);
    }

    // «Подробнее» unfolds the event's exchange with its request and answer.
    await journalRows(page).filter({ hasText: PROBE }).first().getByRole('button', { name: /^Подробнее/ }).click();
    const detail = page.getByRole('region', { name: `Подробности: Карта ${PROBE} ← 1С` });
    await expect.poll(() => detail.locator('li.exchange').count()).toBe(1);
    await detail.locator('li.exchange summary').click();
    await expect.poll(() => detail.locator('pre.body').first().textContent()).toMatch(/unauthorized/);
    await shot('ui-journal.png');
    await journalRows(page).filter({ hasText: PROBE }).first().getByRole('button', { name: /^Подробнее/ }).click();
    await expect.poll(() => detail.count()).toBe(0);
  });

  it('a card saved by 1C through the listener shows up in Карты and in the journal without a reload', async () => {
    await openPage('Карты');
    await expect.poll(() => page.locator('.loading').count(), { timeout: 10_000 }).toBe(0);
    const first = 'E2E-КАРТА-1';
    expect((await putCard(first, '+79161112233', 'Смирнова Анна')).status).toBeLessThan(300);
    const row = page.getByRole('table', { name: 'Карты' }).locator('tr', { hasText: first });
    await expect.poll(() => row.isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => row.textContent()).toContain('Смирнова Анна');

    // Search by phone, any spelling.
    await page.getByRole('searchbox', { name: 'Поиск карт' }).fill('8 916 111-22-33');
    await expect.poll(() => page.getByRole('table', { name: 'Карты' }).locator('tbody tr').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Поиск карт' }).fill('');

    await row.getByRole('link', { name: first }).click();
    const detail = page.getByRole('complementary', { name: `Карта ${first}` });
    await expect.poll(() => detail.locator('dd', { hasText: 'Смирнова Анна' }).isVisible()).toBe(true);
    await expect.poll(() => detail.textContent(), { timeout: 10_000 }).toMatch(/отправлена|ждёт отправки/);
    expect(await listFits('Карты')).toBe(true);
    await shot('ui-cards.png');
    await detail.getByRole('button', { name: 'Закрыть' }).click();

    await openPage('Журнал');
    await expect.poll(() => journalRows(page).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const second = 'E2E-КАРТА-2';
    expect((await putCard(second, '+79161112244', 'Кузнецов Пётр')).status).toBeLessThan(300);
    await expect
      .poll(() => journalRows(page).filter({ hasText: `Карта ${second} ← 1С` }).count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(await notReloaded()).toBe(true);
  });

  it('cards: «Показать ещё» still brings its page when a card saved meanwhile refreshes the list', async () => {
    for (let i = 1; i <= 100; i++) expect((await putCard(`E2E-ПАЧКА-${i}`, `+7916200${String(i).padStart(4, '0')}`, `Покупатель ${i}`)).status).toBeLessThan(300);
    await openPage('Карты');
    const table = page.getByRole('table', { name: 'Карты' });
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 10_000 }).toBe(50);
    expect((await adminGet<{ total: number }>('/api/cards?limit=1')).total).toBeGreaterThan(100);

    // The older page is held until the live refresh for a new card has gone out; then it is let through.
    const older = await hold((url) => url.pathname === '/api/cards' && url.searchParams.get('offset') === '50');
    await page.getByRole('button', { name: 'Показать ещё' }).click();
    await older.reached;
    const refresh = page.waitForRequest((r) => {
      const url = new URL(r.url());
      return url.pathname === '/api/cards' && (url.searchParams.get('offset') ?? '0') === '0';
    });
    expect((await putCard('E2E-ПАЧКА-НОВАЯ', '+79162009999', 'Покупатель новый')).status).toBeLessThan(300);
    await refresh;
    await older.release();
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 10_000 }).toBe(100);
  });

  it('settings: a validation error from the server is shown next to its field; the BSL snippet has this port and token', async () => {
    await openPage('Настройки');
    const docpart = page.locator('form', { has: page.getByRole('heading', { name: /^Docpart/ }) });
    const every = docpart.getByLabel('Загружать каждые, секунд');
    await expect.poll(() => every.inputValue(), { timeout: 10_000 }).toMatch(/^\d+$/);
    const saved = await every.inputValue();
    await every.fill('5');
    const put = page.waitForResponse((r) => r.url().includes('/api/settings') && r.request().method() === 'PUT');
    await docpart.getByRole('button', { name: 'Сохранить' }).click();
    expect((await put).status()).toBe(422);
    const fieldError = docpart.locator('.field:has(#set-docpart-everySeconds) .field-error');
    await expect.poll(() => fieldError.textContent()).toMatch(/everySeconds|30/);
    expect(await every.getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).toBe('set-docpart-everySeconds');
    await every.fill(saved);
    await docpart.getByRole('button', { name: 'Сохранить' }).click();
    await expect.poll(() => docpart.getByText('Сохранено', { exact: false }).isVisible()).toBe(true);

    const passteam = page.locator('form', { has: page.getByRole('heading', { name: /^Passteam/ }) });
    await expect.poll(() => passteam.locator('#set-passteam-token-hint').textContent()).toMatch(/^задан/);

    const bsl = page.getByLabel('Код для 1С');
    await expect.poll(() => bsl.textContent()).toContain(`Новый HTTPСоединение("127.0.0.1", ${listener.port}, , , Новый ИнтернетПрокси(Ложь), 15);`);
    expect(await bsl.textContent()).toContain(`Заголовки.Вставить("Authorization", "Bearer ${listener.token}");`);
    await shot('ui-settings.png');
  });

  let paykeeperUrl = '';
  const ORDER = 'E2E-СЧЁТ-1';

  it('a failing PayKeeper turns the overview red with its reason', async () => {
    await openPage('Настройки');
    const pk = page.locator('form', { has: page.getByRole('heading', { name: /^PayKeeper/ }) });
    const baseUrl = pk.getByLabel('Адрес личного кабинета');
    await expect.poll(() => baseUrl.inputValue()).toMatch(/^http/);
    paykeeperUrl = await baseUrl.inputValue();
    await baseUrl.fill('http://127.0.0.1:9/');
    await pk.getByRole('button', { name: 'Проверить соединение' }).click();
    await expect.poll(() => pk.locator('.test-result').textContent(), { timeout: 15_000 }).toMatch(/^Проверка не прошла\. .+/);
    await pk.getByRole('button', { name: 'Сохранить' }).click();
    await expect.poll(() => pk.getByText('Сохранено').isVisible()).toBe(true);

    const r = await fetch(`${listener.url}/v1/invoices?wait=0`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ orderId: ORDER, amount: '1234.50', email: 'e2e@example.ru', clientId: 'Иванов Иван' }),
    });
    expect(r.status).toBeLessThan(300);

    await openPage('Обзор');
    const row = page.getByRole('region', { name: 'Состояние' }).getByRole('listitem', { name: 'PayKeeper' });
    await expect.poll(() => row.locator('.connector-state').textContent(), { timeout: 20_000 }).toBe('нет связи');
    await expect.poll(() => row.locator('.connector-error').textContent()).toMatch(/^Причина: .+/);
    expect(await page.locator('section.panel-bad').count()).toBe(1);
    expect(await notReloaded()).toBe(true);
    await shot('ui-overview-failing.png');
  });

  it('«Повторить» in the journal: its note goes with the failure it answered; once PayKeeper is back the invoice goes out', async () => {
    // PayKeeper is still unreachable (the test above): the newest failed delivery offers «Повторить».
    await openPage('Журнал');
    await page.getByLabel('Итог').selectOption('failed');
    await page.getByRole('searchbox', { name: 'Поиск по журналу' }).fill(ORDER);
    const title = `Счёт по заказу ${ORDER} → PayKeeper`;
    const attempts = journalRows(page).filter({ hasText: title });
    await expect.poll(() => attempts.first().isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await journalRows(page).locator('.event-title').allTextContents()).every((t) => t === title)).toBe(true);
    const detailOf = (id: string) => page.locator(`tr[data-event="${id}"] + tr.event-detail-row`);
    // Sputnik's own probe of PayKeeper may supersede the attempt being unfolded: then the newest one is used.
    let retried = '';
    await expect
      .poll(
        async () => {
          const newest = attempts.first();
          const id = (await newest.getAttribute('data-event')) ?? '';
          if ((await detailOf(id).count()) === 0) await newest.getByRole('button', { name: /^Подробнее/ }).click();
          const button = detailOf(id).getByRole('button', { name: 'Повторить' });
          if ((await button.count()) === 0) return false;
          retried = id;
          return button.click({ timeout: 2000 }).then(
            () => true,
            () => false,
          );
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    // Still unreachable, so it fails again: a new row with its own «Повторить», and the old row's
    // button and its «Отправлено повторно» are gone (they answered a failure that is no longer the last).
    await expect.poll(() => attempts.first().getAttribute('data-event'), { timeout: 20_000 }).not.toBe(retried);
    await expect.poll(() => detailOf(retried).getByRole('button', { name: 'Повторить' }).count()).toBe(0);
    expect(await detailOf(retried).getByRole('status').count()).toBe(0);
    await shot('ui-journal-retry.png');

    await openPage('Настройки');
    const pk = page.locator('form', { has: page.getByRole('heading', { name: /^PayKeeper/ }) });
    await pk.getByLabel('Адрес личного кабинета').fill(paykeeperUrl);
    await pk.getByRole('button', { name: 'Сохранить' }).click();
    await expect.poll(() => pk.getByText('Сохранено').isVisible()).toBe(true);
    await expect
      .poll(async () => (await adminGet<{ state: string }>(`/api/invoices/${encodeURIComponent(ORDER)}`)).state, { timeout: 20_000 })
      .toMatch(/^(created|sent|paid)$/);
    await openPage('Обзор');
    const row = page.getByRole('region', { name: 'Состояние' }).getByRole('listitem', { name: 'PayKeeper' });
    await expect.poll(() => row.locator('.connector-state').textContent(), { timeout: 20_000 }).toBe('работает');
  });

  it('invoices: list for the current month, detail, CSV export with a BOM that parses back', async () => {
    await openPage('Счета');
    const table = page.getByRole('table', { name: 'Счета' });
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    const rows = await table.locator('tbody tr').count();
    await expect.poll(() => table.locator('tr', { hasText: ORDER }).textContent()).toContain('1\u00a0234,50\u00a0₽');
    const states = await table.locator('.badge').allTextContents();
    expect(states.every((s) => ['в очереди', 'создан', 'отправлен', 'оплачен', 'просрочен', 'отозван', 'ошибка'].includes(s))).toBe(true);

    await table.locator('tr', { hasText: ORDER }).getByRole('link').click();
    const detail = page.getByRole('complementary', { name: `Счёт по заказу ${ORDER}` });
    await expect.poll(() => detail.getByText('Иванов Иван').isVisible()).toBe(true);
    expect(await listFits('Счета')).toBe(true);
    await shot('ui-invoices.png');

    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Скачать CSV' }).click();
    const download = await downloading;
    const file = await download.path();
    const bytes = readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
    expect(lines[0]).toContain(';');
    expect(lines.length - 1).toBeGreaterThanOrEqual(rows);
    expect(lines.some((l) => l.includes(ORDER))).toBe(true);
    expect(await page.getByRole('link', { name: 'Скачать XLSX' }).getAttribute('href')).toMatch(/\/api\/invoices\/export\?from=\d{4}-\d{2}-01&to=\d{4}-\d{2}-\d{2}&format=xlsx$/);
  });

  it('Docpart orders: 300 pulled at start, paging, detail with lines, sync now with progress', async () => {
    await openPage('Заказы Docpart');
    const table = page.getByRole('table', { name: 'Заказы Docpart' });
    await expect.poll(() => page.locator('.pager').textContent(), { timeout: 20_000 }).toMatch(/Показано 50 из 300/);
    await page.getByRole('button', { name: 'Показать ещё' }).click();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(100);

    await table.locator('tbody tr').first().getByRole('link').click();
    const detail = page.getByRole('complementary');
    await expect.poll(() => detail.getByRole('heading', { name: /^Строки \(\d+\)$/ }).isVisible()).toBe(true);
    expect(await listFits('Заказы Docpart')).toBe(true);

    const sync = page.getByRole('region', { name: 'Загрузка из Docpart' });
    await expect.poll(() => sync.locator('.sync-last').textContent()).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}: заказов 300/);
    const before = await sync.locator('.sync-last').textContent();
    await sync.getByRole('button', { name: 'Синхронизировать сейчас' }).click();
    await expect.poll(() => sync.locator('.sync-last').textContent(), { timeout: 20_000 }).not.toBe(before);
    await shot('ui-docpart.png');
  });

  it('every page is readable Russian with no leaked English state names and no page errors', async () => {
    for (const title of ['Обзор', 'Журнал', 'Карты', 'Счета', 'Заказы Docpart', 'Настройки']) {
      await openPage(title);
      await expect.poll(() => page.locator('.loading').count(), { timeout: 10_000 }).toBe(0);
      const text = (await page.locator('main').innerText()).replace(/https?:\/\/\S+|\/v1\/\S+|\/api\/\S+/g, '');
      expect(text).not.toMatch(/\b(queued|synced|failed|disabled|paused|failing|undefined|null|NaN)\b/);
      // The browser's date picker follows the OS locale (mm/dd/yyyy on an English system): dates are typed ДД.ММ.ГГГГ.
      expect(await page.locator('main input[type="date"]').count()).toBe(0);
    }
    await openPage('Счета');
    const from = page.getByLabel('С', { exact: true });
    expect(await from.getAttribute('placeholder')).toBe('ДД.ММ.ГГГГ');
    expect(await from.inputValue()).toMatch(/^01\.\d\d\.\d{4}$/);
    expect(await notReloaded()).toBe(true);
    // A CSP violation or a render crash shows up here even when the page still looks right.
    expect(pageProblems).toEqual([]);
  });
});
