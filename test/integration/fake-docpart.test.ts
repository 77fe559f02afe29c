import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  BOM,
  MSG_CROSS_DOWN,
  MSG_UNKNOWN_TASK,
  NGINX_401_HTML,
  NGINX_404_HTML,
  PHP_FATAL_HTML,
  cutToMaxInputVars,
  msgBadDate,
  msgMissing,
  noticePreamble,
  startFakeDocpart,
  type DocpartData,
  type DocpartItem,
  type DocpartOrder,
  type FakeDocpart,
  type FakeDocpartOptions,
} from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { NGINX_502_HTML } from '../../main/sandbox/fake-server.ts';
import { until } from '../helpers/until.ts';

/**
 * Tests of the fake Docpart 1C API itself, over real sockets. Test names say "assumed" wherever the
 * real module's behaviour is not confirmed (see shared/reference/docpart.md).
 */

const KEY = 'TESTKEYTECH';
const PATH = '/api/agent_1c/execute.php';
const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';
const OK = '\\u041e\\u041a'; // «ОК» as PHP's json_encode writes it

/** Unix seconds of a Moscow wall-clock time. */
const msk = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h, mi, s) / 1000 - 3 * 3600;

let fakes: FakeDocpart[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function start(opts: Partial<FakeDocpartOptions> = {}): Promise<FakeDocpart> {
  const f = await startFakeDocpart({ techKey: KEY, data: shop(), ...opts });
  fakes.push(f);
  return f;
}

type Fields = Record<string, string | string[]> | Array<[string, string]>;

/** A well-formed client body: task and tech_key first, arrays as `name[]=`. */
function body(task: string, fields: Fields = {}, key: string | null = KEY): string {
  const p = new URLSearchParams();
  p.append('task', task);
  if (key !== null) p.append('tech_key', key);
  const entries = Array.isArray(fields) ? fields : Object.entries(fields);
  for (const [k, v] of entries) {
    if (Array.isArray(v)) for (const x of v) p.append(`${k}[]`, x);
    else p.append(k, v);
  }
  return p.toString();
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  text: string;
  json: any;
}

async function call(
  fake: FakeDocpart,
  o: { body?: string; path?: string; method?: string; contentType?: string | null; auth?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.contentType !== null && o.body !== undefined) headers['content-type'] = o.contentType ?? FORM;
  if (o.auth) headers.authorization = o.auth;
  const res = await request(`${fake.url}${o.path ?? PATH}`, {
    method: (o.method ?? 'POST') as 'POST',
    headers,
    body: o.body,
    // A call that must not answer gives its own short timeout; the default only turns a hang into a
    // failure before the test's timeout, and is no bound on a loaded machine's speed.
    signal: AbortSignal.timeout(o.timeoutMs ?? 20_000),
  });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, raw, text, json };
}

const task = (fake: FakeDocpart, name: string, fields: Fields = {}) => call(fake, { body: body(name, fields) });

// ---- a small hand-made shop ----

const order = (o: Partial<DocpartOrder> & Pick<DocpartOrder, 'order_id' | 'time'>): DocpartOrder => ({
  user_id: 7,
  status: 3,
  paid: 2,
  obtain_id: 1,
  obtain_caption: 'Самовывоз',
  office_id: 1,
  office_name: 'Москва / склад',
  ...o,
});

const item = (i: Partial<DocpartItem> & Pick<DocpartItem, 'item_id' | 'order_id'>): DocpartItem => ({
  product_type: 2,
  product_id: null,
  product_name: 'Фильтр масляный',
  brand: 'Mann-Filter',
  article: 'W712/75',
  count: 1,
  price: '500.00',
  status_id: 1,
  status_name: 'Новая',
  count_flag: 1,
  t2_time_to_exe: 3,
  t2_time_to_exe_guaranteed: 5,
  ...i,
});

