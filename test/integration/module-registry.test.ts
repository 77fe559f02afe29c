import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// The one registration line of a new connector, made here instead of in main/connectors/index.ts:
// the test's Sputnik has the sample connector (test/fixtures/sample-connector/) and nothing else
// of Sputnik was changed for it.
vi.mock('../../main/connectors/index.ts', async (importOriginal) => (await import('../fixtures/sample-connector/registered.ts')).withSample(importOriginal));

const { parseConfig } = await import('../../main/config/load.ts');
const { applyPatch, secretPresence, secretValues, withoutSecrets } = await import('../../main/config/settings-store.ts');
const { main } = await import('../../main/cli.ts');
const { DesktopSettingsStore, withStoredSecrets } = await import('../../main/desktop/secret-store.ts');
const { memorySecretStore } = await import('../helpers/safe-storage.ts');
const { systemTitle, subjectOf } = await import('../../main/journal/wording.ts');
const { moduleMigrations } = await import('../../main/core/registry.ts');
const { openStore } = await import('../../main/store/index.ts');
const { DB_FILE } = await import('../../main/store/db.ts');
const { MIGRATIONS } = await import('../../main/store/migrations.ts');
const { startTestCore } = await import('../helpers/core.ts');
const { tempDir } = await import('../helpers/tmp.ts');
const { sample } = await import('../fixtures/sample-connector/module.ts');

type Sample = { enabled: boolean; baseUrl?: string; apiKey?: string; batch: number };
const sampleOf = (config: object) => (config as { sample: Sample }).sample;

/** The sample connector's remote: takes POST /samples/:id and GET /ping with the right X-Api-Key. */
let service: Server;
let serviceUrl = '';
const received: string[] = [];
beforeAll(async () => {
  service = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.writeHead(req.headers['x-api-key'] === 'KEY-1' ? 200 : 401, { 'Content-Type': 'application/json' }).end('{}');
  });
  service.listen(0, '127.0.0.1');
  await once(service, 'listening');
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => service.close(() => done())));

