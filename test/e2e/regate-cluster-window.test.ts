import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPage } from '../helpers/e2e.ts';
import { startPostgres, type PrivatePostgres } from '../helpers/postgres.ts';
import { clusterConfig, kill9, killAll, startFake1C, startInstance, type Instance } from '../helpers/regate-cluster.ts';

/**
 * What a ReGate operator sees in the window of one of two `sputnik serve` instances sharing a real
 * PostgreSQL (issue 20): the shared store's line — working, then unavailable while PostgreSQL is
 * stopped, then working again by itself — and the instances as PostgreSQL knows them: two on the
 * line, then the other one killed with SIGKILL shown as not on the line once its lease ran out
 * (3 s here). Every wait is for what the page shows.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(ROOT, 'test-results');
const PANEL = 'ReGate — шлюз для Richest.store';
const STORE_UP = 'Общее хранилище шлюзов (PostgreSQL): работает';

let pg: PrivatePostgres | undefined;
let nodes: Instance[] = [];
let browser: Browser | undefined;
let page: Page;
const pageProblems: string[] = [];

async function shot(name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name), fullPage: true });
}

async function setUp(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium» (npm test ставит его сам, где может)`);
  if (!existsSync(join(ROOT, 'out/renderer/index.html'))) throw new Error('окно не собрано: npm run build');
  pg = await startPostgres();
  const fake = await startFake1C({ pool: 10, latencyMs: 30 });
  const setup = clusterConfig({ pgUrl: pg.url, pg, baseUrl: fake.baseUrl, poolSize: 10, leaseSeconds: 3 });
  nodes = [await startInstance(setup)];
  nodes.push(await startInstance(setup));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, LANG: 'ru_RU.UTF-8', LANGUAGE: 'ru' },
    args: ['--headless', '--lang=ru-RU', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU' });
  page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
}

/** The window's login link `serve` printed. */
function windowLink(i: Instance): string {
  const m = /Окно Спутника: (http:\/\/\S+)/.exec(i.stdout());
  if (!m) throw new Error(`no window link in:\n${i.stdout()}`);
  return m[1];
}

describe('ReGate cluster in the window: the shared store and the instances', () => {
  let setupError: unknown = null;
  beforeAll(async () => {
    setupError = await setUp().then(() => null, (e: unknown) => e);
  }, 180_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
    pg?.destroy();
  }, 60_000);

  const panel = () => page.getByRole('region', { name: PANEL });
  const instances = () => panel().getByRole('list', { name: /^Экземпляров шлюза в кластере/ });

  it('the store line says PostgreSQL works, that it is unavailable while stopped, and works again after it is started', async () => {
    await page.goto(windowLink(nodes[0]));
    await page.getByRole('heading', { level: 2, name: 'Обзор', exact: true }).waitFor({ timeout: 20_000 });
    await expect.poll(() => panel().getByText(STORE_UP, { exact: true }).isVisible()).toBe(true);
    expect(await panel().getByRole('status').count()).toBe(0);

    pg!.stop();
    const down = panel().getByRole('status');
    await expect.poll(() => down.textContent().catch(() => '')).toMatch(/^Общее хранилище шлюзов \(PostgreSQL\) недоступно с \d\d\.\d\d\.\d{4} \d\d:\d\d: PostgreSQL недоступен/);
    expect(await down.textContent()).toMatch(/Спутник (подключается снова|переподключится сам); пока записи и чтения не из кеша получают ответ 503\.$/);
    expect(await panel().getByText(STORE_UP, { exact: true }).count()).toBe(0);
    // The instances are still listed, as last known, without claiming who is on the line.
    await expect.poll(() => page.locator('#regate-instances-title').textContent()).toBe('Экземпляров шлюза в кластере: 2 (последние сведения: пока PostgreSQL недоступен, кто на связи — не узнать)');
    expect(await instances().getByRole('listitem').allTextContents()).toEqual(nodes.map((n, i) => expect.stringMatching(new RegExp(`^сервер .+, процесс ${n.pid}${i === 0 ? ' \\(этот\\)' : ''}$`))));
    await shot('regate-cluster-store-down.png');
    // «Требует внимания» counts it in the header of every page and says what to check.
    const header = page.locator('header .attention-count');
    await expect.poll(() => header.textContent().catch(() => '')).toBe('Требует внимания: 1');
    await openPage(page, 'Требует внимания');
    const item = page.getByRole('region', { name: 'Требует внимания' }).getByRole('listitem', { name: 'ReGate: общее хранилище (PostgreSQL)' });
    await expect.poll(() => item.isVisible()).toBe(true);
    expect(await item.locator('.attention-reason').textContent()).toMatch(/^PostgreSQL недоступен.*\. Пока его нет, шлюз отвечает Richest\.store из кеша, а на записи и остальные чтения — 503 \(Richest\.store повторит их позже\); Спутник подключается снова сам$/);
    expect(await item.locator('.attention-fix').textContent()).toBe('Что сделать: Проверьте, что сервер PostgreSQL запущен и доступен с этого компьютера по адресу из настройки regate.store.url');
    await shot('regate-cluster-store-down-attention.png');

    pg!.start();
    // Back by itself: off the list, and Обзор's line is green again.
    await expect.poll(() => item.count()).toBe(0);
    await expect.poll(() => header.textContent()).toBe('Требует внимания: 0');
    await openPage(page, 'Обзор');
    await expect.poll(() => panel().getByText(STORE_UP, { exact: true }).isVisible()).toBe(true);
    expect(await panel().getByRole('status').count()).toBe(0);
  });

  it('lists both instances as on the line, and the one killed with SIGKILL as not on the line after its lease', async () => {
    const [self, other] = nodes;
    const summary = page.locator('#regate-instances-title');
    await expect.poll(() => summary.textContent()).toBe('Экземпляров шлюза в кластере: 2, на связи: 2');
    const items = instances().getByRole('listitem');
    await expect.poll(() => items.allTextContents()).toEqual([
      expect.stringMatching(new RegExp(`^сервер .+, процесс ${self.pid} \\(этот\\) — на связи; занято сеансов 1С: \\d+; отправляет записей: \\d+$`)),
      expect.stringMatching(new RegExp(`^сервер .+, процесс ${other.pid} — на связи; занято сеансов 1С: \\d+; отправляет записей: \\d+$`)),
    ]);
    await shot('regate-cluster-instances.png');

    await kill9(other);
    // One condition over the whole list: on a loaded machine this instance's own 3-s lease may lapse for a moment too.
    await expect.poll(() => Promise.all([summary.textContent(), items.allTextContents()])).toEqual([
      'Экземпляров шлюза в кластере: 2, на связи: 1, не на связи: 1',
      [
        expect.stringMatching(new RegExp(`^сервер .+, процесс ${self.pid} \\(этот\\) — на связи; `)),
        expect.stringMatching(new RegExp(`^сервер .+, процесс ${other.pid} — не на связи с \\d\\d:\\d\\d:\\d\\d \\(остановлен или потерял связь с PostgreSQL\\)$`)),
      ],
    ]);
    await shot('regate-cluster-instance-dead.png');
    expect(pageProblems).toEqual([]);
  });
});
