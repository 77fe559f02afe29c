import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docpartModuleWith } from '../../main/connectors/docpart/index.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { DB_FILE } from '../../main/store/db.ts';
import { openStore } from '../../main/store/index.ts';
import { MIGRATIONS } from '../../main/store/migrations.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A stop (quit, service stop, «Перезапустить службу») that cuts a delivery short is Sputnik's own
 * doing: the job goes back to the queue as it was, the connector stays ok, «Требует внимания» says
 * nothing, and the entity is delivered once after the start, though the cut-off call reached the
 * remote (a real SQLite file, the fakes over real sockets, the call held at the fake).
 */
const TOKEN = 'pt-stop-token';

const ui = async (t: TestCore, path: string) => (await fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, { headers: { Authorization: `Bearer ${t.uiToken}` } })).json() as Promise<any>;
const send = (t: TestCore, method: string, path: string, body: unknown) =>
  t.api(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The job, the connector and the entity's error as the stopped core left them on disk. */
function onDisk(dataDir: string, key: string, connector: string, entity?: { table: string; where: string; id: string }) {
  const store = openStore(dataDir);
  try {
    return {
      job: store.sql.get<{ state: string; attempts: number; last_error: string | null; retry_wait: number }>(`SELECT state, attempts, last_error, retry_wait FROM jobs WHERE key = ? ORDER BY id DESC LIMIT 1`, key),
      connector: store.outbox.connectorStatus(connector),
      entity: entity && store.sql.get<{ last_error: string | null; create_unsure: number }>(`SELECT last_error, create_unsure FROM ${entity.table} WHERE ${entity.where} = ?`, entity.id),
    };
  } finally {
    store.close();
  }
}

describe('a stop that cuts a delivery short', () => {
  it('a card create held at Passteam: back in the queue as it was, no failure, delivered once after the start', async () => {
    const passteam = await startFakePassteam({ token: TOKEN });
    const config = { passteam: { enabled: true, baseUrl: passteam.url, token: TOKEN, templateId: 'tpl-loyalty' } };
    const first = await startTestCore({ config, modules: [passteamModule] });
    const gate = passteam.hold((req) => req.path.endsWith('/createcard'));
    const put = await send(first, 'PUT', '/v1/cards/STOP-1?wait=0', { holder: { name: 'Иванов', phone: '+79990001122' } });
    expect(put.status).toBe(202);
    await gate.reached; // the create is in Passteam's hands
    await first.core.stop(0);

    const left = onDisk(first.dataDir, 'card:STOP-1', 'passteam', { table: 'cards', where: 'code', id: 'STOP-1' });
    expect(left.job).toEqual({ state: 'queued', attempts: 0, last_error: null, retry_wait: 0 });
    expect(left.connector).toMatchObject({ state: 'ok', failures: 0, lastError: null });
    // No error on the card; it says a create may have reached Passteam, so the next run looks first.
    expect(left.entity).toEqual({ last_error: null, create_unsure: 1 });

    gate.release(); // Passteam processes the create whose answer nobody hears any more
    await expect.poll(() => passteam.cards().length).toBe(1);

    // After the start, while its first call is in Passteam's hands: nothing to attend to.
    const again = passteam.hold();
    const second = await startTestCore({ config, modules: [passteamModule], dataDir: first.dataDir });
    expect((await again.reached).path).toMatch(/getcards/); // the create may have reached Passteam: it looks first
    expect(second.core.health().connectors!.passteam).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });
    again.release();
    await expect.poll(async () => (await (await second.api('/v1/cards/STOP-1')).json()).state).toBe('synced');
    expect(passteam.cards()).toHaveLength(1); // adopted, not created twice
    expect(passteam.requests().filter((r) => r.path.endsWith('/createcard'))).toHaveLength(1);
    const card = await (await second.api('/v1/cards/STOP-1')).json();
    expect(card).toMatchObject({ cardId: passteam.cards()[0].cardId, lastError: null });
    expect(second.core.health().connectors!.passteam).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });

    // The journal: the cut-off run is «прервано», not an error; then the delivery.
    const events = second.core.journal.events({ entity: 'card:STOP-1', direction: 'out' }).entries;
    expect(events.map((e) => e.outcome)).toEqual(['ok', 'interrupted']);
    expect(events[1]).toMatchObject({ error: null, retry: false, summary: expect.stringContaining('прервано остановкой Спутника') });
    expect(second.core.journal.events({ failedOnly: true }).entries).toEqual([]);
    await passteam.stop();
  });

  it('an invoice create held at PayKeeper: the same, one invoice after the start', async () => {
    const paykeeper = await startFakePayKeeper({ user: 'u', password: 'p' });
    const config = { paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'u', password: 'p' } };
    const first = await startTestCore({ config, modules: [paykeeperModule] });
    const gate = paykeeper.hold((req) => req.path.startsWith('/change/invoice/preview'));
    const post = await send(first, 'POST', '/v1/invoices?wait=0', { orderId: 'STOP-2', amount: '150', email: 'buyer@example.ru' });
    expect(post.status).toBe(202);
    await gate.reached;
    await first.core.stop(0);

    const left = onDisk(first.dataDir, 'invoice:STOP-2', 'paykeeper', { table: 'invoices', where: 'order_id', id: 'STOP-2' });
    expect(left.job).toEqual({ state: 'queued', attempts: 0, last_error: null, retry_wait: 0 });
    expect(left.connector).toMatchObject({ state: 'ok', failures: 0, lastError: null });
    expect(left.entity).toEqual({ last_error: null, create_unsure: 1 });

    gate.release();
    await expect.poll(() => paykeeper.invoices().length).toBe(1);

    const again = paykeeper.hold();
    const second = await startTestCore({ config, modules: [paykeeperModule], dataDir: first.dataDir });
    await again.reached;
    expect(second.core.health().connectors!.paykeeper).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });
    again.release();
    await expect.poll(async () => (await (await second.api('/v1/invoices/STOP-2')).json()).state).toBe('sent');
    expect(paykeeper.invoices()).toHaveLength(1);
    expect((await (await second.api('/v1/invoices/STOP-2')).json()).invoiceId).toBe(paykeeper.invoices()[0].id);
    expect(second.core.health().connectors!.paykeeper).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });
    await paykeeper.stop();
  });
});

