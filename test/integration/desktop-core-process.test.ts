import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreControl } from '../../main/desktop/core-control.ts';
import { CoreSupervisor, coreDown, nodeSpawn, secretsSnapshot, type CoreState } from '../../main/desktop/core-process.ts';
import { SecretStore, type SafeStorageLike } from '../../main/desktop/secret-store.ts';
import { trayStatus } from '../../main/desktop/status.ts';
import { CoreWatch } from '../../main/desktop/core-watch.ts';
import type { MenuItemSpec } from '../../main/desktop/tray-menu.ts';
import { TrayService } from '../../main/desktop/tray.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The desktop's core in its own process, with a plain Node child in place of Electron's
 * utilityProcess: the real core-child.ts entry, the real core, a SecretStore over a fake
 * safeStorage. Waits on the supervisor's states and the processes' exits, never on sleeps.
 */
const CORE_CHILD = resolve(import.meta.dirname, '../../main/desktop/core-child.ts');

const safeStorage: SafeStorageLike = {
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => 'gnome_libsecret',
  encryptString: (plain) => Buffer.from(`enc:${plain}`),
  decryptString: (buf) => buf.toString().slice(4),
};

const running: CoreSupervisor[] = [];
// A failed assertion must not leave a core process behind (it also stops when this worker's IPC closes).
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop(1000)));
});

function setup(opts: { maxRestarts?: number } = {}) {
  const dir = tempDir('sputnik-core-process-');
  const configFile = join(dir, 'config.json');
  // Passteam switched on with its token only in safeStorage: the core starts only if the shell passed it.
  writeFileSync(configFile, JSON.stringify({ listener: { port: 0 }, ui: { port: 0 }, passteam: { enabled: true, templateId: 'tpl', baseUrl: 'http://127.0.0.1:9' } }));
  let all: Record<string, string> = {};
  const secrets = new SecretStore({ safeStorage, platform: 'linux', backing: { load: () => ({ ...all }), save: (next) => void (all = { ...next }) } });
  secrets.set('passteam.token', 'PT-KEPT');
  const supervisor = new CoreSupervisor({
    spawn: nodeSpawn(CORE_CHILD, { stdio: 'ignore' }),
    start: () => ({ options: { configFile, dataDir: dir, rendererDir: dir }, secrets: secretsSnapshot(secrets) }),
    secrets,
    backoffMs: [20, 40],
    maxRestarts: opts.maxRestarts ?? 3,
  });
  running.push(supervisor);
  const control = new CoreControl({ fetch, connection: () => supervisor.connection(), health: () => null });
  return { dir, configFile, secrets, supervisor, control };
}

/** Resolves at the first state change that satisfies `pick`. */
function reaches(supervisor: CoreSupervisor, pick: (s: CoreState) => boolean): Promise<CoreState> {
  return new Promise((done) => {
    const off = supervisor.subscribe((s) => {
      if (!pick(s)) return;
      off();
      done(s);
    });
  });
}