function shop(): DocpartData {
  return {
    orders: [
      order({ order_id: 101, time: msk(2024, 3, 10, 14, 5, 9) }),
      order({ order_id: 102, time: msk(2024, 3, 10, 23, 59, 59), user_id: 0, paid: 0, status: 1 }),
      order({ order_id: 103, time: msk(2024, 3, 11, 0, 0, 0), paid: 1, status: 5 }),
      order({ order_id: 100, time: msk(2024, 3, 10, 0, 0, 0), paid: 1, status: 5 }),
    ],
    items: [
      item({ item_id: 1001, order_id: 101, price: '1500.00', count: 2, product_type: 1, product_id: 555, t2_time_to_exe: null, t2_time_to_exe_guaranteed: null }),
      item({ item_id: 1002, order_id: 101, price: '250.50', count: 1, status_id: 6, status_name: 'Отменено', count_flag: 0 }),
      item({ item_id: 1003, order_id: 102, price: '99.99', count: 3 }),
      item({ item_id: 1004, order_id: 103, price: '10', count: 1 }),
      item({ item_id: 1000, order_id: 100, price: '1.5', count: 4 }),
    ],
    users: [
      {
        user_id: 7,
        reg_variant: 1,
        reg_field: 'ivanov.a@mail.ru',
        unlocked: 1,
        activated: 1,
        time_registered: msk(2023, 1, 2, 3, 4, 5),
        time_last_visit: msk(2024, 3, 10, 14, 0, 0),
        fields: { surname: 'Иванов', name: 'Алексей', patronymic: '', cellphone: '+79161234567', email: 'ivanov.a@mail.ru', user_id: '999' },
      },
      { user_id: 8, reg_variant: 2, reg_field: '+79030000000', unlocked: 0, activated: 0, time_registered: msk(2024, 1, 1), time_last_visit: msk(2024, 1, 1), fields: { cellphone: '+79030000000' } },
    ],
    payments: [
      { payment_id: 1, user_id: 7, time: msk(2024, 3, 10, 14, 10, 0), income: 1, pay_orders: 0, amount: '1000.00', operation_code: 2 },
      { payment_id: 2, user_id: 7, time: msk(2024, 3, 10, 14, 10, 1), income: 0, pay_orders: 101, amount: '1000.00', operation_code: 1 },
      { payment_id: 3, user_id: 7, time: msk(2024, 3, 11, 0, 0, 0), income: 0, pay_orders: 103, amount: '10.00', operation_code: 1 },
    ],
    articles: {
      'W712/75': [{ manufacturer: 'Mann-Filter', name: 'Фильтр масляный' }],
      '0 986 452 041': [
        { manufacturer: 'Bosch', name: 'Фильтр масляный' },
        { manufacturer: 'Stellox', name: 'Фильтр масляный (аналог)' },
      ],
    },
  };
}

const ORDER_101_STRINGS =
  '{"order_id":"101","time":"10.03.2024 14:05:09","user_id":"7","amount":"3000.00","paid":"2","status":"3","obtain_id":"1",' +
  '"obtain_caption":"\\u0421\\u0430\\u043c\\u043e\\u0432\\u044b\\u0432\\u043e\\u0437","office_id":"1",' +
  '"office_name":"\\u041c\\u043e\\u0441\\u043a\\u0432\\u0430 \\/ \\u0441\\u043a\\u043b\\u0430\\u0434"}';

