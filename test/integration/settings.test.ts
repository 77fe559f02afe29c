import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import type { ConfigInput } from '../../main/config/schema.ts';
import { FileSettingsStore } from '../../main/config/settings-store.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { createCore, type Core } from '../../main/core/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { tempDir } from '../helpers/tmp.ts';

/** «Настройки» through the admin API, on a real config file and a real store. */
const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.stop(1000);
});

async function start(input: ConfigInput, modules: ModuleFactory[] = []) {
  const dir = tempDir();
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...input, listener: { port: 0, ...input.listener }, ui: { port: 0 } }));
  const { config, fromEnv } = parseConfig(JSON.parse(readFileSync(file, 'utf8')), {});
  const core = await createCore({ config, dataDir: dir, quiet: true, modules, settingsStore: new FileSettingsStore(file, fromEnv) });
  cores.push(core);
  const r = await core.start();
  const base = r.uiLoginUrl.replace(/\?token=.*$/, '');
  const headers = { Authorization: `Bearer ${r.uiToken}`, 'content-type': 'application/json', 'X-Sputnik-UI': '1' };
  const ui = async (path: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const onDisk = () => JSON.parse(readFileSync(file, 'utf8'));
  const api = (path: string, body: unknown) =>
    fetch(`${r.listenerUrl}${path}`, { method: 'PUT', headers: { Authorization: `Bearer ${r.listenerToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { core, ui, onDisk, api, file };
}

const TOKEN = 'pt-right-token';
const TESTED = 'Passteam не принял токен: проверьте его в личном кабинете Passteam';

describe('settings: a refused Passteam token', () => {
  it('tried with «Проверить соединение»: says so without claiming anything was paused, and nothing is', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const t = await start({ passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } }, [passteamModule]);
      const test = await t.ui('api/settings/test', 'POST', { connector: 'passteam', settings: { token: 'typo-token' } });
      expect(test.status).toBe(200);
      expect(test.body.ok).toBe(false);
      expect(test.body.message).toBe(TESTED);
      expect(test.body.message).not.toMatch(/приостановлен/i);
      // The saved token still works: the connector goes on sending.
      expect(t.core.health().connectors!.passteam.state).toBe('ok');
      expect((await t.api('/v1/cards/c-tested?wait=5', { holder: { name: 'Иванов', phone: '+79001234567' } })).status).toBe(200);
      expect(t.onDisk().passteam.token).toBe(TOKEN);
    } finally {
      await fake.stop();
    }
  });

  it('saved and in use: the connector pauses until the settings change, with the refusal as its last error', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const t = await start({ passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } }, [passteamModule]);
      expect((await t.ui('api/settings', 'PUT', { passteam: { token: 'saved-wrong-token' } })).status).toBe(200);
      expect((await t.api('/v1/cards/c-saved?wait=2', { holder: { name: 'Петров', phone: '+79001234568' } })).status).toBe(202);
      await expect.poll(() => t.core.health().connectors!.passteam.state).toBe('paused');
      const health = (await t.ui('api/health')).body;
      expect(health.connectors.passteam).toMatchObject({ state: 'paused', lastError: { code: 'passteam_auth', message: expect.stringContaining('Passteam не принял токен') } });
      // A new token in the settings lets it go on.
      expect((await t.ui('api/settings', 'PUT', { passteam: { token: TOKEN } })).status).toBe(200);
      await expect.poll(() => t.core.health().connectors!.passteam.state).toBe('ok');
    } finally {
      await fake.stop();
    }
  });
});

const SHOP = { id: 'shop', user: 'richest', password: 'RS-PASS-1', baseUrl: 'https://1c.local/shop/hs/regate/v1', onecUser: 'svc', onecPassword: 'ONEC-PASS-1' };

describe('settings: ReGate tenants from the window', () => {
  it('edit, add and remove a tenant; passwords are write-only and kept by id; the change applies after a restart', async () => {
    const t = await start({ regate: { tenants: [SHOP] } });
    const view = (await t.ui('api/settings')).body;
    expect(JSON.stringify(view)).not.toContain('RS-PASS-1');
    expect(JSON.stringify(view)).not.toContain('ONEC-PASS-1');
    expect(view.secrets).toMatchObject({ 'regate.tenants.0.password': true, 'regate.tenants.0.onecPassword': true });
    expect(view.restartPending).toEqual([]);
    const [shown] = view.config.regate.tenants;

    // Edit: the form sends the tenant back without its passwords; they are kept.
    const edited = await t.ui('api/settings', 'PUT', { regate: { tenants: [{ ...shown, poolSize: 20, quotaPerMinute: 600 }] } });
    expect(edited.status).toBe(200);
    expect(edited.body.restartRequired).toBe(true);
    expect(edited.body.restartPending).toEqual(['regate']);
    expect(JSON.stringify(edited.body)).not.toContain('RS-PASS-1');
    expect(t.onDisk().regate.tenants).toEqual([expect.objectContaining({ id: 'shop', poolSize: 20, quotaPerMinute: 600, password: 'RS-PASS-1', onecPassword: 'ONEC-PASS-1' })]);

    // Add: a new tenant needs its own password.
    const second = { id: 'shop2', user: 'richest2', baseUrl: 'https://1c.local/shop2/hs/regate/v1', onecUser: 'svc2' };
    const before = readFileSync(t.file, 'utf8');
    const noPassword = await t.ui('api/settings', 'PUT', { regate: { tenants: [shown, second] } });
    expect(noPassword.status).toBe(422);
    expect(noPassword.body.error).toMatchObject({ code: 'invalid_value', field: 'regate.tenants[1].password', message: 'Настройка «regate.tenants[1].password»: обязательное поле не заполнено' });
    expect(readFileSync(t.file, 'utf8')).toBe(before);
    const added = await t.ui('api/settings', 'PUT', { regate: { tenants: [shown, { ...second, password: 'RS-PASS-2' }] } });
    expect(added.status).toBe(200);
    expect(added.body.secrets).toMatchObject({ 'regate.tenants.1.password': true, 'regate.tenants.1.onecPassword': false });
    expect(t.onDisk().regate.tenants.map((x: { id: string; password: string }) => [x.id, x.password])).toEqual([
      ['shop', 'RS-PASS-1'],
      ['shop2', 'RS-PASS-2'],
    ]);

    // A new password replaces the saved one; remove: the list without the tenant.
    const shown2 = added.body.config.regate.tenants[1];
    const removed = await t.ui('api/settings', 'PUT', { regate: { tenants: [{ ...shown2, password: 'RS-PASS-3' }] } });
    expect(removed.status).toBe(200);
    expect(t.onDisk().regate.tenants).toEqual([expect.objectContaining({ id: 'shop2', password: 'RS-PASS-3' })]);
    expect(removed.body.config.regate.tenants.map((x: { id: string }) => x.id)).toEqual(['shop2']);
  });

  it('bad tenant input is refused in Russian naming the field, and changes nothing', async () => {
    const t = await start({ regate: { tenants: [SHOP] } });
    const [shown] = (await t.ui('api/settings')).body.config.regate.tenants;
    const before = readFileSync(t.file, 'utf8');
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...shown, baseUrl: '1c.local/base' }, 'regate.tenants[0].baseUrl', /нужен адрес вида https:\/\/host/],
      [{ ...shown, poolSize: 1 }, 'regate.tenants[0].poolSize', /должно быть не меньше 2/],
      [{ ...shown, id: 'Магазин 1' }, 'regate.tenants[0].id', /латинские буквы, цифры/],
      [{ ...shown, onecUser: '' }, 'regate.tenants[0].onecUser', /не заполнено/],
      [{ ...shown, timeouts: { ...shown.timeouts, readSeconds: 0 } }, 'regate.tenants[0].timeouts.readSeconds', /не меньше 1/],
    ];
    for (const [tenant, field, message] of cases) {
      const r = await t.ui('api/settings', 'PUT', { regate: { tenants: [tenant] } });
      expect(r.status, field).toBe(422);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toMatch(message);
    }
    const twice = await t.ui('api/settings', 'PUT', { regate: { tenants: [shown, { ...shown, user: 'other', password: 'x' }] } });
    expect(twice.status).toBe(422);
    expect(twice.body.error).toMatchObject({ field: 'regate.tenants[1].id', message: 'Настройка «regate.tenants[1].id»: код «shop» уже у другой базы: у каждой базы свой код' });
    expect(readFileSync(t.file, 'utf8')).toBe(before);
    expect((await t.ui('api/settings')).body.restartPending).toEqual([]);
  });
});
