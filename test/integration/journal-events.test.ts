import { createServer } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { localDateTime } from '../../main/admin/journal-csv.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { docpartModuleWith } from '../../main/connectors/docpart/index.ts';
import { PayKeeperClient } from '../../main/connectors/paykeeper/client.ts';
import { createDispatcher, HttpClient } from '../../main/http/client.ts';
import { httpSchema, paykeeperSchema } from '../../main/config/schema.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

/**
 * The journal as a record of events, through the admin API, against the fakes over loopback with
 * a real SQLite file: one row per thing that happened, judged by what the answer means.
 */
const TOKEN = 'pt-token';
const DP_KEY = 'dp-key';
// The puller's clock is pinned (the days it asks for do not follow the wall clock).
const NOW = Date.parse('2026-11-23T23:59:59+03:00');

const ui = async (t: TestCore, path: string, init: { method?: string; body?: unknown } = {}) => {
  const r = await fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, {
    method: init.method ?? 'GET',
    headers: {
      Authorization: `Bearer ${t.uiToken}`,
      ...(init.method && init.method !== 'GET' ? { 'X-Sputnik-UI': '1' } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? ((await r.json()) as any) : await r.text() };
};
const events = async (t: TestCore, query = '') => (await ui(t, `/api/journal${query}`)).body.entries as any[];
const putCard = (t: TestCore, code: string, holder: object, wait = 5) =>
  t.api(`/v1/cards/${encodeURIComponent(code)}?wait=${wait}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holder }) });

async function withPassteam() {
  const passteam = await startFakePassteam({ token: TOKEN }); // refusals come as HTTP 200 with `code` in the body
  const t = await startTestCore({ config: { passteam: { enabled: true, baseUrl: passteam.url, token: TOKEN, templateId: 'tpl-loyalty' } }, modules: [passteamModule] });
  return { passteam, t };
}

async function withDocpart() {
  const fake = await startFakeDocpart({ techKey: DP_KEY, data: generateDocpartData({ orders: 30, seed: 3, days: 3, now: NOW }) });
  const t = await startTestCore({ config: { docpart: { enabled: true, baseUrl: fake.url, techKey: DP_KEY, everySeconds: 3600, lookbackDays: 3 } }, modules: [docpartModuleWith({ now: () => NOW })] });
  return { fake, t };
}

describe('the journal as a record of events', () => {
  it('a Passteam refusal in a 200 answer is a failed event naming the card and the card that has the phone; it is under «только ошибки», without «Повторить»', async () => {
    const { t } = await withPassteam();
    expect((await putCard(t, '2000000000001', { name: 'Петров', phone: '+79991112233' })).status).toBe(200);
    expect((await putCard(t, '0000103', { name: 'Сидорова', phone: '8 999 111-22-33' })).status).toBe(409);

    const failed = await events(t, '?failed=1');
    const refusal = failed.find((e) => e.entity === 'card:0000103' && e.direction === 'out');
    expect(refusal).toMatchObject({
      system: 'passteam',
      title: 'Карта 0000103 → Passteam',
      outcome: 'failed',
      summary: 'отказ',
      status: 200, // what the HTTP status alone said: a success
      retry: false, // the same data would be refused again
    });
    expect(refusal.error).toMatch(/у карты 2000000000001/);
    expect(refusal.error).toMatch(/запишите карту ещё раз/);
    // Found by what only the events say (no exchange with Passteam names the card that has the phone):
    // the refusal, and 1C's call that was told so.
    const found = await events(t, `?q=${encodeURIComponent('у карты 2000000000001')}`);
    expect(found.map((e) => `${e.direction} ${e.entity}`)).toEqual(['in card:0000103', 'out card:0000103']);
    // The successful delivery of the other card is not an error.
    expect(failed.some((e) => e.entity === 'card:2000000000001' && e.direction === 'out')).toBe(false);
    const ok = (await events(t)).find((e) => e.entity === 'card:2000000000001' && e.direction === 'out');
    expect(ok).toMatchObject({ title: 'Карта 2000000000001 → Passteam', outcome: 'ok', summary: 'отправлена', retry: false });

    // «Подробнее»: the exchange, failed though HTTP said 200, with Passteam's own answer and the form decoded.
    const detail = (await ui(t, `/api/journal/${refusal.id}`)).body;
    expect(detail.items).toHaveLength(1);
    expect(detail.items[0]).toMatchObject({ method: 'POST', status: 200, failed: true, entity: 'card:0000103' });
    const exchange = (await ui(t, `/api/journal/exchanges/${detail.items[0].id}`)).body;
    expect(exchange.responseBody).toMatch(/"code":\s*409/);
    expect(exchange.requestBody).toContain('values%5B%25CLIENT_NAME%25%5D'); // as sent
    expect(exchange.requestForm).toEqual(expect.arrayContaining([{ name: 'values[%CLIENT_NAME%]', value: 'Сидорова' }, { name: 'values[%PHONE%]', value: '+79991112233' }]));

    // 1C's call that was answered 409 is an event too, with what Sputnik told 1C.
    const inbound = failed.find((e) => e.entity === 'card:0000103' && e.direction === 'in');
    expect(inbound).toMatchObject({ system: '1c', title: 'Карта 0000103 ← 1С', outcome: 'failed', summary: 'отклонено', status: 409 });
    expect(inbound.error).toMatch(/^Этот номер телефона уже привязан к другой карте/);
  });

  it('«Повторить» is offered where it can work: a card that failed for lack of contact, until a newer event about it arrives', async () => {
    const { passteam, t } = await withPassteam();
    passteam.setDown(true);
    expect((await putCard(t, 'NET-1', { name: 'Орлова', phone: '+79990000011' }, 0)).status).toBe(202);
    await expect.poll(async () => (await events(t, '?failed=1')).find((e) => e.entity === 'card:NET-1' && e.direction === 'out')).toBeTruthy();
    const failedRun = (await events(t, '?failed=1')).find((e) => e.entity === 'card:NET-1' && e.direction === 'out');
    expect(failedRun).toMatchObject({ outcome: 'failed', summary: 'не прошло', retry: true });
    // Staff words, not the socket's: the host and port stay in the exchange's detail.
    expect(failedRun.error).toMatch(/^Связь с Passteam оборвалась|^Passteam отказал в соединении|^Нет связи с Passteam/);
    expect(failedRun.error).not.toMatch(/127\.0\.0\.1|ECONN/);
    const detail = (await ui(t, `/api/journal/${failedRun.id}`)).body;
    expect(detail.items[0].detail).toMatch(/127\.0\.0\.1:\d+/);

    passteam.setDown(false);
    expect((await ui(t, '/api/retry', { method: 'POST', body: { entity: 'card:NET-1' } })).status).toBe(200);
    await expect.poll(async () => (await events(t)).find((e) => e.entity === 'card:NET-1' && e.direction === 'out')?.outcome).toBe('ok');
    // The old failure no longer offers «Повторить»: a newer event about the card superseded it.
    expect((await ui(t, `/api/journal/${failedRun.id}`)).body.retry).toBe(false);
  });

  it('a Docpart PHP «Fatal error» page with HTTP 200 is a failed event in staff words; the page itself stays behind «Подробнее»', async () => {
    const { fake, t } = await withDocpart();
    fake.failNext(1, 'html200');
    expect((await t.api('/v1/docpart/sync?wait=60', { method: 'POST' })).status).toBe(502);
    const failed = await events(t, '?failed=1&system=docpart');
    const pull = failed.find((e) => e.entity === 'docpart:pull');
    expect(pull).toMatchObject({ title: 'Загрузка заказов Docpart', outcome: 'failed', summary: 'не прошло', status: 200, exchanges: 1 });
    expect(pull.error).toMatch(/^Сайт Docpart ответил на запрос заказов страницей ошибки PHP вместо данных: .*сообщите его администратору/);
    expect(pull.error).not.toMatch(/var\/www|Fatal|<b>/);
    const [exchange] = (await ui(t, `/api/journal/${pull.id}`)).body.items;
    expect(exchange).toMatchObject({ status: 200, failed: true });
    expect((await ui(t, `/api/journal/exchanges/${exchange.id}`)).body.responseBody).toContain('<b>Fatal error</b>');
  });

  it('one event per Docpart pull, with its counts, its exchanges folded under it', async () => {
    const { fake, t } = await withDocpart();
    expect((await t.api('/v1/docpart/sync?wait=60', { method: 'POST' })).status).toBe(200);
    const data = fake.data();
    const outgoing = await events(t, '?system=docpart');
    expect(outgoing).toHaveLength(1);
    const [pull] = outgoing;
    const lines = data.items.length;
    expect(pull).toMatchObject({
      title: 'Загрузка заказов Docpart',
      outcome: 'ok',
      exchanges: fake.requests().length,
      counts: { orders: data.orders.length, newOrders: data.orders.length, changedOrders: 0, items: lines, payments: data.payments.length },
    });
    expect(fake.requests().length).toBeGreaterThan(4); // a day per request, then lines, buyers, payments
    expect(pull.summary).toBe(`загружено: заказов ${data.orders.length} (новых ${data.orders.length}), строк ${lines}, платежей ${data.payments.length} (новых или изменённых ${data.payments.length})`);
    expect((await ui(t, `/api/journal/${pull.id}`)).body.items).toHaveLength(fake.requests().length);

    // A second pull: one more event, nothing new.
    fake.updateOrder(data.orders[0].order_id, { status: data.orders[0].status === 4 ? 5 : 4 });
    expect((await t.api('/v1/docpart/sync?wait=60', { method: 'POST' })).status).toBe(200);
    const again = await events(t, '?system=docpart');
    expect(again).toHaveLength(2);
    expect(again[0].counts).toMatchObject({ newOrders: 0, changedOrders: 1 });
    expect(again[0].summary).toMatch(/^загружено: заказов \d+ \(изменённых 1\), строк \d+, платежей \d+$/);
  });

  it('PayKeeper’s `result: fail` in a 200 answer marks the exchange failed', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: 'fail', msg: 'Неверный формат e-mail' }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const t = await startTestCore();
    const http = new HttpClient(createDispatcher(httpSchema.parse({})), t.core.journal);
    try {
      const client = new PayKeeperClient(http, () => paykeeperSchema.parse({ enabled: false, baseUrl: url, user: 'u', password: 'p' }));
      await expect(client.findByOrder('ЗК-1', { from: '2026-11-01', to: '2026-11-30' }, { entity: 'invoice:ЗК-1' })).rejects.toMatchObject({ outcome: 'refused' });
      const [e] = await events(t, '?failed=1&system=paykeeper');
      expect(e).toMatchObject({ title: 'Счёт по заказу ЗК-1 → PayKeeper', outcome: 'failed', status: 200 });
      expect(e.error).toBe('PayKeeper отказал: Неверный формат e-mail. Исправьте данные счёта в 1С и отправьте его ещё раз');
    } finally {
      await http.close();
      server.close();
    }
  });

  it('ReGate is a system of its own in the filter (its calls to a base’s 1C too)', async () => {
    const t = await startTestCore();
    const base = { method: 'GET', status: 200, durationMs: 3 } as const;
    t.core.journal.record({ ...base, direction: 'in', system: 'regate', url: '/regate/v1/goods?limit=10' });
    t.core.journal.record({ ...base, direction: 'out', system: 'regate:shop', url: 'http://127.0.0.1:9/hs/goods?limit=10', status: 503, error: '1С недоступна' });
    t.core.journal.record({ ...base, direction: 'in', system: '1c', url: '/v1/health' });
    const regate = await events(t, '?system=regate');
    expect(regate.map((e) => [e.system, e.title, e.outcome])).toEqual([
      ['regate', 'ReGate (shop) → 1С: GET /hs/goods', 'failed'],
      ['regate', 'ReGate: GET /regate/v1/goods', 'ok'],
    ]);
    expect((await events(t, '?system=regate&failed=1')).map((e) => e.error)).toEqual(['1С недоступна']);
  });

  it('the CSV: local time, Russian system names and outcome, the error sentence filled in', async () => {
    const { t } = await withPassteam();
    expect((await putCard(t, 'C-1', { name: 'Петров', phone: '+79991112233' })).status).toBe(200);
    expect((await putCard(t, 'C-2', { name: 'Сидорова', phone: '+79991112233' })).status).toBe(409);
    const refusal = (await events(t, '?failed=1&system=passteam'))[0];
    const csv = (await ui(t, '/api/journal/export?system=passteam')).body as string;
    const rows = csv.replace(/^\uFEFF/, '').trimEnd().split('\r\n').map((l) => l.split(';'));
    expect(rows[0]).toEqual(['Номер', 'Время', 'Направление', 'Система', 'Событие', 'Итог', 'Что произошло', 'Ошибка', 'Объект', 'Обменов', 'Длительность, мс', 'Последний запрос']);
    const row = rows.find((r) => r[0] === String(refusal.id))!;
    expect(row.slice(1, 9)).toEqual([localDateTime(Date.parse(refusal.at)), 'исходящий', 'Passteam', 'Карта C-2 → Passteam', 'ошибка', 'отказ', refusal.error, 'card:C-2']);
    expect(row[1]).toMatch(/^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$/);
    expect(rows.find((r) => r[4] === 'Карта C-1 → Passteam')!.slice(5, 8)).toEqual(['успешно', 'отправлена', '']);
  });
});