describe('fake Docpart: envelope switches (bytes on the wire)', () => {
  it('check_connection: {"status":true,"message":"ОК"} in Cyrillic, PHP escaping, PHP default content type, HTTP 200', async () => {
    const a = await task(await start(), 'check_connection');
    expect(a.status).toBe(200);
    expect(a.text).toBe(`{"status":true,"message":"${OK}"}`);
    expect(a.json.message).toBe('ОК');
    expect(a.json.message).not.toBe('OK');
    expect(a.headers['content-type']).toBe('text/html; charset=UTF-8');
  });

  it('okMessage latin → "OK"', async () => {
    expect((await task(await start({ okMessage: 'latin' }), 'check_connection')).text).toBe('{"status":true,"message":"OK"}');
  });

  it('statusShape boolean / number / string, for success and failure (assumed)', async () => {
    const cases: Array<[FakeDocpartOptions['statusShape'], string, string]> = [
      ['boolean', 'true', 'false'],
      ['number', '1', '0'],
      ['string', '"1"', '"0"'],
    ];
    for (const [shape, yes, no] of cases) {
      const f = await start({ statusShape: shape });
      expect((await task(f, 'check_connection')).text).toBe(`{"status":${yes},"message":"${OK}"}`);
      expect((await call(f, { body: body('check_connection', {}, 'nope') })).text).toBe(`{"status":${no},"message":"Wrong key"}`);
    }
  });

  it('dataKey data (default) / Data (assumed typo variant)', async () => {
    const fields = { time_from: '10.03.2024', order_id: '101' };
    expect((await task(await start(), 'get_orders', fields)).text).toBe(`{"status":true,"message":"${OK}","data":[${ORDER_101_STRINGS}]}`);
    expect((await task(await start({ dataKey: 'Data' }), 'get_orders', fields)).text).toBe(`{"status":true,"message":"${OK}","Data":[${ORDER_101_STRINGS}]}`);
  });

  it('preamble: none / UTF-8 BOM / PHP notice before the JSON (errors too)', async () => {
    const plain = await task(await start(), 'check_connection');
    expect(plain.raw[0]).toBe(0x7b);
    const bom = await task(await start({ preamble: 'bom' }), 'check_connection');
    expect([...bom.raw.subarray(0, 4)]).toEqual([0xef, 0xbb, 0xbf, 0x7b]);
    expect(bom.text).toBe(`${BOM}{"status":true,"message":"${OK}"}`);
    const nf = await start({ preamble: 'notice' });
    const notice = await task(nf, 'check_connection');
    expect(notice.text).toBe(`${noticePreamble(PATH)}{"status":true,"message":"${OK}"}`);
    expect(notice.text.startsWith('<br />\n<b>Notice</b>:  Undefined index: x in /var/www/html/api/agent_1c/execute.php on line <b>12</b><br />\n')).toBe(true);
    expect(notice.json).toBeUndefined();
    expect((await call(nf, { body: body('check_connection', {}, 'bad') })).text).toBe(`${noticePreamble(PATH)}{"status":false,"message":"Wrong key"}`);
  });

  it('numbersAsStrings default: every id, flag, count and sum a string; nulls stay null', async () => {
    const f = await start();
    const items = await task(f, 'get_orders_items', { order_id: '101' });
    expect(items.text).toBe(
      `{"status":true,"message":"${OK}","data":[` +
        '{"order_id":"101","item_id":"1001","product_name":"\\u0424\\u0438\\u043b\\u044c\\u0442\\u0440 \\u043c\\u0430\\u0441\\u043b\\u044f\\u043d\\u044b\\u0439","brand":"Mann-Filter","article":"W712\\/75","count":"2","price":"1500.00","amount":"3000.00","product_type":"1","product_id":"555","t2_time_to_exe":null,"t2_time_to_exe_guaranteed":null,"status_id":"1","status_name":"\\u041d\\u043e\\u0432\\u0430\\u044f"},' +
        '{"order_id":"101","item_id":"1002","product_name":"\\u0424\\u0438\\u043b\\u044c\\u0442\\u0440 \\u043c\\u0430\\u0441\\u043b\\u044f\\u043d\\u044b\\u0439","brand":"Mann-Filter","article":"W712\\/75","count":"1","price":"250.50","amount":"250.50","product_type":"2","product_id":null,"t2_time_to_exe":"3","t2_time_to_exe_guaranteed":"5","status_id":"6","status_name":"\\u041e\\u0442\\u043c\\u0435\\u043d\\u0435\\u043d\\u043e"}]}',
    );
    const pay = await task(f, 'get_payments', { time_from: '10.03.2024', payment_id: '2' });
    expect(pay.text).toBe(`{"status":true,"message":"${OK}","data":[{"payment_id":"2","user_id":"7","time":"10.03.2024 14:10:01","income":"0","pay_orders":"101","amount":"1000.00","operation_code":"1"}]}`);
  });

  it('numbersAsStrings false: JSON numbers (sums as PHP floats: 3000, 250.5)', async () => {
    const f = await start({ numbersAsStrings: false });
    const o = await task(f, 'get_orders', { time_from: '10.03.2024', order_id: '101' });
    expect(o.text).toContain('{"order_id":101,"time":"10.03.2024 14:05:09","user_id":7,"amount":3000,"paid":2,"status":3,"obtain_id":1,');
    const items = (await task(f, 'get_orders_items', { order_id: '101' })).json.data;
    expect(items[1]).toMatchObject({ order_id: 101, item_id: 1002, count: 1, price: 250.5, amount: 250.5, product_type: 2, product_id: null, t2_time_to_exe: 3 });
    expect((await task(f, 'get_payments', { time_from: '01.01.2024' })).json.data[0]).toMatchObject({ payment_id: 1, income: 1, pay_orders: 0, amount: 1000, operation_code: 2 });
    expect((await task(f, 'get_user_info', { user_id: '8' })).json.data[0]).toMatchObject({ user_id: 8, unlocked: 0, activated: 0, reg_variant: 2 });
  });

  it('timeFormat formatted (default, Moscow dd.MM.yyyy HH:mm:ss) / unix seconds as string or number (assumed)', async () => {
    const t = msk(2024, 3, 10, 14, 5, 9);
    expect((await task(await start(), 'get_orders', { time_from: '10.03.2024', order_id: '101' })).json.data[0].time).toBe('10.03.2024 14:05:09');
    expect((await task(await start({ timeFormat: 'unix' }), 'get_orders', { time_from: '10.03.2024', order_id: '101' })).text).toContain(`"time":"${t}"`);
    const n = await start({ timeFormat: 'unix', numbersAsStrings: false });
    expect((await task(n, 'get_orders', { time_from: '10.03.2024', order_id: '101' })).text).toContain(`"time":${t},`);
    const u = (await task(n, 'get_user_info', { user_id: '7' })).json.data[0];
    expect(u.time_registered).toBe(msk(2023, 1, 2, 3, 4, 5));
    expect((await task(await start(), 'get_user_info', { user_id: '7' })).json.data[0].time_registered).toBe('02.01.2023 03:04:05');
  });
});

