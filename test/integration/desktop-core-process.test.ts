import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreControl } from '../../main/desktop/core-control.ts';
import { CoreSupervisor, coreDown, nodeSpawn, secretsSnapshot, type CoreState } from '../../main/desktop/core-process.ts';
import { SecretStore, type SafeStorageLike } from '../../main/desktop/secret-store.ts';
import { trayStatus } from '../../main/desktop/status.ts';
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
    expect(trayStatus(coreDown(supervisor.state)!).line).toBe('Служба Спутника не запустилась — перезапустите Спутник');
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
    expect(trayStatus(coreDown(state)!)).toMatchObject({ state: 'problem', line: 'Служба Спутника остановлена после 3 сбоев подряд — перезапустите Спутник' });
    expect(supervisor.pid).toBeUndefined();
    await expect(supervisor.stop(1000)).resolves.toMatchObject({ clean: true, killed: false });
  });
});