describe('a connector registered with one line gets everything else from its descriptor', () => {
  it('its config slice: defaults, strict keys, required-when-enabled fields, its secret from its environment variable', () => {
    expect(sampleOf(parseConfig({}, {}).config)).toEqual({ enabled: false, batch: 10 });
    expect(() => parseConfig({ sample: { enabled: true } }, {})).toThrow(/sample\.baseUrl: обязательно, когда коннектор включён \(адрес сервиса образцов\)/);
    expect(() => parseConfig({ sample: { enabled: true, baseUrl: serviceUrl } }, {})).toThrow(/sample\.apiKey: обязательно, когда коннектор включён \(или переменная SPUTNIK_SAMPLE_API_KEY\)/);
    expect(() => parseConfig({ sample: { typo: 1 } }, {})).toThrow(/sample\.typo/);
    const loaded = parseConfig({ sample: { enabled: true, baseUrl: serviceUrl } }, { SPUTNIK_SAMPLE_API_KEY: 'KEY-ENV' });
    expect(sampleOf(loaded.config).apiKey).toBe('KEY-ENV');
    expect(loaded.fromEnv).toEqual(['sample.apiKey']);
  });

  it('its secret: write-only in the settings, redacted, named in the CLI help, kept in safeStorage by the desktop', async () => {
    const { config } = parseConfig({ sample: { enabled: true, baseUrl: serviceUrl, apiKey: 'KEY-1' } }, {});
    expect(secretPresence(config)['sample.apiKey']).toBe(true);
    expect(secretValues(config)).toContain('KEY-1');
    expect(sampleOf(withoutSecrets(config))).not.toHaveProperty('apiKey');
    expect(sampleOf(applyPatch(config, { sample: { apiKey: '' } }) as object).apiKey).toBe('KEY-1');

    let help = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((help += String(chunk)), true));
    try {
      await main(['--help']);
    } finally {
      write.mockRestore();
    }
    expect(help).toContain('SPUTNIK_SAMPLE_API_KEY');

    const file = join(tempDir(), 'config.json');
    const secrets = memorySecretStore();
    await new DesktopSettingsStore({ file, fileConfig: {}, secrets }).save(config);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('KEY-1');
    expect(secrets.keys()).toEqual(['sample.apiKey']);
    expect(sampleOf(withStoredSecrets(JSON.parse(text), secrets) as object).apiKey).toBe('KEY-1');
  });

  it('its table, its change feed, its health, /api/meta, its OpenAPI tag, its check and its journal words, running in the core', async () => {
    const t = await startTestCore({ config: { sample: { enabled: true, baseUrl: serviceUrl, apiKey: 'KEY-1' } } as object, modules: [sample] });
    const ui = (path: string, init: RequestInit = {}) =>
      fetch(t.uiUrl + path.replace(/^\//, ''), { ...init, headers: { Authorization: `Bearer ${t.uiToken}`, 'X-Sputnik-UI': '1', ...(init.body ? { 'Content-Type': 'application/json' } : {}) } });

    // Its migration ran, recorded by its id.
    expect(t.core.store.sql.value("SELECT name FROM sqlite_master WHERE name = 'sample_items'")).toBe('sample_items');
    expect(t.core.store.sql.column('SELECT id FROM module_migrations')).toEqual(['sample:1']);

    // Its health entry, and «Приостановить отправку» for it.
    expect(t.core.health().connectors?.sample).toEqual({ state: 'ok', lastError: null, since: null });

    // /api/meta: what the window builds its menu, settings and names from.
    const meta = (await (await ui('/api/meta')).json()) as any;
    expect(meta.modules.find((m: any) => m.name === 'sample')).toEqual({ name: 'sample', title: 'Образец', connector: { pausable: true, testable: true }, feeds: ['samples'], page: null, restart: false });
    expect(meta.systems.sample).toBe('Образец');
    expect(meta.settings.find((s: any) => s.name === 'sample')).toEqual({
      name: 'sample',
      title: 'Образец (тестовый коннектор)',
      short: 'Образец',
      testable: true,
      fields: [
        { key: 'enabled', label: 'Включён', kind: 'bool' },
        { key: 'baseUrl', label: 'Адрес сервиса', kind: 'url' },
        { key: 'apiKey', label: 'Ключ API', kind: 'secret' },
        { key: 'batch', label: 'Образцов за раз', kind: 'number', min: 1, max: 50 },
      ],
    });
    const settings = (await (await ui('/api/settings')).json()) as any;
    expect(settings.config.sample).toEqual({ enabled: true, baseUrl: serviceUrl, batch: 10 });
    expect(settings.secrets['sample.apiKey']).toBe(true);

    // «Проверить соединение» runs its own check.
    expect(await (await ui('/api/settings/test', { method: 'POST', body: JSON.stringify({ connector: 'sample', settings: {} }) })).json()).toEqual({ ok: true, message: 'ключ принят' });
    expect(await (await ui('/api/settings/test', { method: 'POST', body: JSON.stringify({ connector: 'sample', settings: { apiKey: 'WRONG' } }) })).json()).toEqual({ ok: false, message: 'ключ не принят (HTTP 401)' });

    // Its routes are documented under its tag.
    const doc = (await (await fetch(`${t.listenerUrl}/v1/openapi.json`)).json()) as any;
    expect(doc.tags.map((tag: any) => tag.name)).toContain('Образцы');

    // A 1C call moves its feed (the window's live event) and its delivery is journaled in its words.
    const events = await ui('/api/events');
    const reader = events.body!.getReader();
    const settled = new Promise<void>((done) => t.core.workers.on('settled', (s) => s.job.connector === 'sample' && done()));
    const put = await t.api('/v1/samples/7', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'первый' }) });
    expect(put.status).toBe(202);
    let stream = '';
    while (!/event: change\ndata: \{"kind":"samples"\}/.test(stream)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended without the samples change:\n${stream}`);
      stream += new TextDecoder().decode(value);
    }
    await reader.cancel();
    await settled;
    expect(received).toContain('POST /samples/7');
    t.core.journal.flush();
    const journal = t.core.journal.events({});
    expect(journal.entries.find((e) => e.direction === 'out')).toMatchObject({ system: 'sample', title: 'Образец 7 → Образец', summary: 'доставлен', outcome: 'ok' });
    expect(journal.entries.find((e) => e.direction === 'in')).toMatchObject({ system: '1c', title: 'Образец 7 ← 1С' });
    expect(systemTitle('sample')).toBe('Образец');
    expect(subjectOf('sample:7')).toBe('Образец 7');

    // Pausable: the admin API takes its name, the health says so.
    expect((await ui('/api/connectors/sample/pause', { method: 'POST' })).status).toBe(200);
    expect(t.core.health().connectors?.sample.state).toBe('paused');
  });
});

describe('module migrations and a store written before them', () => {
  it('a store the previous code made (numbered migrations only) opens unchanged, gets the module tables once, and keeps its rows', async () => {
    const dir = tempDir();
    // Exactly what the code before module migrations did at open: the numbered list by user_version.
    const old = new Database(join(dir, DB_FILE));
    for (let v = 0; v < MIGRATIONS.length; v++) {
      old.transaction(() => {
        MIGRATIONS[v](old);
        old.pragma(`user_version = ${v + 1}`);
      })();
    }
    old.prepare("INSERT INTO meta (key, value) VALUES ('listener_token', 'kept')").run();
    old.close();

    const store = openStore(dir, { migrations: moduleMigrations() });
    expect(store.sql.value('PRAGMA user_version')).toBe(MIGRATIONS.length);
    expect(store.meta.get('listener_token')).toBe('kept');
    expect(store.sql.column('SELECT id FROM module_migrations')).toEqual(['sample:1']);
    store.sql.run("INSERT INTO sample_items (id, text, seq) VALUES ('a', 'kept too', 1)");
    store.close();

    // Opened again: nothing runs twice, nothing is lost; a store opened without the module's migrations opens too.
    const again = openStore(dir, { migrations: moduleMigrations() });
    expect(again.sql.value("SELECT text FROM sample_items WHERE id = 'a'")).toBe('kept too');
    expect(again.sql.value('SELECT COUNT(*) FROM module_migrations')).toBe(1);
    again.close();
    const plain = openStore(dir);
    expect(plain.meta.get('listener_token')).toBe('kept');
    plain.close();

    // And the core runs on it: the kept 1C token, the module's table taking a 1C call.
    const t = await startTestCore({ dataDir: dir, modules: [sample] });
    expect(t.listenerToken).toBe('kept');
    const put = await t.api('/v1/samples/b', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'после обновления' }) });
    expect(put.status).toBe(202);
    expect(t.core.store.sql.column('SELECT id FROM sample_items ORDER BY id')).toEqual(['a', 'b']);
  });

  it('a module migration id must be its own and used once', () => {
    const up = () => {};
    expect(() => moduleMigrations([{ ...sample, migrations: [{ id: 'other:1', up }] }])).toThrow(/must be sample:<n>/);
    expect(() => moduleMigrations([{ ...sample, migrations: [{ id: 'sample:1', up }, { id: 'sample:1', up }] }])).toThrow(/unique/);
  });
});
