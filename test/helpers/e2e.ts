import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';

/**
 * The browser harness of the window's e2e tests: the real `sputnik serve --sandbox` serving the
 * built renderer (or a test core's UI) to Debian chromium at 1366×768, in Russian.
 *
 *   setUp: server = await startSandbox('mine'); ({ browser, page } = await openBrowser(pageProblems));
 *   describe: setUpWindow(setUp, () => ({ browser, server })); … await page.goto(server.uiUrl);
 */
export const ROOT = resolve(import.meta.dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of every run. */
export const RESULTS = join(ROOT, 'test-results');
/** Screenshots the docs show. */
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const CLI = join(ROOT, 'main/cli.ts');
const UI_URL_RE = /https?:\/\/127\.0\.0\.1:(\d+)\/\?token=[A-Za-z0-9_-]+/;
const LISTENER_RE = /API для 1С:\s*(http:\/\/127\.0\.0\.1:\d+)/;

/** Throws, saying how to get it, where there is no chromium. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} нет: выполните «sudo apt-get install -y chromium» (npm test ставит его сам, где может)`);
}

/** Builds out/renderer when it is missing (npm test builds it first). */
export function ensureRendererBuilt(): void {
  if (existsSync(join(ROOT, 'out/renderer/index.html'))) return;
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'renderer/vite.config.ts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * `sputnik serve --sandbox` on a data folder of its own. The window's port is kept across restarts,
 * so an open page reconnects by itself; ReGate takes any free port: another sandbox on this machine
 * may hold its default.
 */
export class Sandbox {
  readonly dataDir: string;
  child: ChildProcess | undefined;
  /** The window's login URL (with its token). */
  uiUrl = '';
  uiPort = '';
  listenerUrl = '';

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  /** Starts it (again); resolves once it printed the window's and the listener's addresses. */
  start(): Promise<void> {
    let output = '';
    const args = [CLI, 'serve', '--sandbox', '--data-dir', this.dataDir, '--port', '0', '--ui-port', this.uiPort || '0', '--regate-port', '0'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    return new Promise((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`serve printed no UI/listener URL within 20 s:\n${output}`)), 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const ui = UI_URL_RE.exec(output);
        const listener = LISTENER_RE.exec(output);
        if (ui && listener) {
          this.uiUrl = ui[0];
          this.uiPort = ui[1];
          this.listenerUrl = listener[1];
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

  /** Stops it with `signal` (SIGKILL after 15 s); at once when it is not running. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
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

  /** Stops it and removes its data folder. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Builds the renderer if needed and starts a sandbox on a fresh data folder (removed again if it does not start). */
export async function startSandbox(name: string): Promise<Sandbox> {
  ensureRendererBuilt();
  const server = new Sandbox(mkdtempSync(join(tmpdir(), `sputnik-e2e-${name}-`)));
  try {
    await server.start();
  } catch (e) {
    await server.dispose();
    throw e;
  }
  return server;
}

export interface BrowserOptions {
  /**
   * Console errors a test provokes on purpose (the browser logs every failed request); any other
   * console error goes to the problems list. `false`: console errors are not watched.
   */
  allowConsole?: RegExp | false;
  acceptDownloads?: boolean;
}

/**
 * Chromium in Russian (date inputs follow the browser's own locale, as the desktop app on a Russian
 * Windows) with one 1366×768 page; page errors and console errors go to `problems`, which a test
 * expects empty at its end.
 */
export async function openBrowser(problems: string[], opts: BrowserOptions = {}): Promise<{ browser: Browser; page: Page }> {
  requireChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, LANG: 'ru_RU.UTF-8', LANGUAGE: 'ru' },
    args: ['--headless', '--lang=ru-RU', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'ru-RU', acceptDownloads: opts.acceptDownloads });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const allowed = opts.allowConsole;
  if (allowed !== false) {
    page.on('console', (m) => {
      if (m.type() === 'error' && !allowed?.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  }
  return { browser, page };
}

/**
 * The suite's set-up, once: if it fails, every test fails with its error (vitest would report them
 * as skipped, and a UI test that did not run must not read as passing).
 */
export function setUpOnce(setUp: () => Promise<void>, timeout = 60_000): void {
  let setupError: unknown = null;
  beforeAll(async () => {
    setupError = await setUp().then(
      () => null,
      (e: unknown) => e,
    );
  }, timeout);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
}

/**
 * setUpOnce(setUp) for a suite on one sandbox and one browser, both closed after it: `made` names
 * what setUp made (either may be missing when it failed part-way).
 */
export function setUpWindow(setUp: () => Promise<void>, made: () => { browser?: Browser; server?: Sandbox }): void {
  setUpOnce(setUp);
  afterAll(async () => {
    const { browser, server } = made();
    await browser?.close();
    await server?.dispose();
  }, 30_000);
}

/** A screenshot in test-results/ (and, with `keepAs`, a copy in docs/screenshots/); returns its path. */
export async function shot(page: Page, name: string, opts: { fullPage?: boolean; keepAs?: string } = {}): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, name);
  await page.screenshot({ path, fullPage: opts.fullPage });
  if (opts.keepAs) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    copyFileSync(path, join(SCREENSHOTS, opts.keepAs));
  }
  return path;
}

/** Opens a page of the window through its menu and waits for its heading. */
export async function openPage(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: title, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 2, name: title, exact: true }).first().isVisible()).toBe(true);
}

/** The admin API through the page's own session cookie. */
export function admin<T>(page: Page, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
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

/** GET on the admin API through the page's own session cookie: the answer's body. */
export async function adminGet<T>(page: Page, path: string): Promise<T> {
  return (await admin<T>(page, path)).body;
}

/** What 1C sends, through the listener with its token (both asked of the admin API): the answer's status. */
export async function onec(page: Page, path: string, method: string, body?: unknown): Promise<number> {
  const listener = await adminGet<{ url: string; token: string }>(page, '/api/listener');
  const r = await fetch(listener.url + path, { method, headers: { Authorization: `Bearer ${listener.token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

/**
 * Holds the page's requests matching `match` until `release()`: `reached` resolves when the first
 * one arrives. A held request the page cancels meanwhile is dropped quietly.
 */
export async function hold(page: Page, match: (url: URL) => boolean): Promise<{ reached: Promise<void>; release: () => Promise<void> }> {
  let hit!: () => void;
  const reached = new Promise<void>((r) => (hit = r));
  let open!: () => void;
  const released = new Promise<void>((r) => (open = r));
  await page.route(match, async (route) => {
    hit();
    await released;
    await route.continue().catch(() => {});
  });
  return {
    reached,
    release: async () => {
      open();
      await page.unroute(match);
    },
  };
}
