import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { startDesktopCore } from '../../main/desktop/core.ts';
import {
  DesktopSettingsStore,
  NO_ENCRYPTION_REASON,
  NO_KEYRING_REASON,
  SecretStore,
  SecretsRefusedError,
  withStoredSecrets,
} from '../../main/desktop/secret-store.ts';
import { fakeSafeStorage, memoryBacking } from '../helpers/safe-storage.ts';

const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sputnik-secrets-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('secret store (safeStorage)', () => {
  it('encrypts on set, decrypts on get, never keeps the plain value', () => {
    const backing = memoryBacking();
    const store = new SecretStore({ safeStorage: fakeSafeStorage(), platform: 'linux', backing });
    store.set('passteam.token', 'T0P');
    expect(backing.peek()['passteam.token']).toBe(Buffer.from('enc:T0P').toString('base64'));
    expect(JSON.stringify(backing.peek())).not.toContain('T0P');
    expect(store.get('passteam.token')).toBe('T0P');
    expect(store.has('passteam.token')).toBe(true);
    store.delete('passteam.token');
    expect(store.get('passteam.token')).toBeUndefined();
  });

  it('Linux basic_text backend: refuses with a Russian reason and writes nothing', () => {
    const backing = memoryBacking();
    const store = new SecretStore({ safeStorage: fakeSafeStorage('basic_text'), platform: 'linux', backing });
    expect(store.availability()).toEqual({ ok: false, reason: NO_KEYRING_REASON });
    expect(() => store.set('paykeeper.password', 'p')).toThrow(SecretsRefusedError);
    expect(() => store.set('paykeeper.password', 'p')).toThrow('нет хранилища ключей');
    expect(backing.save).not.toHaveBeenCalled();
  });

  it('encryption unavailable (any OS): refused; the backend is asked only on Linux', () => {
    const safe = fakeSafeStorage('basic_text', false);
    expect(new SecretStore({ safeStorage: safe, platform: 'win32', backing: memoryBacking() }).availability()).toEqual({ ok: false, reason: NO_ENCRYPTION_REASON });
    safe.available = true;
    // On Windows getSelectedStorageBackend is not consulted (it is Linux-only in Electron).
    expect(new SecretStore({ safeStorage: safe, platform: 'win32', backing: memoryBacking() }).availability()).toEqual({ ok: true });
  });

  it('a blob that no longer decrypts reads as absent', () => {
    const store = new SecretStore({ safeStorage: fakeSafeStorage(), platform: 'darwin', backing: memoryBacking({ k: Buffer.from('garbage').toString('base64') }) });
    expect(store.get('k')).toBeUndefined();
  });
});

