import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestCore } from '../helpers/core.ts';
import { probeModule } from '../fixtures/probe-domain.ts';
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import { FileSettingsStore } from '../../main/config/settings-store.ts';
import { tempDir } from '../helpers/tmp.ts';

const uiBase = (loginUrl: string) => loginUrl.replace(/\?token=.*$/, '');

describe('admin API', () => {
  it('trades the login token for a cookie, then serves the UI and the API; nothing without it', async () => {
    const t = await startTestCore();
    const base = uiBase(t.uiLoginUrl);
    expect((await fetch(`${base}api/health`)).status).toBe(401);
    const bad = await fetch(`${base}?token=wrong`, { redirect: 'manual' });
    expect(bad.status).toBe(401);
    expect((await bad.json() as any).error.code).toBe('unauthorized');
    const login = await fetch(t.uiLoginUrl, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie.split(/;\s*/).slice(1).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict']);
    const cookieHeader = cookie.split(';')[0];
    // found among the browser's other cookies; a lookalike name is not it
    const among = await fetch(`${base}api/health`, { headers: { cookie: `theme=dark; ${cookieHeader}; lang=ru` } });
    expect(among.status).toBe(200);
    expect((await fetch(`${base}api/health`, { headers: { cookie: `x${cookieHeader}` } })).status).toBe(401);
    const page = await fetch(base, { headers: { cookie: cookieHeader } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const health = await (await fetch(`${base}api/health`, { headers: { cookie: cookieHeader } })).json() as any;
    expect(health).toMatchObject({ status: 'ok', listener: { url: t.listenerUrl, exposed: false }, connectors: { passteam: { state: 'disabled' } } });
    const bearer = await fetch(`${base}api/health`, { headers: { Authorization: `Bearer ${t.uiToken}` } });
    expect(bearer.status).toBe(200);
  });

  it('the UI token and the 1C token are different secrets', async () => {
    const t = await startTestCore();
    expect(t.uiToken).not.toBe(t.listenerToken);
    const r = await fetch(`${uiBase(t.uiLoginUrl)}api/health`, { headers: { Authorization: `Bearer ${t.listenerToken}` } });
    expect(r.status).toBe(401);
  });

  it('refuses a foreign Host (DNS rebinding) and mutations without the CSRF header', async () => {
    const t = await startTestCore();
    const base = uiBase(t.uiLoginUrl);
    const auth = { Authorization: `Bearer ${t.uiToken}` };
    const { request } = await import('undici');
    const r = await request(`${base}api/health`, { headers: { ...auth, host: 'attacker.example' } });
    expect(r.statusCode).toBe(403);
    await r.body.dump();
    const put = await fetch(`${base}api/settings`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(put.status).toBe(403);
  });

  it('lists the journal newest first with search; every 1C exchange is in it, secrets redacted', async () => {
    const t = await startTestCore({ modules: [probeModule] });
    await t.api('/v1/_probe/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Иванов', amount: '1 234,56' }) });
    await t.api('/v1/_probe/items/a-1', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":"x"}' });
    await fetch(`${t.listenerUrl}/v1/health?token=${t.listenerToken}`);
    const base = uiBase(t.uiLoginUrl);
    const get = async (q: string) => (await fetch(`${base}api/journal${q}`, { headers: { Authorization: `Bearer ${t.uiToken}` } })).json() as any;
    await expect.poll(async () => (await get('')).entries.length).toBe(3);
    const all = await get('');
    expect(all.entries.map((e: { method: string }) => e.method)).toEqual(['GET', 'PUT', 'POST']);
    expect(all.entries[0]).toMatchObject({ direction: 'in', system: '1c', status: 200 });
    expect(all.entries[0].url).not.toContain(t.listenerToken);
    expect(all.entries[1]).toMatchObject({ status: 202, url: '/v1/_probe/items/a-1' });
    const found = await get('?q=Иванов');
    expect(found.entries).toHaveLength(1);
    // An event lists its exchanges; each exchange has its bodies.
    const event = await (await fetch(`${base}api/journal/${found.entries[0].id}`, { headers: { Authorization: `Bearer ${t.uiToken}` } })).json() as any;
    expect(event.items).toHaveLength(1);
    const full = await (await fetch(`${base}api/journal/exchanges/${event.items[0].id}`, { headers: { Authorization: `Bearer ${t.uiToken}` } })).json() as any;
    expect(full.requestBody).toContain('Иванов');
    expect(full.responseBody).toContain('1234.56');
    expect((await get('?limit=2')).next).not.toBeNull();
  });

  it('settings: secrets are write-only; an invalid change is refused with the field and changes nothing; a valid one is saved', async () => {
    const dir = tempDir();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ listener: { port: 0, token: 'listener-secret-1' }, ui: { port: 0 } }));
    const { config, fromEnv } = parseConfig(JSON.parse(readFileSync(file, 'utf8')), {});
    const core = await createCore({ config, dataDir: dir, quiet: true, settingsStore: new FileSettingsStore(file, fromEnv) });
    const r = await core.start();
    try {
      const base = uiBase(r.uiLoginUrl);
      const h = { Authorization: `Bearer ${r.uiToken}`, 'content-type': 'application/json', 'X-Sputnik-UI': '1' };
      const view = await (await fetch(`${base}api/settings`, { headers: h })).json() as any;
      expect(JSON.stringify(view)).not.toContain('listener-secret-1');
      expect(view.secrets['listener.token']).toBe(true);
      expect(view.secrets['passteam.token']).toBe(false);
      expect(view.savedTo).toBe(file);

      const bad = await fetch(`${base}api/settings`, { method: 'PUT', headers: h, body: JSON.stringify({ passteam: { enabled: true } }) });
      expect(bad.status).toBe(422);
      const err = (await bad.json() as any).error;
      expect(err.field).toBe('passteam.token');
      expect(err.message).toMatch(/обязательно/);
      expect(JSON.parse(readFileSync(file, 'utf8')).passteam).toBeUndefined();

      const typo = await fetch(`${base}api/settings`, { method: 'PUT', headers: h, body: JSON.stringify({ passteam: { tokn: 'x' } }) });
      expect(typo.status).toBe(422);
      expect((await typo.json() as any).error.field).toBe('passteam.tokn');

      const good = await fetch(`${base}api/settings`, {
        method: 'PUT',
        headers: h,
        body: JSON.stringify({ passteam: { enabled: true, token: 'pt-secret-9', templateId: 'tpl', baseUrl: 'http://127.0.0.1:9' }, listener: { token: '' } }),
      });
      expect(good.status).toBe(200);
      const saved = await good.json() as any;
      expect(JSON.stringify(saved)).not.toContain('pt-secret-9');
      expect(saved.secrets['passteam.token']).toBe(true);
      const onDisk = JSON.parse(readFileSync(file, 'utf8'));
      expect(onDisk.passteam.token).toBe('pt-secret-9');
      expect(onDisk.listener.token).toBe('listener-secret-1'); // "" keeps a write-only secret
      expect(core.health().connectors!.passteam.state).toBe('ok');
    } finally {
      await core.stop(1000);
    }
  });

  it('unknown admin routes get the JSON error shape', async () => {
    const t = await startTestCore();
    const r = await fetch(`${uiBase(t.uiLoginUrl)}api/nope`, { headers: { Authorization: `Bearer ${t.uiToken}` } });
    expect(r.status).toBe(404);
    expect((await r.json() as any).error.code).toBe('not_found');
  });
});