describe('the core in its own process, supervised', () => {
  it('starts and serves with the secrets the shell keeps; kill -9 → restarted, serves again; quit → clean stop, store closed', { timeout: 120_000 }, async () => {
    const { dir, configFile, secrets, supervisor, control } = setup();
    const first = await supervisor.start();
    const firstPid = supervisor.pid!;
    expect(firstPid).toBeGreaterThan(0);
    expect(firstPid).not.toBe(process.pid);
    // The tray's health, over HTTP: Passteam enabled with the token from safeStorage.
    const health = await control.health();
    expect(health.connectors!.passteam.state).toBe('ok');

    // A token saved in the window goes back to the shell's safeStorage, never into the file.
    const base = supervisor.connection()!;
    const put = await fetch(new URL('/api/settings', base.baseUrl), {
      method: 'PUT',
      headers: { authorization: `Bearer ${base.token}`, 'x-sputnik-ui': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ passteam: { token: 'PT-NEW' } }),
    });
    expect(put.status).toBe(200);
    expect(secrets.get('passteam.token')).toBe('PT-NEW');
    expect(readFileSync(configFile, 'utf8')).not.toContain('PT-');

    // kill -9: restarted, and the new process serves (new login token; the new secret came with its start).
    const restarting = reaches(supervisor, (s) => s.state === 'restarting');
    const back = reaches(supervisor, (s) => s.state === 'running');
    process.kill(firstPid, 'SIGKILL');
    expect(await restarting).toMatchObject({ attempt: 1, reason: 'служба завершена сигналом SIGKILL' });
    await back;
    expect(supervisor.pid).not.toBe(firstPid);
    expect(supervisor.connection()!.token).not.toBe(first.uiToken);
    const again = await control.health();
    expect(again.connectors!.passteam.state).toBe('ok');
    const view = (await (await fetch(new URL('/api/settings', supervisor.connection()!.baseUrl), { headers: { authorization: `Bearer ${supervisor.connection()!.token}` } })).json()) as { secrets: Record<string, boolean> };
    expect(view.secrets['passteam.token']).toBe(true);

    // Quit: the core stops intake, closes the store (its WAL checkpointed away) and exits 0.
    const pid = supervisor.pid!;
    const stopped = await supervisor.stop(5000);
    expect(stopped).toEqual({ clean: true, killed: false, code: 0, signal: null });
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(join(dir, 'sputnik.db'))).toBe(true);
    expect(existsSync(join(dir, 'sputnik.db-wal'))).toBe(false);
    expect(supervisor.state.state).toBe('stopped');
  });

  it('a config that cannot start is reported, not retried', { timeout: 60_000 }, async () => {
    const { configFile, supervisor } = setup();
    writeFileSync(configFile, JSON.stringify({ listener: { port: 0 }, ui: { port: 0 }, passteam: { tokn: 'x' } }));
    await expect(supervisor.start()).rejects.toThrow('passteam.tokn');
    expect(supervisor.state).toMatchObject({ state: 'failed', crashes: 0 });
    expect(trayStatus(coreDown(supervisor.state)!).line).toBe('Служба Спутника не запустилась — перезапустите службу');
  });

  it('a crash loop gives up with a Russian state for the tray', { timeout: 120_000 }, async () => {
    const { configFile, supervisor } = setup({ maxRestarts: 2 });
    await supervisor.start();
    // The config broken by hand while it ran: every restart fails at once.
    writeFileSync(configFile, '{ broken');
    const failed = reaches(supervisor, (s) => s.state === 'failed');
    process.kill(supervisor.pid!, 'SIGKILL');
    const state = await failed;
    expect(state).toMatchObject({ state: 'failed', crashes: 3 });
    expect(trayStatus(coreDown(state)!)).toMatchObject({ state: 'problem', line: 'Служба Спутника остановлена после 3 сбоев подряд — перезапустите службу' });
    expect(supervisor.pid).toBeUndefined();
    await expect(supervisor.stop(1000)).resolves.toMatchObject({ clean: true, killed: false });
  });

  it('a crash loop gives up → the tray offers «Перезапустить службу» → the core runs again and answers /api/health', { timeout: 120_000 }, async () => {
    const { configFile, supervisor, control } = setup({ maxRestarts: 2 });
    const good = readFileSync(configFile, 'utf8');
    // The tray as main.ts wires it: TrayService over a fake Electron tray, CoreWatch over the real supervisor.
    let menu: MenuItemSpec[] = [];
    let tooltip = '';
    const notices: string[] = [];
    const restartCore = () => void watch.restart();
    const tray = new TrayService<string, MenuItemSpec[]>({
      createTray: () => ({ setImage() {}, setToolTip: (t) => void (tooltip = t), setContextMenu: (m) => void (menu = m ?? []), on() {}, destroy() {} }),
      buildMenu: (items) => items,
      icons: { ok: 'ok', warning: 'warning', problem: 'problem' },
      actions: { open() {}, syncDocpart() {}, pauseSending() {}, resumeSending() {}, restartCore, setAutostart() {}, openLogsFolder() {}, quit() {} },
      getAutostart: () => false,
    });
    let reloads = 0;
    const watch = new CoreWatch({ core: supervisor, health: () => control.health(), tray, notify: (t) => void notices.push(t), restartGraceMs: 1000, reloadWindow: async () => void reloads++ });
    const click = (id: string) => menu.find((i) => i.id === id)!.click!({ checked: false });
    const offered = () => menu.some((i) => i.id === 'restart-core');

    await supervisor.start();
    await expect.poll(() => tray.status.line).toBe('Всё работает');
    expect(offered()).toBe(false);
    writeFileSync(configFile, '{ broken');
    const failed = reaches(supervisor, (s) => s.state === 'failed');
    process.kill(supervisor.pid!, 'SIGKILL');
    await failed;
    expect(tooltip).toBe('Спутник — Служба Спутника остановлена после 3 сбоев подряд — перезапустите службу');
    expect(tray.status.state).toBe('problem');
    expect(notices).toEqual([expect.stringMatching(/^Служба Спутника 3 раз подряд завершилась со сбоем .+ выберите «Перезапустить службу» в меню значка Спутника\.$/)]);
    expect(offered()).toBe(true);

    // Clicked while the config is still broken: it does not start, says why, and does not loop.
    const refused = reaches(supervisor, (s) => s.state === 'failed');
    click('restart-core');
    expect(await refused).toMatchObject({ state: 'failed', crashes: 0 });
    await expect.poll(() => notices.length).toBe(2);
    expect(notices[1]).toMatch(/^Служба Спутника не запустилась: .+Когда причина устранена, выберите «Перезапустить службу»/);
    expect(tooltip).toBe('Спутник — Служба Спутника не запустилась — перезапустите службу');
    expect(offered()).toBe(true);

    // The config repaired: «Перезапустить службу» brings it back, and the tray shows its health again.
    writeFileSync(configFile, good);
    const back = reaches(supervisor, (s) => s.state === 'running');
    click('restart-core');
    await back;
    const health = await control.health();
    expect(health.connectors!.passteam.state).toBe('ok');
    await expect.poll(() => tooltip).toBe('Спутник — Всё работает');
    expect(offered()).toBe(false);
    expect(watch.status()).toEqual({ state: 'ok', line: 'Всё работает', down: false, restart: false });
    // The open window is loaded from the new process (its login token is new).
    expect(reloads).toBe(1);
    // The crash count started again: a kill now is restart 1 of 2, not a give-up.
    const restarting = reaches(supervisor, (s) => s.state === 'restarting');
    process.kill(supervisor.pid!, 'SIGKILL');
    expect(await restarting).toMatchObject({ attempt: 1, of: 2 });
    await reaches(supervisor, (s) => s.state === 'running');
    watch.close();
  });

  it('«Перезапустить службу» on a core that serves: stopped cleanly, a new process serves', { timeout: 120_000 }, async () => {
    const { dir, supervisor, control } = setup();
    await supervisor.start();
    const firstPid = supervisor.pid!;
    const states: string[] = [];
    supervisor.subscribe((s) => states.push(s.state));
    await supervisor.restart(5000);
    expect(states).toEqual(['stopping', 'starting', 'running']);
    expect(supervisor.pid).not.toBe(firstPid);
    expect(() => process.kill(firstPid, 0)).toThrow();
    expect((await control.health()).connectors!.passteam.state).toBe('ok');
    expect(existsSync(join(dir, 'sputnik.db'))).toBe(true);
  });
});
