import { describe, expect, it } from 'vitest';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import { collectAttention, QUEUE_STUCK_MS } from '../../main/core/attention.ts';
import type { CoreModule } from '../../main/core/module.ts';
import { openStore } from '../../main/store/index.ts';
import { Refusals } from '../../main/store/refusals.ts';
import { writeNow } from '../../main/store/write-now.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';

/** «Требует внимания» through the admin API, against the fakes over real sockets and a real SQLite file. */
const TOKEN = 'pt-token';

async function setup(opts: { passteamToken?: string } = {}) {
  const passteam = await startFakePassteam({ token: TOKEN });
  const paykeeper = await startFakePayKeeper({ user: 'u', password: 'p' });
  const t = await startTestCore({
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token: opts.passteamToken ?? TOKEN, templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'u', password: 'p' },
    },
    modules: [passteamModule, paykeeperModule],
  });
  return { passteam, paykeeper, t };
}

const ui = (t: TestCore, path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, {
    method: init.method ?? 'GET',
    headers: {
      Authorization: `Bearer ${t.uiToken}`,
      ...(init.method && init.method !== 'GET' ? { 'X-Sputnik-UI': '1' } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const json = async (r: Response) => (await r.json()) as any;
const attention = async (t: TestCore) => json(await ui(t, '/api/attention'));
const item = async (t: TestCore, ref: string) => ((await attention(t)).items as any[]).find((i) => i.ref === ref);
/** Does what the item's action says, as the window's button does. */
const act = (t: TestCore, action: { type: string; path: string; body?: unknown }) => ui(t, action.path, { method: 'POST', body: action.body });

const putCard = (t: TestCore, code: string, holder: object, wait = 5) =>
  t.api(`/v1/cards/${encodeURIComponent(code)}?wait=${wait}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holder }) });
const postInvoice = (t: TestCore, body: unknown) =>
  t.api('/v1/invoices?wait=10', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('«Требует внимания» (GET /api/attention)', () => {
  it('nothing to do: an empty list, total 0', async () => {
    const { t } = await setup();
    expect((await putCard(t, 'OK-1', { name: 'Иванов', phone: '+79990000001' })).status).toBe(200);
    expect(await attention(t)).toEqual({ items: [], total: 0 });
  });

  it('a card whose phone Passteam has on another card: listed with the reason and what to fix in 1C, no «Повторить»; gone once fixed and delivered', async () => {
    const { t } = await setup();
    expect((await putCard(t, 'A-1', { name: 'Петров', phone: '+79991112233' })).status).toBe(200);
    const taken = await putCard(t, 'A-2', { name: 'Сидорова Анна', phone: '8 999 111-22-33' });
    expect(taken.status).toBe(409);

    const list = await attention(t);
    expect(list.total).toBe(1); // the card only: its 409 to 1C is not a second «refused at the door»
    expect(list.items[0]).toMatchObject({
      kind: 'card',
      ref: 'card:A-2',
      title: 'Карта A-2 (Сидорова Анна)',
      reason: expect.stringMatching(/номер телефона уже привязан к другой карте/),
      action: { type: 'instruction', label: expect.stringMatching(/телефон владельца карты в 1С.*запишите карту ещё раз/) },
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
    });

    expect((await putCard(t, 'A-2', { phone: '+7 999 444-55-66' })).status).toBe(200);
    expect((await json(await ui(t, '/api/cards/A-2'))).state).toBe('synced');
    expect(await item(t, 'card:A-2')).toBeUndefined();
    expect((await attention(t)).total).toBe(0);
  });

  it('a card refused at the door (no phone): kept as who, what, why with the fix in 1C; nothing else stored; gone when 1C sends it right', async () => {
    const { passteam, t } = await setup();
    const r = await putCard(t, 'NP-1', { name: 'Без Телефона' });
    expect(r.status).toBe(422);
    const refusal = await item(t, 'refusal:card:NP-1');
    expect(refusal).toMatchObject({
      kind: 'refusal',
      title: 'Карта NP-1 (Без Телефона)',
      reason: expect.stringMatching(/^Спутник не принял запрос из 1С: .*нужен номер мобильного телефона/),
      action: { type: 'instruction', label: 'Укажите мобильный телефон владельца карты в 1С и запишите карту ещё раз' },
      dismissible: true,
    });
    // A record of the refusal only: no card, nothing sent.
    expect((await ui(t, '/api/cards/NP-1')).status).toBe(404);
    expect(passteam.requests()).toHaveLength(0);
    // Refused again: still one item, counted.
    await putCard(t, 'NP-1', { name: 'Без Телефона' });
    const again = await attention(t);
    expect(again.total).toBe(1);
    expect(again.items[0].reason).toMatch(/отказано 2 раз/);

    expect((await putCard(t, 'NP-1', { name: 'Без Телефона', phone: '+79990001122' })).status).toBe(200);
    expect(await attention(t)).toEqual({ items: [], total: 0 });
  });

  it('an invoice refused at the door (422): listed with the field to fix; gone when the order is sent again, valid', async () => {
    const { t } = await setup();
    const bad = await postInvoice(t, { orderId: 'R-1', amount: '-5', email: 'buyer@example.ru' });
    expect(bad.status).toBe(422);
    expect(await item(t, 'refusal:invoice:R-1')).toMatchObject({
      kind: 'refusal',
      title: 'Счёт по заказу R-1',
      reason: expect.stringContaining((await json(bad)).error.message),
      action: { type: 'instruction', label: 'Исправьте сумму в счёте в 1С и выставьте счёт снова' },
    });
    expect((await json(await ui(t, '/api/invoices'))).total).toBe(0); // nothing else changed

    const good = await postInvoice(t, { orderId: 'R-1', amount: '5', email: 'buyer@example.ru' });
    expect(good.status).toBe(200);
    expect(await attention(t)).toEqual({ items: [], total: 0 });
  });

  it('a bad item in a batch (answered inside a 200) is listed by its order; the operator can dismiss it; other items are not', async () => {
    const { t } = await setup();
    const r = await postInvoice(t, { invoices: [{ orderId: 'B-1', amount: '10', email: 'a@example.ru' }, { orderId: 'B-2', amount: '10', email: 'не почта' }] });
    expect(r.status).toBe(200);
    const list = await attention(t);
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ ref: 'refusal:invoice:B-2', action: { label: 'Исправьте e-mail покупателя в счёте в 1С и выставьте счёт снова' } });

    const notDismissible = await ui(t, '/api/attention/dismiss', { method: 'POST', body: { ref: 'connector:passteam' } });
    expect(notDismissible.status).toBe(409);
    expect((await json(notDismissible)).error.message).toMatch(/уйдёт сам/);
    expect((await ui(t, '/api/attention/dismiss', { method: 'POST', body: { ref: 'refusal:invoice:B-2' } })).status).toBe(200);
    expect(await attention(t)).toEqual({ items: [], total: 0 });
    const gone = await ui(t, '/api/attention/dismiss', { method: 'POST', body: { ref: 'refusal:invoice:B-2' } });
    expect(gone.status).toBe(404);
    expect((await json(gone)).error.message).toMatch(/уже нет/);
  });

  it('a connector paused by a refused token: the reason and a link to its settings; gone when the token is fixed, and the card goes out', async () => {
    const { passteam, t } = await setup({ passteamToken: 'wrong-token' });
    expect((await putCard(t, 'T-1', { phone: '+79997776655' }, 2)).status).toBe(202);
    await expect.poll(async () => (await item(t, 'connector:passteam'))?.kind).toBe('connector');
    const paused = await item(t, 'connector:passteam');
    expect(paused).toMatchObject({
      title: 'Passteam',
      reason: expect.stringMatching(/Passteam не принял токен.*Данные копятся в очереди/),
      action: { type: 'open', label: 'Открыть настройки Passteam', href: '#/settings/passteam' },
    });
    expect(paused.dismissible).toBeUndefined();

    const put = await ui(t, '/api/settings', { method: 'PUT', body: { passteam: { token: TOKEN } } });
    expect(put.status).toBe(200);
    await expect.poll(() => passteam.cards().filter((c) => c.values.PHONE === '+79997776655').length).toBe(1);
    expect(await attention(t)).toEqual({ items: [], total: 0 });
  });

  it('paused by the operator: «Возобновить отправку» is the action, and doing it clears the item', async () => {
    const { t } = await setup();
    await ui(t, '/api/connectors/paykeeper/pause', { method: 'POST' });
    const paused = await item(t, 'connector:paykeeper');
    expect(paused).toMatchObject({ reason: expect.stringMatching(/приостановлена вручную/), action: { type: 'call', label: 'Возобновить отправку', path: '/api/connectors/paykeeper/resume' } });
    expect((await act(t, paused.action)).status).toBe(200);
    expect(await item(t, 'connector:paykeeper')).toBeUndefined();
  });

  it('a remote that is down (a network error, not a refusal): «Повторить сейчас», which delivers once it is back', async () => {
    const { paykeeper, t } = await setup();
    paykeeper.setDown(true);
    expect((await t.api('/v1/invoices?wait=0', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId: 'D-1', amount: '10', email: 'a@example.ru' }) })).status).toBe(202);
    await expect.poll(async () => (await item(t, 'connector:paykeeper'))?.action.label).toBe('Повторить сейчас');
    const down = await item(t, 'connector:paykeeper');
    expect(down.reason).toMatch(/^Нет связи с PayKeeper: .+Спутник повторяет сам$/);
    paykeeper.setDown(false);
    expect((await act(t, down.action)).status).toBe(200);
    await expect.poll(async () => (await json(await ui(t, '/api/invoices/D-1'))).state).toBe('sent');
    expect(await attention(t)).toEqual({ items: [], total: 0 });
  });

  it('the window\'s session outlives a restart (an open window reconnects by itself); the printed login token does not', async () => {
    const dataDir = tempDir();
    const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 } }, {});
    const first = await createCore({ config, dataDir, quiet: true });
    const a = await first.start();
    const login = await fetch(a.uiLoginUrl, { redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect(cookie).not.toContain(a.uiToken);
    await first.stop(1000);

    const second = await createCore({ config, dataDir, quiet: true });
    const b = await second.start();
    try {
      expect((await fetch(`${b.uiUrl}api/health`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(a.uiLoginUrl.replace(a.uiUrl, b.uiUrl), { redirect: 'manual' })).status).toBe(401);
    } finally {
      await second.stop(1000);
    }
  });

  it('the live stream tells the window to reconnect after 1 s, beats every second and carries the attention count', async () => {
    const { t } = await setup();
    const events = await ui(t, '/api/events');
    const reader = events.body!.getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until(/event: attention\ndata: \{"total":0\}/);
    expect(text.startsWith('retry: 1000\n\n')).toBe(true);
    await until(/(event: beat\n[^]*){2}/);
    await putCard(t, 'NP-2', {});
    await until(/event: attention\ndata: \{"total":1\}/);
    await reader.cancel();
  });
});

describe('Sputnik stopping, as the window sees it', () => {
  it('a stop ends the live stream at once (it held the stop and kept beating, so the window never noticed)', async () => {
    const { t } = await setup();
    const events = await ui(t, '/api/events');
    const reader = events.body!.getReader();
    await reader.read();
    const stopped = t.core.stop(1000);
    while (!(await reader.read()).done);
    await stopped;
  });
});

describe('a queue that waits too long', () => {
  it('is listed once its oldest job is older than 15 min by the store\'s clock, unless its connector already explains it', async () => {
    let clock = Date.UTC(2025, 0, 15, 9, 0, 0);
    const store = openStore(tempDir(), { now: () => clock });
    try {
      const refusals = new Refusals(store);
      const paykeeper: CoreModule = { name: 'paykeeper', connector: 'paykeeper', workers: { connector: 'paykeeper', concurrency: 1, handle: async () => {} } };
      const list = () => collectAttention({ modules: [paykeeper], outbox: store.outbox, refusals, now: clock, limit: 50 });
      writeNow(store, () => store.outbox.enqueue({ connector: 'paykeeper', kind: 'x', key: 'invoice:Q-1', payload: {} }));
      clock += QUEUE_STUCK_MS - 1000;
      expect(list().total).toBe(0);
      clock += 2000;
      expect(list().items).toEqual([
        {
          kind: 'queue',
          ref: 'queue:paykeeper',
          title: 'Очередь PayKeeper',
          reason: '1 задание ждёт отправки в PayKeeper, самое старое — 15 мин',
          action: { type: 'call', label: 'Отправить сейчас', path: '/api/connectors/paykeeper/resume' },
          since: expect.any(String),
        },
      ]);
      store.outbox.pauseConnector('paykeeper');
      expect(list().items.map((i) => i.ref)).toEqual(['connector:paykeeper']);
    } finally {
      store.close();
    }
  });
});
