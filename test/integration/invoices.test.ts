import { describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { startFakePayKeeper, type FakePayKeeper, type FakePayKeeperOptions } from '../../main/sandbox/paykeeper/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

const USER = 'sputnik';
const PASSWORD = 'pk-password';

async function setup(fakeOpts: FakePayKeeperOptions = {}, extra: { clock?: { t: number } } = {}) {
  const fake = await startFakePayKeeper({ user: USER, password: PASSWORD, ...fakeOpts });
  const t = await startTestCore({
    config: { paykeeper: { enabled: true, baseUrl: fake.url, user: USER, password: PASSWORD, concurrency: 4 } },
    modules: [paykeeperModule],
    outbox: extra.clock ? { now: () => extra.clock!.t } : undefined,
  });
  return { fake, t };
}

const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const calls = (fake: FakePayKeeper, path: string) => fake.requests().filter((r) => r.path.split('?')[0] === path);
const inDays = (n: number) => {
  const d = new Date(Date.now() + n * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

const ORDER = { orderId: 'ЗК-123-1', amount: '1 234,5', email: 'client@example.ru', phone: '+7 987 654-32-10', clientId: 'Иванов Иван Иванович', serviceName: 'Оплата заказа 123 + доставка & сборка', expiry: inDays(3) };

async function until(ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() > end) throw new Error('condition not reached in time');
  }
}

describe('invoices against the fake PayKeeper', () => {
  it('one invoice: created and e-mailed within wait; the link, the 17-digit id as a string; exact amount, exclusive expiry, encoded fields', async () => {
    const { fake, t } = await setup();
    const r = await t.api('/v1/invoices?wait=10', post(ORDER));
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body).toMatchObject({ orderId: 'ЗК-123-1', state: 'sent', amount: '1234.50', expiry: ORDER.expiry, paidAt: null, error: null });
    expect(body.invoiceId).toMatch(/^\d{17}$/);
    expect(body.invoiceUrl).toBe(`${fake.url}/bill/${body.invoiceId}/`);
    const [inv] = fake.invoices();
    expect(inv).toMatchObject({ id: body.invoiceId, status: 'sent', pay_amount: '1234.50', orderid: 'ЗК-123-1', client_email: 'client@example.ru', clientid: 'Иванов Иван Иванович', service_name: ORDER.serviceName, sentCount: 1 });
    expect(inv.expiry).toBe(inDays(4)); // PayKeeper's expiry is the first day it can no longer be paid
    const [preview] = calls(fake, '/change/invoice/preview/');
    expect(preview.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(preview.rawBody).toContain('service_name=%D0%9E%D0%BF%D0%BB%D0%B0%D1%82%D0%B0+%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7%D0%B0+123+%2B+%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0+%26+');
    expect(preview.form.token).toBe(fake.token());
    expect(preview.headers.authorization).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
    // The order number in the path is trimmed as it is in the body (1C pads fixed-length numbers).
    const padded = await t.api(`/v1/invoices/${encodeURIComponent(` ${ORDER.orderId}  `)}`);
    expect(((await padded.json()) as any).invoiceId).toBe(body.invoiceId);
  });

  it('send: false prepares the invoice and returns the link without e-mailing it', async () => {
    const { fake, t } = await setup();
    const r = await t.api('/v1/invoices?wait=10', post({ ...ORDER, send: 'Нет' }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).state).toBe('created');
    expect(fake.invoices()[0].sentCount).toBe(0);
    expect(calls(fake, '/change/invoice/send/')).toHaveLength(0);
  });

  it('one invoice per order: same data → the same invoice; changed amount → 409 invoice_exists; after revoking, a new one', async () => {
    const { fake, t } = await setup();
    const first = (await (await t.api('/v1/invoices?wait=10', post(ORDER))).json()) as any;
    const again = await t.api('/v1/invoices?wait=10', post({ ...ORDER, amount: 1234.5, email: 'CLIENT@example.ru' }));
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).invoiceId).toBe(first.invoiceId);
    const changed = await t.api('/v1/invoices?wait=10', post({ ...ORDER, amount: '1300' }));
    expect(changed.status).toBe(409);
    const err = ((await changed.json()) as any).error;
    expect(err.code).toBe('invoice_exists');
    expect(err.message).toMatch(/отзовите/);
    expect(fake.invoices()).toHaveLength(1);

    const revoked = await t.api(`/v1/invoices/${encodeURIComponent(ORDER.orderId)}?wait=10`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as any).state).toBe('revoked');
    expect(fake.invoices()[0].revoked).toBe(true);
    const reissued = (await (await t.api('/v1/invoices?wait=10', post({ ...ORDER, amount: '1300' }))).json()) as any;
    expect(reissued).toMatchObject({ state: 'sent', amount: '1300.00' });
    expect(reissued.invoiceId).not.toBe(first.invoiceId);
    expect(fake.invoices().map((i) => i.pay_amount)).toEqual(['1234.50', '1300.00']);
  });

  it.each([
    [{ amount: 0 }, 'amount', 'Поле «amount»: должно быть больше нуля'],
    [{ amount: '10,005' }, 'amount', 'не больше 2 знаков после запятой'],
    [{ amount: '-5' }, 'amount', 'больше нуля'],
    [{ email: 'не почта' }, 'email', 'Поле «email»: не адрес электронной почты'],
    [{ email: undefined }, 'email', 'Поле «email»: обязательное поле не заполнено'],
    [{ orderId: '' }, 'orderId', 'Поле «orderId»: не заполнено'],
    [{ expiry: '01.01.2020' }, 'expiry', 'дата уже прошла'],
    [{ expiry: '31.02.2030' }, 'expiry', '«31.02.2030» — не дата'],
    [{ send: 'может' }, 'send', '«может» — ожидалось Да/Нет'],
    [{ colour: 'red' }, 'colour', 'Поле «colour»: неизвестное поле'],
    [{ orderId: undefined, email: undefined, amount: undefined }, 'orderId', 'Поле «orderId»: обязательное поле не заполнено (и ещё 2 поля: amount, email)'],
  ])('bad input %j → 422 naming the field and the fault, nothing stored or sent', async (patch, field, message) => {
    const { fake, t } = await setup();
    const r = await t.api('/v1/invoices?wait=1', post({ ...ORDER, ...patch }));
    expect(r.status).toBe(422);
    const err = ((await r.json()) as any).error;
    expect(err.field).toBe(field);
    expect(err.message).toContain(message);
    expect((await t.api(`/v1/invoices?from=${inDays(-1)}&to=${inDays(1)}`).then((x) => x.json()) as any).invoices).toEqual([]);
    expect(fake.requests()).toHaveLength(0);
  });

  it('a batch: results in input order; invalid items reported by index and field, the valid ones created', async () => {
    const { fake, t } = await setup();
    const items = Array.from({ length: 6 }, (_, i) => ({ ...ORDER, orderId: `B-${i}`, amount: `${100 + i}.10` }));
    (items[2] as any).amount = 'сто';
    (items[4] as any).email = '';
    const r = await t.api('/v1/invoices?wait=15', post({ invoices: items }));
    expect(r.status).toBe(200);
    const { invoices } = (await r.json()) as any;
    expect(invoices.map((x: any) => x.orderId)).toEqual(['B-0', 'B-1', 'B-2', 'B-3', 'B-4', 'B-5']);
    expect(invoices.map((x: any) => x.state)).toEqual(['sent', 'sent', 'failed', 'sent', 'failed', 'sent']);
    expect(invoices[2].error).toMatchObject({ code: 'invalid_value', field: 'invoices[2].amount' });
    expect(invoices[4].error).toMatchObject({ code: 'invalid_value', field: 'invoices[4].email' });
    expect(fake.invoices().map((i) => i.orderid).sort()).toEqual(['B-0', 'B-1', 'B-3', 'B-5']);
  });

  it('a stale token in the middle of a batch of 100: all 100 created, exactly one token refresh', async () => {
    const { fake, t } = await setup({ latencyMs: 10 });
    const items = Array.from({ length: 100 }, (_, i) => ({ ...ORDER, orderId: `S-${i}`, send: false }));
    const pending = t.api('/v1/invoices?wait=30', post({ invoices: items }));
    await until(() => fake.invoices().length >= 30);
    fake.rotateToken();
    const r = await pending;
    const { invoices } = (await r.json()) as any;
    expect(invoices.every((x: any) => x.state === 'created')).toBe(true);
    expect(new Set(fake.invoices().map((i) => i.orderid)).size).toBe(100);
    expect(fake.invoices()).toHaveLength(100);
    expect(calls(fake, '/info/settings/token/')).toHaveLength(2);
  });

  it('a create whose answer was lost (processed, then the connection reset) is found by order number, not created twice', async () => {
    const { fake, t } = await setup();
    fake.failNext(1, 'processed-then-reset');
    const r = await t.api('/v1/invoices?wait=15', post(ORDER));
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.state).toBe('sent');
    expect(fake.invoices()).toHaveLength(1);
    expect(body.invoiceId).toBe(fake.invoices()[0].id);
    expect(calls(fake, '/info/invoice/search/').length).toBeGreaterThanOrEqual(1);
  });

  it('PayKeeper down: 202 queued at once; created after it comes back, exactly once', async () => {
    const { fake, t } = await setup();
    fake.setDown(true);
    const r = await t.api('/v1/invoices?wait=1', post(ORDER));
    expect(r.status).toBe(202);
    expect(((await r.json()) as any)).toMatchObject({ state: 'queued', invoiceId: null });
    fake.setDown(false);
    await until(async () => ((await (await t.api(`/v1/invoices/${encodeURIComponent(ORDER.orderId)}`)).json()) as any).state === 'sent', 20_000);
    expect(fake.invoices()).toHaveLength(1);
  });

  it('wrong cabinet login: the connector pauses with a clear message instead of retrying forever', async () => {
    const fake = await startFakePayKeeper({ user: USER, password: PASSWORD, badAuth: 'html200' });
    const t = await startTestCore({ config: { paykeeper: { enabled: true, baseUrl: fake.url, user: USER, password: 'wrong' } }, modules: [paykeeperModule] });
    const r = await t.api('/v1/invoices?wait=3', post(ORDER));
    expect(r.status).toBe(202);
    await until(() => t.core.health().connectors!.paykeeper.state === 'paused');
    expect(JSON.stringify(t.core.health().connectors!.paykeeper)).toMatch(/логин и пароль/);
    expect(fake.invoices()).toHaveLength(0);
  });

  it('tracking: a payment is noticed by the schedule; GET and the changed-since feed give paidAt; revoking a paid invoice → 409', async () => {
    const clock = { t: Date.now() };
    const { fake, t } = await setup({}, { clock });
    const created = (await (await t.api('/v1/invoices?wait=10', post(ORDER))).json()) as any;
    const feed0 = (await (await t.api('/v1/invoices?changedSince=')).json()) as any;
    expect(feed0.invoices.map((x: any) => x.state)).toEqual(['sent']);
    // Started from a time after every change: empty, and its next continues from here (not from the beginning).
    const later = (await (await t.api(`/v1/invoices?changedSince=${encodeURIComponent('2099-01-01T00:00:00+03:00')}`)).json()) as any;
    expect(later).toEqual({ invoices: [], next: feed0.next });
    fake.pay(created.invoiceId, { paymentId: 77 });
    clock.t += 40_000; // the first check of a fresh invoice is due ~30 s after it was issued
    const feed = async () => (await (await t.api(`/v1/invoices?changedSince=${feed0.next}`)).json()) as any;
    await until(async () => (await feed()).invoices.length > 0);
    const [paid] = (await feed()).invoices;
    expect(paid).toMatchObject({ orderId: ORDER.orderId, state: 'paid', invoiceId: created.invoiceId });
    expect(paid.paidAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    const del = await t.api(`/v1/invoices/${encodeURIComponent(ORDER.orderId)}`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(((await del.json()) as any).error.code).toBe('invoice_paid');
    expect(fake.invoices()[0].revoked).toBe(false);
  });

  it('GET of one invoice asks PayKeeper when its status is older than 60 s; a final state is not asked again', async () => {
    const clock = { t: Date.now() };
    const { fake, t } = await setup({}, { clock });
    const created = (await (await t.api('/v1/invoices?wait=10', post({ ...ORDER, send: false }))).json()) as any;
    const byid = () => calls(fake, '/info/invoice/byid/').length;
    const path = `/v1/invoices/${encodeURIComponent(ORDER.orderId)}`;
    await t.api(path);
    const asked = byid();
    await t.api(path); // fresh enough: no call
    expect(byid()).toBe(asked);
    fake.pay(created.invoiceId);
    clock.t += 61_000;
    expect(((await (await t.api(path)).json()) as any).state).toBe('paid');
    expect(byid()).toBe(asked + 1);
    clock.t += 3_600_000;
    await t.api(path);
    expect(byid()).toBe(asked + 1);
  });

  it('the accountant exports a period: CSV for Russian Excel and XLSX with number and date cells, equal to the stored data', async () => {
    const { t } = await setup();
    const items = [
      { ...ORDER, orderId: 'E-1', amount: '1234567.89', clientId: 'ООО "Ромашка"; филиал' },
      { ...ORDER, orderId: 'E-2', amount: '0.10', send: false },
    ];
    await t.api('/v1/invoices?wait=10', post({ invoices: items }));
    const today = inDays(0);
    const csv = await t.api(`/v1/invoices/export?from=${today}&to=${today}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; .*filename\*=UTF-8''/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('1234567,89');
    expect(text).toContain('"ООО ""Ромашка""; филиал"');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(3);

    const xlsx = await t.api(`/v1/invoices/export?from=${today}&to=${today}`);
    expect(xlsx.headers.get('content-type')).toMatch(/spreadsheetml/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as any);
    const ws = wb.worksheets[0];
    expect(ws.getRow(1).getCell(1).value).toBe('Заказ');
    expect(ws.getRow(2).getCell(1).value).toBe('E-1');
    expect(ws.getRow(2).getCell(4).value).toBe(1234567.89);
    expect(ws.getRow(3).getCell(4).value).toBe(0.1);
    expect(ws.getRow(2).getCell(5).value).toBeInstanceOf(Date);
    expect(String(ws.getRow(2).getCell(10).value)).toMatch(/^\d{17}$/);

    const bad = await t.api(`/v1/invoices/export?from=${today}&to=${inDays(-2)}`);
    expect(bad.status).toBe(422);
  });

  it('list by period and state; bad filters → 422 naming the field', async () => {
    const { t } = await setup();
    await t.api('/v1/invoices?wait=10', post({ invoices: [{ ...ORDER, orderId: 'L-1' }, { ...ORDER, orderId: 'L-2', send: false }, { ...ORDER, orderId: 'L-3' }] }));
    const list = async (q: string) => ((await (await t.api(`/v1/invoices?${q}`)).json()) as any).invoices.map((x: any) => x.orderId);
    const today = inDays(0);
    expect(await list(`from=${today}&to=${today}`)).toEqual(['L-1', 'L-2', 'L-3']);
    expect(await list(`from=${today}&to=${today}&state=created`)).toEqual(['L-2']);
    expect(await list(`from=${today.split('-').reverse().join('.')}&to=${today}&state=sent,created`)).toEqual(['L-1', 'L-2', 'L-3']);
    expect(await list(`from=${inDays(1)}&to=${inDays(2)}`)).toEqual([]);
    const bad = await t.api(`/v1/invoices?from=${today}&to=${today}&state=оплачен`);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as any).error.field).toBe('state');
  });

  it('1C bodies: a windows-1251 form with a 1C number and date is accepted', async () => {
    const { fake, t } = await setup();
    const iconv = Buffer.from(
      'orderId=%C7%CA-7&amount=1%A0000%2C50&email=a%40b.ru&expiry=' + encodeURIComponent(inDays(2).split('-').reverse().join('.')),
      'latin1',
    );
    const r = await t.api('/v1/invoices?wait=10', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=windows-1251' }, body: iconv });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any)).toMatchObject({ orderId: 'ЗК-7', amount: '1000.50', expiry: inDays(2) });
    expect(fake.invoices()[0].pay_amount).toBe('1000.50');
  });
});

describe('tracking thousands of open invoices', () => {
  it('after a restart with 300 overdue checks: at most ~5 status calls a second, then each waits about an hour (they are days old)', async () => {
    const threeDaysAgo = Date.now() - 3 * 86_400_000;
    const fake = await startFakePayKeeper({
      user: USER,
      password: PASSWORD,
      seedInvoices: Array.from({ length: 300 }, (_, i) => ({ orderid: `OLD-${i}`, pay_amount: '100.00', status: 'sent' as const, created: threeDaysAgo })),
    });
    const { Invoices } = await import('../../main/connectors/paykeeper/invoices.ts');
    const dataDir = (await import('../helpers/tmp.ts')).tempDir();
    {
      const { openStore } = await import('../../main/store/index.ts');
      const { writeNow } = await import('../../main/store/write-now.ts');
      const store = openStore(dataDir);
      const invoices = new Invoices(store);
      writeNow(store, () => {
        for (const inv of fake.invoices()) {
          invoices.issue({ orderId: inv.orderid!, amount: '100.00', email: 'a@b.ru', phone: null, clientId: null, serviceName: null, expiry: null, send: true }, threeDaysAgo);
          invoices.update(inv.orderid!, { state: 'sent', invoice_id: inv.id, invoice_url: 'x', next_check_at: threeDaysAgo }, threeDaysAgo);
        }
      });
      store.close();
    }
    const t = await startTestCore({ dataDir, config: { paykeeper: { enabled: true, baseUrl: fake.url, user: USER, password: PASSWORD, concurrency: 4 } }, modules: [paykeeperModule] });
    // It works through them in rounds of at most 10 calls, a full round followed by a 2 s pause (≤ 5
    // a second): read from when the calls reached the fake once three rounds have begun, rather than
    // counted after a 4 s sleep (which a slow machine overshoots into a third round's burst).
    await until(() => calls_(fake).length >= 21, 25_000);
    const arrived = calls_(fake)
      .map((r) => r.arrivedAt)
      .sort((a, b) => a - b);
    expect(arrived[10] - arrived[9]).toBeGreaterThanOrEqual(1990); // a timer may fire up to 1 ms early
    expect(arrived[20] - arrived[19]).toBeGreaterThanOrEqual(1990);
    expect(20 / ((arrived[20] - arrived[0]) / 1000)).toBeLessThanOrEqual(6);
    const next = t.core.store.sql.column<number>(`SELECT next_check_at FROM invoices WHERE checked_at IS NOT NULL`);
    expect(next.length).toBeGreaterThan(5);
    for (const at of next) expect(at - Date.now()).toBeGreaterThan(45 * 60_000);
    await fake.stop();
  });
});

const calls_ = (fake: FakePayKeeper) => fake.requests().filter((r) => r.path.startsWith('/info/invoice/byid/'));
