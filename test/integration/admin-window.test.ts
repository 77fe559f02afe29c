import { describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_MS } from '../../main/admin/app.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { docpartModule } from '../../main/connectors/docpart/index.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

/** The admin API the tray window uses (docs/admin-api.md), against the fakes over real sockets. */
async function setup() {
  const passteam = await startFakePassteam({ token: 'pt-token' });
  const paykeeper = await startFakePayKeeper({ user: 'u', password: 'p' });
  const docpart = await startFakeDocpart({ techKey: 'dk', data: generateDocpartData({ orders: 30, seed: 5 }) });
  const t = await startTestCore({
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token: 'pt-token', templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'u', password: 'p' },
      docpart: { enabled: true, baseUrl: docpart.url, techKey: 'dk', everySeconds: 3600 },
    },
    modules: [passteamModule, paykeeperModule, docpartModule],
  });
  return { passteam, paykeeper, docpart, t };
}

const ui = (t: TestCore, path: string, init: RequestInit = {}) =>
  fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, {
    ...init,
    headers: { Authorization: `Bearer ${t.uiToken}`, ...(init.method && init.method !== 'GET' ? { 'X-Sputnik-UI': '1' } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as object) },
  });
const json = async (r: Response) => (await r.json()) as any;
/** The admin API's event stream as text: `read(until)` reads on until `until` matches what has come (or 8 s pass between chunks). */
function eventStream(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const read = async (until: RegExp) => {
    const end = Date.now() + 8000;
    while (!until.test(text) && Date.now() < end) text += decoder.decode((await reader.read()).value);
    return until.test(text);
  };
  return { reader, read, text: () => text };
}

const putCard = (t: TestCore, code: string, phone: string) =>
  t.api(`/v1/cards/${code}?wait=5`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holder: { name: 'Иванов Иван', phone } }) });

