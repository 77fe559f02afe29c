import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { admin as adminOf, openBrowser, openPage as openPageOf, setUpWindow, shot as shotOf, startSandbox, type Sandbox } from '../helpers/e2e.ts';

/**
 * «Требует внимания» and «Спутник не отвечает» as a shop worker sees them: the real
 * `sputnik serve --sandbox` serving the built renderer to Debian chromium at 1366×768.
 */
/** Generous: the banner's 3 s is the product's heartbeat setting, not what this test measures. */
const SLOW = { timeout: 20_000 };

let server: Sandbox | undefined;
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

const shot = (name: string) => shotOf(page, name, { fullPage: true });
const openPage = (title: string) => openPageOf(page, title);
const admin = <T>(path: string, init?: { method?: string; body?: unknown }) => adminOf<T>(page, path, init);

let listener = { url: '', token: '' };
const attentionList = async () => (await admin<{ items: Array<{ ref: string }> }>('/api/attention')).body.items;
const total = async () => (await admin<{ total: number }>('/api/attention')).body.total;
const onec = (method: string, path: string, body: unknown) =>
  fetch(`${listener.url}${path}`, { method, headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function setUp(): Promise<void> {
  server = await startSandbox('attention');
  ({ browser, page } = await openBrowser(pageProblems, {
    // The browser logs every failed request: the refused calls and the stopped server are on purpose here.
    allowConsole: /status of (404|409|422)|net::ERR_/,
  }));
}

describe('«Требует внимания» and «Спутник не отвечает» in the window (sandbox)', () => {
  setUpWindow(setUp, () => ({ browser, server }));

  const header = () => page.locator('header .attention-count');

  it('a phone-taken card, a refused invoice and a paused connector: counted in the header of every page, listed with what to do', async () => {
    await page.goto(server!.uiUrl);
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
    server!.child!.kill('SIGSTOP');
    try {
      await expect.poll(() => banner.isVisible(), SLOW).toBe(true);
    } finally {
      server!.child!.kill('SIGCONT');
    }
    await expect.poll(() => banner.count(), SLOW).toBe(0);
  });

  it('Sputnik killed: every page says «Спутник не отвечает» and dims what it shows as of that moment; restarted: the banner goes by itself', async () => {
    await openPage('Карты');
    const banner = page.locator('.link-banner[role="alert"]').filter({ hasText: 'Спутник не отвечает' });
    expect(await banner.count()).toBe(0);
    await server!.stop('SIGKILL');

    await expect.poll(() => banner.isVisible(), SLOW).toBe(true);
    expect(await banner.textContent()).toMatch(/данные на момент \d\d:\d\d:\d\d: они могут быть устаревшими\. Окно подключится само/);
    expect(await page.locator('.app.stale main').count()).toBe(1);
    await shot('connection-lost.png');
    // Every page, not just the one that was open.
    await openPage('Требует внимания');
    expect(await banner.isVisible()).toBe(true);

    await server!.start();
    await expect.poll(() => banner.count(), SLOW).toBe(0);
    expect(await page.locator('.app.stale').count()).toBe(0);
    // Live again, without a reload or a new login: the list answers from the restarted Sputnik.
    await expect.poll(() => page.getByRole('region', { name: 'Требует внимания' }).getByRole('listitem', { name: 'Карта E2E-ВН-2 (Соколов Иван)' }).isVisible(), SLOW).toBe(true);
    await expect.poll(() => header().textContent(), SLOW).toMatch(/^Требует внимания: \d+$/);
    expect(pageProblems).toEqual([]);
  });
});