describe('a stop that cuts a Docpart pull short', () => {
  // The puller's and the store's clock pinned: the days asked for are the same at any hour.
  const NOW = Date.parse('2026-11-23T23:59:59+03:00');
  const docpartModule = docpartModuleWith({ now: () => NOW });
  // Another module whose stop outlasts the pull's return to the queue (as ReGate's closing its server
  // may): the pool must not run the pull again meanwhile.
  const lingering: ModuleFactory = (ctx) => ({
    name: 'lingering',
    start: () => () =>
      new Promise<void>((resolve) => {
        if (ctx.workers.runningCount('docpart') === 0) return resolve();
        ctx.workers.on('settled', (s) => s.job.key === 'docpart:pull' && setImmediate(resolve));
      }),
  });

  // The core stops the module (its own abort) before the pool; the pool's abort alone is a stop whose grace ran out.
  it.each([
    ['the core', (t: TestCore) => t.core.stop(0)],
    ['the worker pool', (t: TestCore) => t.core.workers.stop(0)],
  ])('the pull held at Docpart, stopped by %s: its event ends «прервано», no failure, the connector ok, and it runs again after the start', async (_by, stop) => {
    const fake = await startFakeDocpart({ techKey: 'dp-stop-key', data: generateDocpartData({ orders: 20, seed: 5, now: NOW }) });
    const start = (dataDir?: string) =>
      startTestCore({ dataDir, config: { docpart: { enabled: true, baseUrl: fake.url, techKey: 'dp-stop-key', everySeconds: 3600 } }, modules: [docpartModule, lingering], outbox: { now: () => NOW } });
    const gate = fake.hold((req) => req.form.task === 'get_orders');
    const first = await start(); // no pull yet: the first one is due at once
    await gate.reached; // the pull is in Docpart's hands
    expect(fake.inHand()).toBe(1);
    await stop(first);
    await first.core.stop(0);

    const left = onDisk(first.dataDir, 'docpart:pull', 'docpart');
    expect(left.job).toEqual({ state: 'queued', attempts: 0, last_error: null, retry_wait: 0 });
    expect(left.connector).toMatchObject({ state: 'ok', failures: 0, lastError: null });
    gate.release();
    await expect.poll(() => fake.inHand()).toBe(0);

    const asked = fake.requests().length;
    const second = await start(first.dataDir);
    expect(second.core.health().connectors!.docpart).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });
    // The pull runs again after the start (due at once, as before its lease) and ends ok.
    const pulls = () => second.core.journal.events({ entity: 'docpart:pull' }).entries;
    await expect.poll(() => pulls().map((e) => e.outcome)).toEqual(['ok', 'interrupted']);
    expect(fake.requests().length).toBeGreaterThan(asked);
    expect(pulls()[1]).toMatchObject({ title: 'Загрузка заказов Docpart', error: null, retry: false, summary: 'прервано остановкой Спутника: после запуска загрузка пройдёт заново' });
    expect(second.core.journal.events({ failedOnly: true }).entries).toEqual([]);
    expect(second.core.health().connectors!.docpart).toMatchObject({ state: 'ok', lastError: null });
    expect(await ui(second, '/api/attention')).toEqual({ items: [], total: 0 });
    await fake.stop();
  });
  it('1C waiting on POST /v1/docpart/sync when Sputnik stops gets 503 sputnik_stopping with Retry-After at once (not a Docpart failure; the stop does not wait out its wait)', async () => {
    const fake = await startFakeDocpart({ techKey: 'dp-stop-key', data: generateDocpartData({ orders: 20, seed: 5, now: NOW }) });
    const t = await startTestCore({ config: { docpart: { enabled: true, baseUrl: fake.url, techKey: 'dp-stop-key', everySeconds: 3600 } }, modules: [docpartModule], outbox: { now: () => NOW } });
    const pulls = () => t.core.journal.events({ entity: 'docpart:pull' }).entries;
    await expect.poll(() => pulls().map((e) => e.outcome)).toEqual(['ok']); // the first pull, due at once
    const gate = fake.hold((req) => req.form.task === 'get_orders');
    const answer = t.api('/v1/docpart/sync?wait=60', { method: 'POST' });
    await gate.reached; // this request's pull is in Docpart's hands
    // The stop does not wait out the caller's 60 s: the listener closes once it has answered.
    await t.core.stop(0);
    const res = await answer;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('10');
    expect(await res.json()).toEqual({ error: { code: 'sputnik_stopping', message: 'Спутник останавливается: загрузка заказов Docpart прервана и пройдёт заново после его запуска; повторите запрос позже' } });
    gate.release();
    await fake.stop();
  });
});

