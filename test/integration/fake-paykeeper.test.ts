import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakePayKeeper, type FakePayKeeper, type FakePayKeeperOptions } from '../../main/sandbox/paykeeper/fake.ts';

/**
 * Tests of the fake PayKeeper itself, over real sockets. Test names say "assumed" wherever the
 * real PayKeeper behaviour is not confirmed (see shared/reference/paykeeper.md).
 */

const FIXTURES = new URL('../fixtures/conformance/paykeeper/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const TOKEN_INVALID_67 = fixture('JustCommunication-ru_paykeeper-sdk__RefreshTokenMiddleware__token-invalid-error-code-67.json');
const TOKEN_INVALID = fixture('JustCommunication-ru_paykeeper-sdk__RefreshTokenMiddleware__token-invalid.json');

const AUTH = `Basic ${Buffer.from('sputnik:pk-password').toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';
const HOUR = 3600_000;
const MSK = 3 * HOUR;
/** ms epoch of a Moscow wall-clock time. */
const msk = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => Date.UTC(y, mo - 1, d, h, mi, s, ms) - MSK;

let fakes: FakePayKeeper[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function start(opts: FakePayKeeperOptions = {}): Promise<FakePayKeeper> {
  const f = await startFakePayKeeper(opts);
  fakes.push(f);
  return f;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  raw: Buffer;
  text: string;
  json: any;
}

async function call(
  fake: FakePayKeeper,
  path: string,
  o: { method?: string; body?: string; contentType?: string; auth?: string | null; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.auth !== null) headers.authorization = o.auth ?? AUTH;
  if (o.body !== undefined) headers['content-type'] = o.contentType ?? FORM;
  const res = await request(`${fake.url}${path}`, {
    method: (o.method ?? (o.body === undefined ? 'GET' : 'POST')) as 'GET',
    headers,
    body: o.body,
    signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
  });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers: res.headers, contentType, raw, text, json: contentType.startsWith('application/json') ? JSON.parse(text) : undefined };
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

/** A client's POST: fields plus the current token (or the one given). */
const post = (fake: FakePayKeeper, path: string, fields: Record<string, string>, token: string | null = fake.token()) =>
  call(fake, path, { body: form(token === null ? fields : { ...fields, token }) });

async function preview(fake: FakePayKeeper, fields: Record<string, string>): Promise<string> {
  const a = await post(fake, '/change/invoice/preview/', fields);
  expect(a.json, a.text).toHaveProperty('invoice_id');
  return a.json.invoice_id as string;
}

const byid = (fake: FakePayKeeper, id: string) => call(fake, `/info/invoice/byid/?id=${id}`);
const failBody = (msg: string) => ({ result: 'fail', msg });

describe('fake PayKeeper: token', () => {
  it('GET /info/settings/token/ answers {"token":"<32 hex>"} by default; POST to it is tolerated', async () => {
    const fake = await start();
    const a = await call(fake, '/info/settings/token/');
    expect(a.status).toBe(200);
    expect(a.contentType).toBe('application/json');
    expect(a.text).toBe(`{"token":"${fake.token()}"}`);
    expect(fake.token()).toMatch(/^[0-9a-f]{32}$/);
    const p = await call(fake, '/info/settings/token/', { body: '' });
    expect(p.json).toEqual({ token: fake.token() });
  });

  it('tokenShape array answers [{"token":…}] and plain answers the bare hex (assumed shapes)', async () => {
    const arr = await start({ tokenShape: 'array' });
    expect((await call(arr, '/info/settings/token/')).text).toBe(`[{"token":"${arr.token()}"}]`);
    const plain = await start({ tokenShape: 'plain' });
    const a = await call(plain, '/info/settings/token/');
    expect(a.text).toBe(plain.token());
    expect(a.contentType).not.toContain('json');
  });

  it('a stale token after rotateToken() gets the conformance body byte for byte (error_code 67); the new token works', async () => {
    const fake = await start();
    const old = fake.token();
    fake.rotateToken();
    expect(fake.token()).not.toBe(old);
    const a = await post(fake, '/change/invoice/preview/', { pay_amount: '10.00' }, old);
    expect(a.status).toBe(200);
    expect(a.contentType).toBe('application/json');
    expect(a.raw.equals(TOKEN_INVALID_67)).toBe(true);
    expect(fake.invoices()).toHaveLength(0);
    const fresh = (await call(fake, '/info/settings/token/')).json.token;
    expect((await post(fake, '/change/invoice/preview/', { pay_amount: '10.00' }, fresh)).json.invoice_id).toMatch(/^\d{17}$/);
  });

  it('tokenErrorCode:false gives the older conformance body without error_code, for missing and wrong tokens too', async () => {
    const fake = await start({ tokenErrorCode: false });
    for (const token of [null, '', 'deadbeef'.repeat(4)]) {
      const a = await post(fake, '/change/invoice/send/', { id: '20260505145510997' }, token);
      expect(a.raw.equals(TOKEN_INVALID)).toBe(true);
    }
  });

  it('the token rotates after 24 h of fake time, not before', async () => {
    const fake = await start();
    const t0 = fake.token();
    fake.advanceClock(23 * HOUR);
    expect(fake.token()).toBe(t0);
    fake.advanceClock(HOUR + 1000);
    expect(fake.token()).not.toBe(t0);
    expect((await post(fake, '/change/invoice/preview/', { pay_amount: '1' }, t0)).raw.equals(TOKEN_INVALID_67)).toBe(true);
  });

  it('a JSON POST is refused with the token fail even with the right token inside; so is a GET to a /change/ method', async () => {
    const fake = await start();
    const body = JSON.stringify({ token: fake.token(), pay_amount: '10.00' });
    const a = await call(fake, '/change/invoice/preview/', { body, contentType: 'application/json' });
    expect(a.raw.equals(TOKEN_INVALID_67)).toBe(true);
    const g = await call(fake, `/change/invoice/preview/?pay_amount=10.00&token=${fake.token()}`);
    expect(g.raw.equals(TOKEN_INVALID_67)).toBe(true);
    expect(fake.invoices()).toHaveLength(0);
    expect(fake.requests()[0]).toMatchObject({ method: 'POST', path: '/change/invoice/preview/', rawBody: body, form: {} });
  });
});

describe('fake PayKeeper: invoices', () => {
  const NOW = msk(2026, 5, 5, 14, 55, 10, 100);

  it('preview → byid → send → pay → byid: 17-digit string id, MSK datetimes, paymentid null until paid', async () => {
    const fake = await start({ now: NOW });
    const a = await post(fake, '/change/invoice/preview/', {
      pay_amount: '1234.5',
      orderid: 'A-1',
      clientid: 'Иван Петров',
      service_name: 'Абонемент',
      client_email: 'ivan@example.ru',
      client_phone: '79876543210',
      expiry: '2026-05-10 18:00:00',
    });
    expect(a.text).toMatch(/"invoice_id":"20260505145510\d{3}"/);
    const id: string = a.json.invoice_id;
    // Only the quotes keep it exact: as a JSON number it would exceed 2^53.
    expect(Number.isSafeInteger(JSON.parse(a.text.replace(/"invoice_id":"(\d+)"/, '"invoice_id":$1')).invoice_id)).toBe(false);
    expect(a.json.invoice_url).toBe(`${fake.url}/bill/${id}/`);
    expect(a.json.invoice).toContain('<html');

    const created = await byid(fake, id);
    expect(created.json).toEqual({
      id,
      user_id: '1',
      status: 'created',
      pay_amount: '1234.50',
      clientid: 'Иван Петров',
      orderid: 'A-1',
      paymentid: null,
      service_name: 'Абонемент',
      client_email: 'ivan@example.ru',
      client_phone: '79876543210',
      expiry_datetime: '2026-05-10 18:00:00',
      created_datetime: '2026-05-05 14:55:10',
      paid_datetime: null,
      user_login: 'sputnik',
    });

    expect((await post(fake, '/change/invoice/send/', { id })).text).toBe('{"result":"success"}');
    expect((await byid(fake, id)).json.status).toBe('sent');
    expect(fake.invoices()[0].sentCount).toBe(1);

    fake.advanceClock(HOUR);
    const paid = fake.pay(id);
    expect(paid).toMatchObject({ status: 'paid', paymentid: 1 });
    const after = await byid(fake, id);
    expect(after.json).toMatchObject({ status: 'paid', paymentid: 1, paid_datetime: '2026-05-05 15:55:10' });
    expect(after.text).toContain('"paymentid":1,');

    const payment = await call(fake, '/info/payments/byid/?id=1');
    expect(payment.json).toEqual([
      expect.objectContaining({ id: 1, pay_amount: '1234.50', status: 'success', orderid: 'A-1', clientid: 'Иван Петров', success_datetime: '2026-05-05 15:55:10' }),
    ]);
    expect((await call(fake, '/info/payments/byid/?id=99')).json).toEqual([]);
  });

  it('unknown invoice id → {"result":"fail","msg":"Счёт не найден."} with \\u-escaped Cyrillic, for byid/send/revoke/accept-cash', async () => {
    const fake = await start();
    const expected = '{"result":"fail","msg":"\\u0421\\u0447\\u0451\\u0442 \\u043d\\u0435 \\u043d\\u0430\\u0439\\u0434\\u0435\\u043d."}';
    expect((await byid(fake, '20260505145510997')).text).toBe(expected);
    for (const path of ['/change/invoice/send/', '/change/invoice/revoke/', '/change/invoice/accept-cash/']) {
      expect((await post(fake, path, { id: '20260505145510997' })).text).toBe(expected);
    }
  });

  it('answers are pure ASCII like PHP json_encode: Cyrillic as \\uXXXX, "/" as "\\/"', async () => {
    const fake = await start();
    const a = await post(fake, '/change/invoice/preview/', { pay_amount: '5', service_name: 'Стрижка / укладка 😀' });
    expect(a.raw.every((b) => b < 0x80)).toBe(true);
    expect(a.text).toContain('<\\/p>');
    const b = await byid(fake, a.json.invoice_id);
    expect(b.raw.every((x) => x < 0x80)).toBe(true);
    expect(b.text).toContain('"service_name":"\\u0421\\u0442\\u0440\\u0438\\u0436\\u043a\\u0430 \\/ \\u0443\\u043a\\u043b\\u0430\\u0434\\u043a\\u0430 \\ud83d\\ude00"');
    expect(b.json.service_name).toBe('Стрижка / укладка 😀');
  });

  it('pay_amount must be a positive dot decimal with at most 2 decimals (assumed message); integers are stored as "100.00"', async () => {
    const fake = await start();
    for (const bad of ['', '0', '0.00', '12,50', '1.234', '-5', '1e3', 'abc']) {
      expect((await post(fake, '/change/invoice/preview/', { pay_amount: bad })).json).toEqual(failBody('Неверно указана сумма счёта.'));
    }
    expect((await post(fake, '/change/invoice/preview/', {})).json.result).toBe('fail');
    const id = await preview(fake, { pay_amount: '100' });
    expect((await byid(fake, id)).json.pay_amount).toBe('100.00');
  });

  it('two previews with the same orderid create two invoices (no dedupe)', async () => {
    const fake = await start();
    const a = await preview(fake, { pay_amount: '10', orderid: 'DUP-1' });
    const b = await preview(fake, { pay_amount: '10', orderid: 'DUP-1' });
    expect(a).not.toBe(b);
    expect(fake.invoices().map((i) => i.orderid)).toEqual(['DUP-1', 'DUP-1']);
  });

  it('revoking or sending a paid invoice fails; accept-cash pays it once (assumed messages)', async () => {
    const fake = await start();
    const id = await preview(fake, { pay_amount: '10' });
    expect((await post(fake, '/change/invoice/accept-cash/', { id })).text).toBe('{"result":"success"}');
    expect(fake.invoices()[0]).toMatchObject({ status: 'paid', paymentid: 1 });
    expect((await post(fake, '/change/invoice/revoke/', { id })).json).toEqual(failBody('Нельзя отменить оплаченный счёт.'));
    expect((await post(fake, '/change/invoice/send/', { id })).json).toEqual(failBody('Счёт уже оплачен.'));
    expect((await post(fake, '/change/invoice/accept-cash/', { id })).json).toEqual(failBody('Счёт уже оплачен.'));
    expect(() => fake.pay(id)).toThrow(/already paid/);
    expect(() => fake.pay('123')).toThrow(/no invoice/);
  });

  it("revokedAs 'expired' (default, assumed): a revoked invoice reads as expired, cannot be sent, paid or revoked again", async () => {
    const fake = await start();
    const id = await preview(fake, { pay_amount: '10', orderid: 'R-1' });
    expect((await post(fake, '/change/invoice/revoke/', { id })).text).toBe('{"result":"success"}');
    expect((await byid(fake, id)).json.status).toBe('expired');
    expect(fake.invoices()[0]).toMatchObject({ revoked: true });
    expect((await post(fake, '/change/invoice/send/', { id })).json).toEqual(failBody('Срок действия счёта истёк.'));
    expect((await post(fake, '/change/invoice/revoke/', { id })).json).toEqual(failBody('Нельзя отменить просроченный счёт.'));
    expect(() => fake.pay(id)).toThrow(/revoked/);
    expect((await call(fake, '/info/invoice/search/?query=R-1')).json.map((r: any) => r.status)).toEqual(['expired']);
  });

  it("revokedAs 'notFound': a revoked invoice is 'Счёт не найден.' everywhere and missing from lists", async () => {
    const fake = await start({ revokedAs: 'notFound' });
    const id = await preview(fake, { pay_amount: '10', orderid: 'R-2' });
    expect((await post(fake, '/change/invoice/revoke/', { id })).json).toEqual({ result: 'success' });
    expect((await byid(fake, id)).json).toEqual(failBody('Счёт не найден.'));
    expect((await post(fake, '/change/invoice/revoke/', { id })).json).toEqual(failBody('Счёт не найден.'));
    expect((await call(fake, '/info/invoice/list/')).json).toEqual([]);
    expect((await call(fake, '/info/invoice/search/?query=R-2')).json).toEqual([]);
  });

  it('byidShape and successShape array forms (assumed wrappers); fails stay objects', async () => {
    const fake = await start({ byidShape: 'array', successShape: 'array' });
    const id = await preview(fake, { pay_amount: '10' });
    const b = await byid(fake, id);
    expect(b.json).toHaveLength(1);
    expect(b.json[0]).toMatchObject({ id, status: 'created' });
    expect((await post(fake, '/change/invoice/send/', { id })).text).toBe('[{"result":"success"}]');
    expect((await post(fake, '/change/invoice/revoke/', { id })).text).toBe('[{"result":"success"}]');
    expect((await byid(fake, '1')).json).toEqual(failBody('Счёт не найден.'));
  });

  it('1000 previews get 1000 distinct 17-digit ids', async () => {
    const fake = await start();
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => preview(fake, { pay_amount: '1', orderid: `B-${batch}-${i}` })))));
    }
    expect(ids.every((id) => /^\d{17}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1000);
    expect(new Set(fake.invoices().map((i) => i.id)).size).toBe(1000);
  });
});

describe('fake PayKeeper: expiry (boundary assumed, switchable)', () => {
  const NOON = msk(2026, 11, 30, 12);

  it("'exclusive' (default): expiry 2026-12-01 is payable until 23:59:59 MSK on 30 Nov and expired at midnight", async () => {
    const fake = await start({ now: NOON });
    const id = await preview(fake, { pay_amount: '10', expiry: '2026-12-01' });
    expect((await byid(fake, id)).json.expiry_datetime).toBe('2026-12-01 00:00:00');
    fake.advanceClock(12 * HOUR - 2000); // 23:59:58
    expect((await byid(fake, id)).json.status).toBe('created');
    fake.advanceClock(2000); // 00:00:00 on 1 Dec
    expect((await byid(fake, id)).json.status).toBe('expired');
    expect(() => fake.pay(id)).toThrow(/expired/);
    expect((await post(fake, '/change/invoice/send/', { id })).json).toEqual(failBody('Срок действия счёта истёк.'));
  });

  it("'inclusive': the whole expiry day is payable; expired at the next midnight", async () => {
    const fake = await start({ now: NOON, expiry: 'inclusive' });
    const id = await preview(fake, { pay_amount: '10', expiry: '2026-12-01' });
    fake.advanceClock(12 * HOUR + 1000); // 00:00:01 on 1 Dec
    expect((await byid(fake, id)).json.status).toBe('created');
    fake.advanceClock(24 * HOUR - 3000); // 23:59:58 on 1 Dec
    expect((await byid(fake, id)).json.status).toBe('created');
    fake.advanceClock(2000);
    expect((await byid(fake, id)).json.status).toBe('expired');
  });

  it('an expiry not in the future is refused (today is already past when exclusive, fine when inclusive); bad formats too', async () => {
    const ex = await start({ now: NOON });
    const past = failBody('Срок действия счёта должен быть в будущем.');
    expect((await post(ex, '/change/invoice/preview/', { pay_amount: '1', expiry: '2026-11-30' })).json).toEqual(past);
    expect((await post(ex, '/change/invoice/preview/', { pay_amount: '1', expiry: '2026-11-30 11:59:59' })).json).toEqual(past);
    for (const bad of ['30.11.2026', '2026-02-30', '2026-12-01T00:00:00', '2026-12-01 24:00:00']) {
      expect((await post(ex, '/change/invoice/preview/', { pay_amount: '1', expiry: bad })).json).toEqual(failBody('Неверный формат срока действия счёта.'));
    }
    const inc = await start({ now: NOON, expiry: 'inclusive' });
    expect((await post(inc, '/change/invoice/preview/', { pay_amount: '1', expiry: '2026-11-30' })).json.invoice_id).toMatch(/^\d{17}$/);
    expect(ex.invoices()).toHaveLength(0);
  });

  it('a paid invoice does not expire', async () => {
    const fake = await start({ now: NOON });
    const id = await preview(fake, { pay_amount: '10', expiry: '2026-12-01' });
    fake.pay(id, { paymentId: 77 });
    fake.advanceClock(48 * HOUR);
    expect((await byid(fake, id)).json).toMatchObject({ status: 'paid', paymentid: 77 });
  });
});

describe('fake PayKeeper: list, listcount, search', () => {
  // Created on three Moscow days; the first is 1 March in MSK but still 28 Feb in UTC.
  const seedInvoices: FakePayKeeperOptions['seedInvoices'] = [
    { orderid: 'L-1', pay_amount: '100', status: 'paid', created: msk(2026, 3, 1, 0, 30), paymentid: 5, paid: msk(2026, 3, 1, 1) },
    { orderid: 'L-2', pay_amount: '200', status: 'sent', created: msk(2026, 3, 2, 12) },
    { orderid: 'L-3', pay_amount: '300', status: 'created', created: msk(2026, 3, 3, 23, 59, 59) },
    { orderid: 'X-10', pay_amount: '400', status: 'expired', created: msk(2026, 3, 3, 10) },
  ];
  const orderids = (a: Answer) => (a.json as any[]).map((r) => r.orderid);

  it('filters by the MSK creation date with an inclusive end_date (default)', async () => {
    const fake = await start({ seedInvoices, now: msk(2026, 3, 10) });
    expect(orderids(await call(fake, '/info/invoice/list/?start_date=2026-03-01&end_date=2026-03-02'))).toEqual(['L-1', 'L-2']);
    expect(orderids(await call(fake, '/info/invoice/list/?start_date=2026-03-03&end_date=2026-03-03'))).toEqual(['L-3', 'X-10']);
    const l1 = (await call(fake, '/info/invoice/list/?start_date=2026-03-01&end_date=2026-03-01')).json[0];
    expect(l1).toMatchObject({ created_datetime: '2026-03-01 00:30:00', paid_datetime: '2026-03-01 01:00:00', paymentid: 5, pay_amount: '100.00' });
    expect(l1.id).toMatch(/^20260301003000\d{3}$/);
  });

  it("listEndDate 'exclusive' leaves out the end day", async () => {
    const fake = await start({ seedInvoices, now: msk(2026, 3, 10), listEndDate: 'exclusive' });
    expect(orderids(await call(fake, '/info/invoice/list/?start_date=2026-03-01&end_date=2026-03-02'))).toEqual(['L-1']);
    expect(orderids(await call(fake, '/info/invoice/list/?start_date=2026-03-01&end_date=2026-03-04'))).toEqual(['L-1', 'L-2', 'L-3', 'X-10']);
  });

  it('status[] repeatable (status[]= and status[0]=), from/limit paging, bad dates fail', async () => {
    const fake = await start({ seedInvoices, now: msk(2026, 3, 10) });
    const period = 'start_date=2026-03-01&end_date=2026-03-31';
    expect(orderids(await call(fake, `/info/invoice/list/?${period}&status[]=paid&status[]=sent`))).toEqual(['L-1', 'L-2']);
    expect(orderids(await call(fake, `/info/invoice/list/?${period}&status%5B0%5D=expired&status%5B1%5D=created`))).toEqual(['L-3', 'X-10']);
    expect(orderids(await call(fake, `/info/invoice/list/?${period}&from=1&limit=2`))).toEqual(['L-2', 'L-3']);
    expect((await call(fake, '/info/invoice/list/?start_date=01.03.2026')).json).toEqual(failBody('Неверный формат даты.'));
  });

  it('listcount gives string counts per occurring status and in full (assumed shape)', async () => {
    const fake = await start({ seedInvoices, now: msk(2026, 3, 10) });
    const a = await call(fake, '/info/invoice/listcount/?start_date=2026-03-01&end_date=2026-03-31');
    expect(a.json).toEqual({
      statuses: [
        { status: 'created', count: '1' },
        { status: 'sent', count: '1' },
        { status: 'paid', count: '1' },
        { status: 'expired', count: '1' },
      ],
      fullcount: [{ count: '4' }],
    });
    const b = await call(fake, '/info/invoice/listcount/?start_date=2026-03-02&end_date=2026-03-02&status[]=sent');
    expect(b.json).toEqual({ statuses: [{ status: 'sent', count: '1' }], fullcount: [{ count: '1' }] });
  });

  it('search finds invoices by orderid, exactly or as a substring, within the period', async () => {
    const fake = await start({ seedInvoices, now: msk(2026, 3, 10) });
    expect(orderids(await call(fake, '/info/invoice/search/?query=L-2&start_date=2026-03-01&end_date=2026-03-10'))).toEqual(['L-2']);
    expect(orderids(await call(fake, '/info/invoice/search/?query=L-&start_date=2026-03-01&end_date=2026-03-10'))).toEqual(['L-1', 'L-2', 'L-3']);
    expect(orderids(await call(fake, '/info/invoice/search/?query=L-2&start_date=2026-03-03&end_date=2026-03-10'))).toEqual([]);
    const id = await preview(fake, { pay_amount: '1', orderid: 'LOST-7' });
    const lost = await call(fake, '/info/invoice/search/?query=LOST-7&start_date=2026-03-10&end_date=2026-03-11');
    expect(lost.json).toEqual([expect.objectContaining({ id, orderid: 'LOST-7', status: 'created' })]);
  });
});

describe('fake PayKeeper: transport', () => {
  it('bad or missing Basic credentials get a non-JSON answer in all three modes (assumed)', async () => {
    const modes = [
      { badAuth: 'html401' as const, status: 401 },
      { badAuth: 'html200' as const, status: 200 },
      { badAuth: 'redirect303' as const, status: 303 },
    ];
    for (const m of modes) {
      const fake = await start({ badAuth: m.badAuth });
      for (const auth of [null, `Basic ${Buffer.from('sputnik:wrong').toString('base64')}`, 'Bearer x']) {
        const a = await call(fake, '/info/settings/token/', { auth });
        expect(a.status).toBe(m.status);
        expect(a.contentType).toMatch(/^text\/html/);
        expect(() => JSON.parse(a.text)).toThrow();
        if (m.badAuth === 'redirect303') expect(a.headers.location).toBe('/login/');
        if (m.badAuth === 'html401') expect(a.headers['www-authenticate']).toMatch(/^Basic /);
      }
      const p = await call(fake, '/change/invoice/preview/', { auth: null, body: form({ pay_amount: '1', token: fake.token() }) });
      expect(p.status).toBe(m.status);
      expect(fake.invoices()).toHaveLength(0);
    }
  });

  it('custom credentials are honoured', async () => {
    const fake = await start({ user: 'demo', password: 'демо:пароль' });
    expect((await call(fake, '/info/settings/token/')).status).toBe(401);
    const auth = `Basic ${Buffer.from('demo:демо:пароль').toString('base64')}`;
    expect((await call(fake, '/info/settings/token/', { auth })).json.token).toBe(fake.token());
  });

  it('unknown paths and paths without the trailing slash are an nginx 404 page (assumed)', async () => {
    const fake = await start();
    for (const path of ['/info/nothing/', '/info/settings/token', '/']) {
      const a = await call(fake, path);
      expect(a.status).toBe(404);
      expect(a.text).toContain('404 Not Found');
    }
  });

  it('injected failures: http500, http502-html, html200, empty200, then normal again', async () => {
    const fake = await start();
    fake.failNext(1, 'http500');
    fake.failNext(1, 'http502-html');
    fake.failNext(1, 'html200');
    fake.failNext(1, 'empty200');
    const a = await call(fake, '/info/settings/token/');
    expect([a.status, a.contentType]).toEqual([500, 'text/html']);
    const b = await call(fake, '/info/settings/token/');
    expect(b.status).toBe(502);
    expect(b.text).toContain('502 Bad Gateway');
    const c = await call(fake, '/info/settings/token/');
    expect(c.status).toBe(200);
    expect(c.contentType).toMatch(/^text\/html/);
    expect(() => JSON.parse(c.text)).toThrow();
    const d = await call(fake, '/info/settings/token/');
    expect([d.status, d.raw.length]).toEqual([200, 0]);
    expect((await call(fake, '/info/settings/token/')).json.token).toBe(fake.token());
    expect(fake.requests()).toHaveLength(5);
  });

  it("'reset' drops the connection without acting; 'processed-then-reset' creates the invoice and then drops it", async () => {
    const fake = await start();
    fake.failNext(1, 'reset');
    await expect(post(fake, '/change/invoice/preview/', { pay_amount: '1', orderid: 'P-1' })).rejects.toThrow();
    expect(fake.invoices()).toHaveLength(0);
    fake.failNext(1, 'processed-then-reset');
    await expect(post(fake, '/change/invoice/preview/', { pay_amount: '1', orderid: 'P-1' })).rejects.toThrow();
    expect(fake.invoices()).toHaveLength(1);
    const found = await call(fake, '/info/invoice/search/?query=P-1');
    expect(found.json.map((r: any) => r.id)).toEqual([fake.invoices()[0].id]);
  });

  it("'hang' never answers (the client times out); latency delays answers; setDown resets every connection", async () => {
    const fake = await start();
    fake.failNext(1, 'hang');
    await expect(call(fake, '/info/settings/token/', { timeoutMs: 300 })).rejects.toThrow();
    fake.setLatency(200);
    const t0 = performance.now();
    await call(fake, '/info/settings/token/');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    fake.setLatency(0);
    fake.setDown(true);
    await expect(call(fake, '/info/settings/token/')).rejects.toThrow();
    fake.setDown(false);
    expect((await call(fake, '/info/settings/token/')).status).toBe(200);
  });

  it('the request log keeps method, target, headers, raw body and the PHP-decoded form', async () => {
    const fake = await start();
    await post(fake, '/change/invoice/preview/', { pay_amount: '1', 'f[]': 'a' });
    const [r] = fake.requests();
    expect(r).toMatchObject({ method: 'POST', path: '/change/invoice/preview/' });
    expect(r.headers.authorization).toBe(AUTH);
    expect(r.form).toMatchObject({ pay_amount: '1', f: { 0: 'a' }, token: fake.token() });
    expect(r.rawBody).toContain('pay_amount=1');
    fake.clearRequests();
    expect(fake.requests()).toEqual([]);
  });
});