describe('fake Docpart: request handling', () => {
  it('wrong or missing tech_key → HTTP 200 status false "Wrong key" (text configurable); unknown or missing task → "Unknown task" (assumed)', async () => {
    const f = await start();
    expect((await call(f, { body: body('check_connection', {}, 'WRONG') })).json).toEqual({ status: false, message: 'Wrong key' });
    const missing = await call(f, { body: body('check_connection', {}, null) });
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ status: false, message: 'Wrong key' });
    expect((await call(f, { body: `task=check_connection&tech_key[]=${KEY}` })).json.status).toBe(false);
    expect((await task(f, 'set_order_status')).json).toEqual({ status: false, message: MSG_UNKNOWN_TASK });
    expect((await call(f, { body: `tech_key=${KEY}` })).json).toEqual({ status: false, message: MSG_UNKNOWN_TASK });
    // the key is checked before the task
    expect((await call(f, { body: body('no_such_task', {}, 'x') })).json.message).toBe('Wrong key');
    const g = await start({ wrongKeyMessage: 'Empty key' });
    expect((await call(g, { body: body('check_connection', {}, null) })).json).toEqual({ status: false, message: 'Empty key' });
  });

  it('only form-urlencoded POSTs reach $_POST: JSON body, no content type, GET → the missing-key error (assumed), logged', async () => {
    const f = await start();
    const json = await call(f, { body: JSON.stringify({ task: 'check_connection', tech_key: KEY }), contentType: 'application/json' });
    expect(json.json).toEqual({ status: false, message: 'Wrong key' });
    expect((await call(f, { body: body('check_connection'), contentType: null })).json.status).toBe(false);
    expect((await call(f, { method: 'GET', path: `${PATH}?task=check_connection&tech_key=${KEY}` })).json).toEqual({ status: false, message: 'Wrong key' });
    expect((await call(f, { body: body('check_connection'), contentType: 'application/x-www-form-urlencoded' })).json.status).toBe(true);
    expect(f.requests().map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'POST']);
    expect(f.requests()[3].form).toEqual({ task: 'check_connection', tech_key: KEY });
  });

  it('other paths → nginx 404 HTML; a configurable module directory', async () => {
    const f = await start();
    const a = await call(f, { path: '/api/agent_1c/other.php', body: body('check_connection') });
    expect(a.status).toBe(404);
    expect(a.text).toBe(NGINX_404_HTML);
    const g = await start({ path: '/api/my1c' });
    expect((await call(g, { path: '/api/my1c/execute.php', body: body('check_connection') })).json.status).toBe(true);
    expect((await call(g, { body: body('check_connection') })).status).toBe(404);
  });

  it('Basic auth gate before anything: 401 + WWW-Authenticate without or with wrong credentials, JSON with the right ones', async () => {
    const f = await start({ basicAuth: { user: 'shop', password: 'p@ss:1' } });
    const none = await call(f, { body: body('check_connection') });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="Restricted"');
    expect(none.text).toBe(NGINX_401_HTML);
    const wrong = `Basic ${Buffer.from('shop:nope').toString('base64')}`;
    expect((await call(f, { body: body('check_connection', {}, 'bad-key-too'), auth: wrong })).status).toBe(401);
    const right = `Basic ${Buffer.from('shop:p@ss:1').toString('base64')}`;
    const ok = await call(f, { body: body('check_connection'), auth: right });
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe(true);
  });

  it('PHP form parsing: `name[]=`, `name[0]=`, scalars, `+` as space, percent-encoded brackets', async () => {
    const f = await start({ data: { ...shop(), articles: { 'AB 12': [{ manufacturer: 'X', name: 'Y' }] } } });
    const ids = (a: any) => a.json.data.map((l: any) => l.item_id);
    expect(ids(await call(f, { body: `task=get_orders_items&tech_key=${KEY}&order_id[]=101&order_id[]=103` }))).toEqual(['1001', '1002', '1004']);
    expect(ids(await call(f, { body: `task=get_orders_items&tech_key=${KEY}&order_id%5B0%5D=103&order_id%5B1%5D=102` }))).toEqual(['1003', '1004']);
    expect(ids(await call(f, { body: `task=get_orders_items&tech_key=${KEY}&order_id=102` }))).toEqual(['1003']);
    expect((await call(f, { body: `task=get_article_info&tech_key=${KEY}&article=AB+12` })).json.data).toEqual([{ article: 'AB 12', manufacturer: 'X', name: 'Y' }]);
  });
});