describe('the window\'s API', () => {
  it('the 1C address and token for the copy button', async () => {
    const { t } = await setup();
    expect(await json(await ui(t, '/api/listener'))).toEqual({ url: t.listenerUrl, port: Number(new URL(t.listenerUrl).port), token: t.listenerToken });
  });

  it('cards: search by a phone in another spelling, by name; detail; a failed card retried by the operator is sent again', async () => {
    const { passteam, t } = await setup();
    await putCard(t, 'C-1', '+7 987 654-32-10');
    passteam.failNext(1, 'http500'); // not a refusal: retried; use a phone clash for a refusal instead
    await putCard(t, 'C-2', '8 (912) 000-11-22');
    const byPhone = await json(await ui(t, '/api/cards?q=' + encodeURIComponent('8 987 654 32 10')));
    expect(byPhone.cards.map((c: any) => c.code)).toEqual(['C-1']);
    expect(byPhone.total).toBe(1);
    expect((await json(await ui(t, '/api/cards?q=Иванов'))).total).toBe(2);
    const one = await json(await ui(t, '/api/cards/C-1'));
    expect(one).toMatchObject({ code: 'C-1', name: 'Иванов Иван', phone: '+79876543210', state: 'synced' });

    // A refusal (phone taken) → failed; the operator fixes nothing and presses retry: it is queued and sent again.
    await putCard(t, 'C-3', '+7 987 654-32-10');
    expect((await json(await ui(t, '/api/cards/C-3'))).state).toBe('failed');
    const creates = () => passteam.requests().filter((r) => r.path.endsWith('/createcard')).length;
    const before = creates();
    const retry = await json(await ui(t, '/api/retry', { method: 'POST', body: JSON.stringify({ entity: 'card:C-3' }) }));
    expect(retry).toEqual({ ok: true, state: 'queued' });
    await expect.poll(creates).toBe(before + 1);
    expect((await ui(t, '/api/retry', { method: 'POST', body: JSON.stringify({ entity: 'card:nope' }) })).status).toBe(404);
  });

  it('invoices: list by period and search; the export from the window', async () => {
    const { t } = await setup();
    await t.api('/v1/invoices?wait=10', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invoices: [{ orderId: 'A-1', amount: '10', email: 'a@b.ru', clientId: 'Петров' }, { orderId: 'A-2', amount: '20', email: 'c@d.ru' }] }) });
    const all = await json(await ui(t, '/api/invoices'));
    expect(all.total).toBe(2);
    expect(all.invoices[0]).toMatchObject({ state: 'sent', email: expect.any(String), createdAt: expect.stringMatching(/^\d{4}-/) });
    expect((await json(await ui(t, '/api/invoices?q=Петров'))).invoices.map((i: any) => i.orderId)).toEqual(['A-1']);
    const d = new Date();
    const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const csv = await ui(t, `/api/invoices/export?from=${today}&to=${today}&format=csv`);
    expect(csv.status).toBe(200);
    // The header, both invoices, then the totals of the file (all, paid, the filter).
    const lines = (await csv.text()).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(6);
    expect(lines[3]).toBe('Итого;2 счёта;;30,00;;;;;;');
  });

  it('docpart: list and detail after a pull', async () => {
    const { docpart, t } = await setup();
    await json(await t.api('/v1/docpart/sync?wait=30', { method: 'POST' }));
    const list = await json(await ui(t, '/api/docpart/orders?limit=10'));
    expect(list.total).toBe(30);
    expect(list.orders).toHaveLength(10);
    const first = list.orders[0];
    expect(first).toMatchObject({ orderId: expect.any(Number), buyer: expect.any(String), itemsCount: expect.any(Number) });
    const detail = await json(await ui(t, `/api/docpart/orders/${first.orderId}`));
    expect(detail.items.length).toBe(first.itemsCount);
    const article = docpart.data().items[0].article;
    expect((await json(await ui(t, '/api/docpart/orders?q=' + encodeURIComponent(article)))).total).toBeGreaterThan(0);
  });

  it('pause and resume sending: paused means nothing goes out; resume sends what waited', async () => {
    const { passteam, t } = await setup();
    const h = await json(await ui(t, '/api/connectors/passteam/pause', { method: 'POST' }));
    expect(h.connectors.passteam).toMatchObject({ state: 'paused', lastError: { code: 'paused_by_operator' } });
    const r = await putCard(t, 'P-1', '+79990001122');
    expect(r.status).toBe(202);
    await new Promise((res) => setTimeout(res, 300));
    expect(passteam.requests()).toHaveLength(0);
    await ui(t, '/api/connectors/passteam/resume', { method: 'POST' });
    await expect.poll(() => passteam.requests().length).toBeGreaterThan(0);
  });

  it('test connection: the remote\'s answer for unsaved values; a bad value names its field; nothing is saved', async () => {
    const { docpart, t } = await setup();
    const test = (body: unknown) => ui(t, '/api/settings/test', { method: 'POST', body: JSON.stringify(body) });
    expect(await json(await test({ connector: 'docpart' }))).toMatchObject({ ok: true });
    const wrong = await json(await test({ connector: 'docpart', settings: { techKey: 'wrong' } }));
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toMatch(/технический ключ/);
    const bad = await test({ connector: 'docpart', settings: { everySeconds: 5 } });
    expect(bad.status).toBe(422);
    expect((await json(bad)).error.field).toBe('docpart.everySeconds');
    expect((await json(await test({ connector: 'paykeeper', settings: { password: 'nope' } }))).ok).toBe(false);
    expect((await json(await ui(t, '/api/settings'))).config.docpart.everySeconds).toBe(3600);
    expect(docpart.requests().length).toBeGreaterThan(0);
  });

  it('the journal: a period filter, a CSV export, and live events when a 1C request lands', async () => {
    const { t } = await setup();
    const d = new Date();
    const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const events = await ui(t, '/api/events');
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const { read, reader } = eventStream(events);
    expect(await read(/event: health/)).toBe(true);
    await putCard(t, 'E-1', '+79995554433');
    expect(await read(/event: journal/)).toBe(true);
    expect(await read(/event: change\ndata: \{"kind":"cards"\}/)).toBe(true);
    await reader.cancel();
    await expect.poll(async () => (await json(await ui(t, `/api/journal?from=${today}&to=${today}`))).entries.length).toBeGreaterThan(0);
    expect((await json(await ui(t, '/api/journal?from=2001-01-01&to=2001-01-02'))).entries).toEqual([]);
    const csv = await ui(t, '/api/journal/export?system=1c');
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const body = bytes.toString('utf8');
    expect(body).toContain('/v1/cards/E-1');
    expect(body.split('\r\n')[0]).toContain('Время');
  });

  it('live events: a committed write reaches the stream at once, not on a timer; the heartbeat still beats', async () => {
    // Every interval waits for the test: a stream that polled on one would never see the card.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const { t } = await setup();
      const events = await ui(t, '/api/events');
      const { read, reader, text } = eventStream(events);
      expect(await read(/event: attention/)).toBe(true);
      await putCard(t, 'L-1', '+79995554400');
      expect(await read(/event: change\ndata: \{"kind":"cards"\}/)).toBe(true);
      expect(await read(/event: journal/)).toBe(true);
      expect(text()).not.toMatch(/event: beat/);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      expect(await read(/event: beat/)).toBe(true);
      await reader.cancel();
    } finally {
      vi.useRealTimers();
    }
  });
});