describe('desktop settings store: config file without secrets + safeStorage', () => {
  function setup(safe = fakeSafeStorage(), fileConfig: unknown = {}, fromEnv: string[] = []) {
    const dir = temp();
    const file = join(dir, 'config.json');
    const backing = memoryBacking();
    const secrets = new SecretStore({ safeStorage: safe, platform: 'linux', backing });
    const onRefused = vi.fn();
    const store = new DesktopSettingsStore({ file, fileConfig, secrets, fromEnv, onRefused });
    return { file, backing, secrets, store, onRefused };
  }
  const config = (raw: object) => parseConfig(raw, {}).config;

  it('with a keyring: secrets go to safeStorage, the file gets the rest, and they come back as a patch', async () => {
    const { file, secrets, store } = setup();
    await store.save(config({ ui: { port: 40001 }, passteam: { token: 'PT-SECRET' }, paykeeper: { password: 'PK-SECRET' } }));
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('PT-SECRET');
    expect(text).not.toContain('PK-SECRET');
    expect(JSON.parse(text).ui.port).toBe(40001);
    expect(withStoredSecrets(JSON.parse(text), secrets)).toMatchObject({ ui: { port: 40001 }, passteam: { token: 'PT-SECRET' }, paykeeper: { password: 'PK-SECRET' } });
    // Secrets from environment variables are neither stored nor filled in.
    expect(withStoredSecrets({}, secrets, ['passteam.token'])).not.toHaveProperty('passteam');
  });

  it('without a keyring: a new secret is refused (409, Russian reason, tray notified) and nothing is written', async () => {
    const { file, backing, store, onRefused } = setup(fakeSafeStorage('basic_text'));
    let error: unknown;
    try {
      await store.save(config({ passteam: { token: 'NEW' } }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretsRefusedError);
    expect((error as SecretsRefusedError).status).toBe(409);
    expect((error as SecretsRefusedError).code).toBe('secrets_unprotected');
    expect(onRefused).toHaveBeenCalledWith(NO_KEYRING_REASON);
    expect(backing.save).not.toHaveBeenCalled();
    expect(() => statSync(file)).toThrow();
  });

  it('without a keyring: non-secret changes save, and a secret the user keeps in the file by hand stays there', async () => {
    const { file, store, onRefused } = setup(fakeSafeStorage('basic_text'), { passteam: { token: 'HAND' } });
    await store.save(config({ ui: { port: 40002 }, passteam: { token: 'HAND' } }));
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.passteam.token).toBe('HAND');
    expect(saved.ui.port).toBe(40002);
    expect(onRefused).not.toHaveBeenCalled();
  });

  it('with a keyring: a plain-text secret from the file moves into safeStorage on the next save', async () => {
    const { file, secrets, store } = setup(fakeSafeStorage(), { passteam: { token: 'HAND' } });
    await store.save(config({ passteam: { token: 'HAND' } }));
    expect(readFileSync(file, 'utf8')).not.toContain('HAND');
    expect(secrets.get('passteam.token')).toBe('HAND');
  });
});

describe('desktop start and ReGate tenants with secrets in safeStorage', () => {
  const tenant = { id: 'shop', user: 'richest', baseUrl: 'https://1c.local/shop/hs/regate/v1', onecUser: 'svc' };

  it('a connector switched on with its token only in safeStorage starts (the token is filled in before the settings are checked)', async () => {
    const dir = temp();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ listener: { port: 0 }, ui: { port: 0 }, passteam: { enabled: true, templateId: 'tpl', baseUrl: 'http://127.0.0.1:9' } }));
    const backing = memoryBacking();
    const secrets = new SecretStore({ safeStorage: fakeSafeStorage(), platform: 'win32', backing });
    secrets.set('passteam.token', 'PT-KEPT');
    const desktop = await startDesktopCore({ configFile: file, dataDir: dir, rendererDir: dir, secrets });
    try {
      expect(desktop.config.passteam.token).toBe('PT-KEPT');
      expect(desktop.core.health().connectors!.passteam.state).toBe('ok');
    } finally {
      await desktop.stop(1000);
    }
  });

  it("a tenant's passwords go to safeStorage by its id, not into the file; they come back at start; removing the tenant removes them", async () => {
    const dir = temp();
    const file = join(dir, 'config.json');
    const backing = memoryBacking();
    const secrets = new SecretStore({ safeStorage: fakeSafeStorage(), platform: 'win32', backing });
    const store = new DesktopSettingsStore({ file, fileConfig: {}, secrets });
    await store.save(parseConfig({ regate: { tenants: [{ ...tenant, password: 'RS-PASS', onecPassword: 'ONEC-PASS' }] } }, {}).config);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('RS-PASS');
    expect(text).not.toContain('ONEC-PASS');
    expect(secrets.keys().sort()).toEqual(['regate.tenants.shop.onecPassword', 'regate.tenants.shop.password']);
    // Next start: the file alone is not valid (a tenant needs its password); with the stored ones it is.
    const again = parseConfig(withStoredSecrets(JSON.parse(text), secrets), {}).config;
    expect(again.regate.tenants[0]).toMatchObject({ id: 'shop', password: 'RS-PASS', onecPassword: 'ONEC-PASS' });
    await store.save(parseConfig({ regate: { tenants: [] } }, {}).config);
    expect(secrets.keys()).toEqual([]);
  });

  it('without a keyring a new tenant password is refused like any secret, and nothing is written', async () => {
    const dir = temp();
    const file = join(dir, 'config.json');
    const secrets = new SecretStore({ safeStorage: fakeSafeStorage('basic_text'), platform: 'linux', backing: memoryBacking() });
    const store = new DesktopSettingsStore({ file, fileConfig: {}, secrets });
    await expect(store.save(parseConfig({ regate: { tenants: [{ ...tenant, password: 'RS-PASS' }] } }, {}).config)).rejects.toBeInstanceOf(SecretsRefusedError);
    expect(() => statSync(file)).toThrow();
  });
});