describe('fake Docpart: max_input_vars', () => {
  const manyOrders = (n: number): DocpartData => {
    const orders: DocpartOrder[] = [];
    const items: DocpartItem[] = [];
    for (let i = 1; i <= n; i++) {
      orders.push(order({ order_id: i, time: msk(2024, 3, 1) }));
      items.push(item({ item_id: 100000 + i, order_id: i }));
    }
    return { orders, items, users: [], payments: [], articles: {} };
  };
  const ids1500 = Array.from({ length: 1500 }, (_, i) => String(i + 1));

  it('1500 order_id[] with the default 1000: PHP ≥ 5.6 keeps N+1 variables → task, tech_key and the first 999 ids, silently', async () => {
    const f = await start({ data: manyOrders(1500) });
    const a = await task(f, 'get_orders_items', { order_id: ids1500 });
    expect(a.json.status).toBe(true);
    const got = a.json.data.map((l: any) => Number(l.order_id));
    expect(got).toEqual(Array.from({ length: 999 }, (_, i) => i + 1));
    // the log shows $_POST as PHP saw it
    const logged = f.requests()[0].form.order_id as Record<string, string>;
    expect(Object.keys(logged)).toHaveLength(999);
    expect(f.requests()[0].rawBody).toContain('order_id%5B%5D=1500');
  });

  it('PHP ≤ 5.5 (maxInputVarsKeepsOneMore false) keeps exactly N → the first N−2 ids; a small cap works the same', async () => {
    const f = await start({ data: manyOrders(1500), maxInputVarsKeepsOneMore: false });
    expect((await task(f, 'get_orders_items', { order_id: ids1500 })).json.data).toHaveLength(998);
    const g = await start({ data: manyOrders(1500), maxInputVars: 10, maxInputVarsKeepsOneMore: false });
    expect((await task(g, 'get_orders_items', { order_id: ids1500 })).json.data.map((l: any) => l.order_id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    const h = await start({ data: manyOrders(1500), maxInputVars: 10 });
    expect((await task(h, 'get_orders_items', { order_id: ids1500 })).json.data).toHaveLength(9);
  });

  it('fields after the cut are gone: a key sent last is lost (→ "Wrong key")', async () => {
    const f = await start({ data: manyOrders(20), maxInputVars: 10 });
    const b = [`task=get_orders_items`, ...ids1500.slice(0, 20).map((id) => `order_id[]=${id}`), `tech_key=${KEY}`].join('&');
    expect((await call(f, { body: b })).json).toEqual({ status: false, message: 'Wrong key' });
  });

  it('the counting rule: each piece is one variable; PHP ≥ 5.6 counts empty pieces, not a trailing "&"', () => {
    expect(cutToMaxInputVars('a=1&b=2&c=3&d=4&e=5', 3, true)).toBe('a=1&b=2&c=3&d=4');
    expect(cutToMaxInputVars('a=1&b=2&c=3&d=4&e=5', 3, false)).toBe('a=1&b=2&c=3');
    expect(cutToMaxInputVars('a=1&&b=2&c=3&d=4', 2, true)).toBe('a=1&&b=2');
    expect(cutToMaxInputVars('a=1&&b=2&c=3&d=4', 2, false)).toBe('a=1&b=2');
    expect(cutToMaxInputVars('a=1&b=2&c=3&', 2, true)).toBeNull();
  });
});

describe('fake Docpart: get_orders / get_payments filters', () => {
  const ids = (a: Answer) => a.json.data.map((o: any) => Number(o.order_id ?? o.payment_id));

  it('time_from is required and must be dd.MM.yyyy (Russian message, assumed text)', async () => {
    const f = await start();
    for (const t of ['get_orders', 'get_payments']) {
      expect((await task(f, t)).json).toEqual({ status: false, message: msgMissing('time_from') });
      expect((await task(f, t, { time_from: '' })).json).toEqual({ status: false, message: msgMissing('time_from') });
      expect((await task(f, t, { time_from: '2024-03-10' })).json).toEqual({ status: false, message: msgBadDate('time_from') });
      expect((await task(f, t, { time_from: '31.02.2024' })).json).toEqual({ status: false, message: msgBadDate('time_from') });
      expect((await task(f, t, { time_from: ['10.03.2024'] })).json.status).toBe(false);
      expect((await task(f, t, { time_from: '10.03.2024', time_to: 'завтра' })).json).toEqual({ status: false, message: msgBadDate('time_to') });
    }
  });

  it('dates are Moscow midnights; time_from inclusive; time_to exclusive by default (assumed)', async () => {
    const f = await start();
    expect(ids(await task(f, 'get_orders', { time_from: '10.03.2024' }))).toEqual([100, 101, 102, 103]);
    expect(ids(await task(f, 'get_orders', { time_from: '10.03.2024', time_to: '11.03.2024' }))).toEqual([100, 101, 102]);
    expect(ids(await task(f, 'get_orders', { time_from: '10.03.2024', time_to: '10.03.2024' }))).toEqual([]);
    expect(ids(await task(f, 'get_orders', { time_from: '11.03.2024' }))).toEqual([103]);
    expect(ids(await task(f, 'get_orders', { time_from: '9.3.2024', time_to: '10.03.2024' }))).toEqual([]);
    expect(ids(await task(f, 'get_payments', { time_from: '10.03.2024', time_to: '11.03.2024' }))).toEqual([1, 2]);
  });

  it('timeToInclusive: time_to covers its whole day (23:59:59 in, next midnight out)', async () => {
    const f = await start({ timeToInclusive: true });
    expect(ids(await task(f, 'get_orders', { time_from: '10.03.2024', time_to: '10.03.2024' }))).toEqual([100, 101, 102]);
    expect(ids(await task(f, 'get_payments', { time_from: '10.03.2024', time_to: '11.03.2024' }))).toEqual([1, 2, 3]);
  });

  it('filters order_id, status, paid (paid=0 filters: assumed), sorted by order_id; a bad filter value → status false', async () => {
    const f = await start();
    const all = { time_from: '01.01.2024' };
    expect(ids(await task(f, 'get_orders', { ...all, order_id: '102' }))).toEqual([102]);
    expect(ids(await task(f, 'get_orders', { ...all, order_id: '999' }))).toEqual([]);
    expect(ids(await task(f, 'get_orders', { ...all, status: '5' }))).toEqual([100, 103]);
    expect(ids(await task(f, 'get_orders', { ...all, paid: '0' }))).toEqual([102]);
    expect(ids(await task(f, 'get_orders', { ...all, paid: '1', status: '5', time_to: '11.03.2024' }))).toEqual([100]);
    expect(ids(await task(f, 'get_orders', { ...all, paid: '' }))).toEqual([100, 101, 102, 103]);
    expect((await task(f, 'get_orders', { ...all, paid: 'yes' })).json.status).toBe(false);
  });

  it('get_payments filters payment_id, operation_code, income (income=0 works)', async () => {
    const f = await start();
    const all = { time_from: '01.01.2024' };
    expect(ids(await task(f, 'get_payments', all))).toEqual([1, 2, 3]);
    expect(ids(await task(f, 'get_payments', { ...all, income: '0' }))).toEqual([2, 3]);
    expect(ids(await task(f, 'get_payments', { ...all, income: '1' }))).toEqual([1]);
    expect(ids(await task(f, 'get_payments', { ...all, operation_code: '1' }))).toEqual([2, 3]);
    expect(ids(await task(f, 'get_payments', { ...all, payment_id: '3' }))).toEqual([3]);
    expect(ids(await task(f, 'get_payments', { time_from: '11.03.2024', payment_id: '1' }))).toEqual([]);
  });

  it('the fields are exactly §3.2 + amount, and amount = Σ price×count over count_flag 1 lines (cancelled excluded)', async () => {
    const f = await start();
    const data = (await task(f, 'get_orders', { time_from: '01.01.2024' })).json.data;
    expect(Object.keys(data[0])).toEqual(['order_id', 'time', 'user_id', 'amount', 'paid', 'status', 'obtain_id', 'obtain_caption', 'office_id', 'office_name']);
    expect(data.map((o: any) => o.amount)).toEqual(['6.00', '3000.00', '299.97', '10.00']);
  });
});

describe('fake Docpart: test hooks change the next answer', () => {
  it('updateItem: cancel / restore a line, change price and count → amounts recomputed', async () => {
    const f = await start();
    const amount = async () => (await task(f, 'get_orders', { time_from: '01.01.2024', order_id: '101' })).json.data[0].amount;
    expect(await amount()).toBe('3000.00');
    expect(f.updateItem(1002, { count_flag: 1, status_id: 2, status_name: 'Заказано у поставщика' })).toMatchObject({ item_id: 1002, count_flag: 1 });
    expect(await amount()).toBe('3250.50');
    f.updateItem(1001, { count_flag: 0, status_id: 6, status_name: 'Отменено' });
    expect(await amount()).toBe('250.50');
    f.updateItem(1002, { price: '100.1', count: 3 });
    expect(await amount()).toBe('300.30');
    const line = (await task(f, 'get_orders_items', { order_id: '101' })).json.data[1];
    expect(line).toMatchObject({ price: '100.10', count: '3', amount: '300.30', status_id: '2', status_name: 'Заказано у поставщика' });
    expect(() => f.updateItem(1002, { price: '1,5' })).toThrow();
    expect(() => f.updateItem(424242, { count: 1 })).toThrow();
  });

  it('updateOrder (status, paid 0/1/2), addOrder, addPayment; data() is a deep copy', async () => {
    const f = await start();
    expect(f.updateOrder(102, { paid: 2, status: 4 })).toMatchObject({ order_id: 102, paid: 2, status: 4 });
    expect((await task(f, 'get_orders', { time_from: '01.01.2024', order_id: '102' })).json.data[0]).toMatchObject({ paid: '2', status: '4' });
    expect(() => f.updateOrder(102, { paid: 3 as 0 })).toThrow();
    f.addOrder(order({ order_id: 50, time: msk(2024, 3, 12, 9) }), [item({ item_id: 9000, order_id: 50, price: '7.77', count: 2 })]);
    const got = (await task(f, 'get_orders', { time_from: '01.01.2024' })).json.data;
    expect(got.map((o: any) => o.order_id)).toEqual(['50', '100', '101', '102', '103']);
    expect(got[0].amount).toBe('15.54');
    expect(() => f.addOrder(order({ order_id: 50, time: 0 }), [])).toThrow();
    f.addPayment({ payment_id: 10, user_id: 0, time: msk(2024, 3, 12, 9, 30), income: 0, pay_orders: 50, amount: '15.54', operation_code: 1 });
    expect((await task(f, 'get_payments', { time_from: '12.03.2024' })).json.data).toEqual([
      { payment_id: '10', user_id: '0', time: '12.03.2024 09:30:00', income: '0', pay_orders: '50', amount: '15.54', operation_code: '1' },
    ]);
    const snap = f.data();
    snap.orders[0].status = 99;
    expect(f.data().orders[0].status).not.toBe(99);
    expect(snap.items.find((i) => i.item_id === 9000)).toMatchObject({ order_id: 50, price: '7.77' });
  });
});

describe('fake Docpart: get_orders_items, get_user_info, get_article_info', () => {
  it('get_orders_items: fields of §3.3 (no count_flag), line amount = price×count even for cancelled lines; ids required', async () => {
    const f = await start();
    const data = (await task(f, 'get_orders_items', { order_id: ['101', '101', '999'] })).json.data;
    expect(data).toHaveLength(2);
    expect(Object.keys(data[0])).toEqual([
      'order_id', 'item_id', 'product_name', 'brand', 'article', 'count', 'price', 'amount', 'product_type', 'product_id',
      't2_time_to_exe', 't2_time_to_exe_guaranteed', 'status_id', 'status_name',
    ]);
    expect(data[1].amount).toBe('250.50');
    expect((await task(f, 'get_orders_items')).json).toEqual({ status: false, message: msgMissing('order_id') });
    expect((await task(f, 'get_orders_items', { order_id: ['abc'] })).json.status).toBe(false);
  });

  it('get_user_info: data always an array (assumed), fixed fields then registration fields as top-level keys', async () => {
    const f = await start();
    const one = (await task(f, 'get_user_info', { user_id: '7' })).json.data;
    expect(Array.isArray(one)).toBe(true);
    expect(one[0]).toEqual({
      user_id: '7',
      reg_variant: '1',
      reg_field: 'ivanov.a@mail.ru',
      unlocked: '1',
      activated: '1',
      time_registered: '02.01.2023 03:04:05',
      time_last_visit: '10.03.2024 14:00:00',
      surname: 'Иванов',
      name: 'Алексей',
      patronymic: '',
      cellphone: '+79161234567',
      email: 'ivanov.a@mail.ru',
    });
    const many = (await task(f, 'get_user_info', { user_id: ['8', '7', '404'] })).json.data;
    expect(many.map((u: any) => u.user_id)).toEqual(['7', '8']);
    expect(many[1]).toEqual({ user_id: '8', reg_variant: '2', reg_field: '+79030000000', unlocked: '0', activated: '0', time_registered: '01.01.2024 00:00:00', time_last_visit: '01.01.2024 00:00:00', cellphone: '+79030000000' });
    expect((await task(f, 'get_user_info', { user_id: '404' })).text).toBe(`{"status":true,"message":"${OK}","data":[]}`);
  });

  it('get_article_info: scalar or array, several manufacturers, unknown → empty data; lookup ignores case and punctuation (assumed)', async () => {
    const f = await start();
    expect((await task(f, 'get_article_info', { article: '0986452041' })).json.data).toEqual([
      { article: '0986452041', manufacturer: 'Bosch', name: 'Фильтр масляный' },
      { article: '0986452041', manufacturer: 'Stellox', name: 'Фильтр масляный (аналог)' },
    ]);
    const many = (await task(f, 'get_article_info', { article: ['w712/75', 'NOPE-1'] })).json;
    expect(many).toEqual({ status: true, message: 'ОК', data: [{ article: 'w712/75', manufacturer: 'Mann-Filter', name: 'Фильтр масляный' }] });
    expect((await task(f, 'get_article_info', { article: 'NOPE-1' })).text).toBe(`{"status":true,"message":"${OK}","data":[]}`);
  });

  it('articleLatencyMs delays only get_article_info; articleFailure → status false (assumed text)', async () => {
    // Lower bounds on the injected latency only: a delay that must not happen is an hour, which
    // would run into the call's and the test's timeout.
    const hour = await start({ articleLatencyMs: 3_600_000 });
    expect((await task(hour, 'check_connection')).json.status).toBe(true);
    const f = await start({ articleLatencyMs: 400 });
    const t = performance.now();
    expect((await task(f, 'get_article_info', { article: 'W712/75' })).json.data).toHaveLength(1);
    expect(performance.now() - t).toBeGreaterThanOrEqual(390);
    expect((await task(f, 'get_article_info', { article: 'W712/75' })).json.status).toBe(true); // keep-alive socket still fine
    const g = await start({ articleFailure: true });
    expect((await task(g, 'get_article_info', { article: 'W712/75' })).json).toEqual({ status: false, message: MSG_CROSS_DOWN });
    expect((await task(g, 'check_connection')).json.status).toBe(true);
  });

  it('a slow cross answer cut by stop() does not keep the fake alive', async () => {
    const f = await startFakeDocpart({ techKey: KEY, data: shop(), articleLatencyMs: 10_000 });
    const pending = task(f, 'get_article_info', { article: 'W712/75' }).catch((e: unknown) => e);
    await until(() => f.requests().length === 1, 'the call held back at the fake'); // its answer is held from that tick on
    await f.stop();
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('fake Docpart: failures and latency', () => {
  it('http500, http502-html, html200 (PHP fatal error page), then normal again', async () => {
    const f = await start();
    f.failNext(1, 'http500');
    f.failNext(1, 'http502-html');
    f.failNext(1, 'html200');
    const a = await task(f, 'check_connection');
    expect(a.status).toBe(500);
    expect(a.text).toContain('500 Internal Server Error');
    const b = await task(f, 'check_connection');
    expect([b.status, b.text]).toEqual([502, NGINX_502_HTML]);
    const c = await task(f, 'check_connection');
    expect([c.status, c.text, c.json]).toEqual([200, PHP_FATAL_HTML, undefined]);
    expect((await task(f, 'check_connection')).json.status).toBe(true);
    expect(f.requests()).toHaveLength(4);
  });

  it('reset, hang, processed-then-reset, down', async () => {
    const f = await start();
    f.failNext(1, 'reset');
    await expect(task(f, 'check_connection')).rejects.toThrow();
    f.failNext(1, 'hang');
    await expect(call(f, { body: body('check_connection'), timeoutMs: 300 })).rejects.toThrow();
    f.failNext(1, 'processed-then-reset');
    await expect(task(f, 'get_orders', { time_from: '01.01.2024' })).rejects.toThrow();
    expect(f.requests().at(-1)!.form).toMatchObject({ task: 'get_orders' });
    f.setDown(true);
    await expect(task(f, 'check_connection')).rejects.toThrow();
    f.setDown(false);
    expect((await task(f, 'check_connection')).json.status).toBe(true);
  });

  it('setLatency / latencyMs from arrival', async () => {
    const f = await start({ latencyMs: 200 });
    const t = performance.now();
    await task(f, 'check_connection');
    expect(performance.now() - t).toBeGreaterThanOrEqual(190);
    // No upper bound on real time: an hour's latency is seen as a call that does not answer, and
    // with the hour still in force the call after setLatency(0) would run into its timeout.
    f.setLatency(3_600_000);
    await expect(call(f, { body: body('check_connection'), timeoutMs: 300 })).rejects.toThrow();
    f.setLatency(0);
    expect((await task(f, 'check_connection')).json.status).toBe(true);
  });
});

describe('fake Docpart: seed generator', () => {
  const NOW = Date.UTC(2024, 2, 15, 9, 0, 0);

  it('deterministic: same seed + now → identical; another seed → different', () => {
    const a = generateDocpartData({ orders: 300, seed: 42, now: NOW });
    const b = generateDocpartData({ orders: 300, seed: 42, now: NOW });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(generateDocpartData({ orders: 300, seed: 43, now: NOW }))).not.toBe(JSON.stringify(a));
  });

  it('realistic mix: guests, paid 0/1/2, both product types, ~5 % cancelled lines, payments in both directions, times in the window', () => {
    const d = generateDocpartData({ orders: 4000, seed: 5, now: NOW, days: 14 });
    const nowS = NOW / 1000;
    expect(d.orders).toHaveLength(4000);
    const guests = d.orders.filter((o) => o.user_id === 0).length / d.orders.length;
    expect(guests).toBeGreaterThan(0.07);
    expect(guests).toBeLessThan(0.13);
    expect(new Set(d.orders.map((o) => o.paid))).toEqual(new Set([0, 1, 2]));
    expect(d.orders.every((o) => o.time <= nowS && o.time > nowS - 14 * 86400)).toBe(true);
    expect(d.orders.every((o, i) => i === 0 || (o.order_id > d.orders[i - 1].order_id && o.time >= d.orders[i - 1].time))).toBe(true);
    expect(new Set(d.items.map((i) => i.product_type))).toEqual(new Set([1, 2]));
    expect(d.items.every((i) => (i.product_type === 1 ? i.product_id !== null && i.t2_time_to_exe === null : i.product_id === null && i.t2_time_to_exe !== null))).toBe(true);
    expect(d.items.every((i) => /^\d+\.\d{2}$/.test(i.price))).toBe(true);
    const cancelled = d.items.filter((i) => i.count_flag === 0).length / d.items.length;
    expect(cancelled).toBeGreaterThan(0.03);
    expect(cancelled).toBeLessThan(0.07);
    const brands = new Set(d.items.map((i) => i.brand));
    for (const b of ['Bosch', 'Mann-Filter', 'NGK', 'Febi', 'Lemforder']) expect(brands).toContain(b);
    expect(d.items.every((i) => d.articles[i.article]?.some((c) => c.manufacturer === i.brand))).toBe(true);
    // users with registration fields
    expect(d.users[0].fields).toHaveProperty('surname');
    expect(Object.keys(d.users[0].fields).sort()).toEqual(['cellphone', 'email', 'name', 'patronymic', 'surname']);
    // every paid order has an expense row for it; income rows have pay_orders 0
    const expenses = new Map(d.payments.filter((p) => p.income === 0).map((p) => [p.pay_orders, p]));
    const paid = d.orders.filter((o) => o.paid !== 0);
    expect(paid.every((o) => expenses.get(o.order_id)?.operation_code === 1)).toBe(true);
    expect(d.payments.filter((p) => p.income === 1).every((p) => p.pay_orders === 0 && p.operation_code === 2)).toBe(true);
    expect(d.payments.filter((p) => p.income === 1).length).toBeGreaterThan(paid.length / 2);
    expect(d.payments.every((p, i) => p.payment_id === i + 1 && (i === 0 || p.time >= d.payments[i - 1].time))).toBe(true);
  });

  it('fully paid orders: the expense row equals the order amount the fake reports', async () => {
    const d = generateDocpartData({ orders: 200, seed: 9, now: NOW });
    const f = await start({ data: d });
    const answer = (await task(f, 'get_orders', { time_from: '01.01.2024' })).json.data;
    expect(answer).toHaveLength(200);
    const byId = new Map(d.payments.filter((p) => p.income === 0).map((p) => [p.pay_orders, p.amount]));
    for (const o of answer.filter((x: any) => x.paid === '1')) expect(byId.get(Number(o.order_id))).toBe(o.amount);
  });

  it('20,000 orders / ~60,000 lines (its speed is a figure of `node bench/run.ts seeds`)', () => {
    const d = generateDocpartData({ orders: 20_000, seed: 1, now: NOW });
    expect(d.orders).toHaveLength(20_000);
    expect(d.items.length).toBeGreaterThan(57_000);
    expect(d.items.length).toBeLessThan(63_000);
  });
});