describe('the journal’s «прервано» (migration 13)', () => {
  it('a store written before it keeps its events, which may then end interrupted (and nothing else new)', () => {
    const dir = tempDir();
    const old = new Database(join(dir, DB_FILE));
    for (let v = 0; v < 12; v++) {
      old.transaction(() => {
        MIGRATIONS[v](old);
        old.pragma(`user_version = ${v + 1}`);
      })();
    }
    const row = `INSERT INTO journal_events (id, at, ended_at, direction, system, entity, title, outcome, summary, error, cause, exchanges, duration_ms, search)
      VALUES (?, 1, 2, 'out', 'passteam', 'card:1', 'Карта 1 → Passteam', ?, NULL, ?, ?, 1, 1, '')`;
    old.prepare(row).run(1, 'failed', 'Нет связи с Passteam', 'retry');
    expect(() => old.prepare(row).run(2, 'interrupted', null, null)).toThrow(/CHECK/);
    old.close();

    const store = openStore(dir);
    try {
      expect(store.sql.value('PRAGMA user_version')).toBe(MIGRATIONS.length);
      expect(store.sql.get(`SELECT outcome, error, cause FROM journal_events WHERE id = 1`)).toEqual({ outcome: 'failed', error: 'Нет связи с Passteam', cause: 'retry' });
      store.sql.run(row, 2, 'interrupted', null, null);
      expect(() => store.sql.run(row, 3, 'cancelled', null, null)).toThrow(/CHECK/);
      expect(store.sql.column(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal_events' ORDER BY name`)).toEqual([
        'journal_events_at',
        'journal_events_entity',
        'journal_events_failed',
        'journal_events_running',
      ]);
    } finally {
      store.close();
    }
  });
});
