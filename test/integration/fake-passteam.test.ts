import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakePassteam, type FakePassteam, type FakePassteamOptions } from '../../main/sandbox/passteam/fake.ts';
import { parsePhpForm, phpUrlDecode } from '../../main/sandbox/passteam/php-form.ts';
import { sandboxPassteamSeed } from '../../main/sandbox/passteam/seed.ts';

/**
 * Tests of the fake Passteam itself, over real sockets. Test names say "assumed" wherever the
 * real Passteam behaviour is not confirmed (see shared/reference/passteam.md).
 */

const TOKEN = 'pt-token-7f3a';
const FORM = 'application/x-www-form-urlencoded';

let fakes: FakePassteam[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

async function start(opts: Partial<FakePassteamOptions> = {}): Promise<FakePassteam> {
  const f = await startFakePassteam({ token: TOKEN, ...opts });
  fakes.push(f);
  return f;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: { result: any; message: string; code: number; error: boolean };
}

/** Properly encoded form body (what a correct client sends). */
function encode(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

async function call(
  fake: FakePassteam,
  method: string,
  body: string | Record<string, string>,
  o: { token?: string | null; contentType?: string; verb?: 'POST' | 'GET' | 'PUT'; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': o.contentType ?? FORM };
  if (o.token !== null) headers.authorization = o.token ?? TOKEN;
  const res = await request(`${fake.url}/oapi/v1/${method}`, {
    method: o.verb ?? 'POST',
    headers,
    body: o.verb === 'GET' ? undefined : typeof body === 'string' ? body : encode(body),
    // A call that must not answer gives its own timeout; the default only turns a hang into a
    // failure before the test's timeout, and is no bound on a loaded machine's speed.
    signal: AbortSignal.timeout(o.timeoutMs ?? 20_000),
  });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, contentType, text, json: contentType.includes('json') ? JSON.parse(text) : (null as never) };
}

const ivan = {
  templateId: 'tpl-loyalty',
  'values[%CLIENT_NAME%]': 'Иван Петров',
  'values[%BIRTHDAY%]': '01.02.1980',
  'values[%PHONE%]': '+79876543210',
  'values[%EMAIL%]': 'ivan@example.ru',
  'values[%BONUS%]': '0',
  'values[%DISCOUNT%]': '5%',
};

describe('fake Passteam: transport and envelope', () => {
  it("always200 mode: HTTP 200 for success and errors, JSON envelope {result,message,code,error}", async () => {
    const fake = await start();
    const created = await call(fake, 'createcard', ivan);
    expect(created.status).toBe(200);
    expect(created.contentType).toBe('application/json; charset=utf-8');
    expect(created.json).toMatchObject({ message: 'OK', code: 200, error: false });
    const missing = await call(fake, 'createcard', { templateId: 'nope' });
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ result: null, message: 'Template not found', code: 404, error: true });
  });

  it('mirror mode (assumed): HTTP status equals body code; switchable at runtime', async () => {
    const fake = await start({ httpStatus: 'mirror' });
    expect((await call(fake, 'createcard', ivan)).status).toBe(200);
    const dup = await call(fake, 'createcard', ivan);
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe(409);
    expect(dup.contentType).toBe('application/json; charset=utf-8');
    const bad = await call(fake, 'createcard', ivan, { token: 'wrong' });
    expect(bad.status).toBe(401);
    fake.setHttpStatusMode('always200');
    expect((await call(fake, 'createcard', ivan, { token: 'wrong' })).status).toBe(200);
  });

  it('bare-token auth: exact token only; Bearer, wrong or missing → code 401 (text assumed, configurable)', async () => {
    const fake = await start({ authErrorMessage: 'Token is invalid' });
    for (const token of [`Bearer ${TOKEN}`, 'wrong', null, TOKEN.toUpperCase(), '']) {
      const r = await call(fake, 'createcard', ivan, { token });
      expect(r.json).toEqual({ result: null, message: 'Token is invalid', code: 401, error: true });
    }
    expect(fake.cards()).toHaveLength(0);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200);
    const def = await start();
    expect((await call(def, 'createcard', ivan, { token: 'x' })).json.message).toBe('Invalid token');
  });

  it('keeps every request by default; with keepRequests (the sandbox) only about the latest ones, in order', async () => {
    const all = await start();
    const few = await start({ keepRequests: 5 });
    for (let i = 0; i < 25; i++) {
      for (const f of [all, few]) await request(`${f.url}/api/n${i}`, { method: 'GET' }).then((r) => r.body.dump());
    }
    expect(all.requests().map((r) => r.path)).toEqual(Array.from({ length: 25 }, (_, i) => `/api/n${i}`));
    const kept = few.requests().map((r) => r.path);
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.length).toBeLessThan(10);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => `/api/n${25 - kept.length + i}`));
  });

  it('method names are case-insensitive; other verbs, paths and unimplemented methods → Method not found', async () => {
    const fake = await start();
    expect((await call(fake, 'CreateCard', ivan)).json.code).toBe(200);
    const id = fake.cards()[0].cardId;
    expect((await call(fake, 'UPDATECARD', { cardId: id, 'values[%BONUS%]': '10' })).json.code).toBe(200);
    expect((await call(fake, 'updateCard', { cardId: id, 'values[%BONUS%]': '11' })).json.code).toBe(200);
    const notFound = { result: null, message: 'Method not found', code: 404, error: true };
    expect((await call(fake, 'createcard', '', { verb: 'GET' })).json).toEqual(notFound);
    expect((await call(fake, 'createcard', encode(ivan), { verb: 'PUT' })).json).toEqual(notFound);
    for (const m of ['getatoken', 'gettemplates', 'updatecards', 'createcard/extra', '']) {
      expect((await call(fake, m, ivan)).json).toEqual(notFound);
    }
    const v2 = await request(`${fake.url}/oapi/v2/createcard`, { method: 'POST', headers: { authorization: TOKEN, 'content-type': FORM }, body: encode(ivan) });
    expect(await v2.body.json()).toEqual(notFound);
  });

  it('records every request in order and can clear them', async () => {
    const fake = await start();
    await call(fake, 'createcard', ivan);
    await call(fake, 'nosuch', 'a=1');
    const reqs = fake.requests();
    expect(reqs.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/oapi/v1/createcard'],
      ['POST', '/oapi/v1/nosuch'],
    ]);
    expect(reqs[0].headers.authorization).toBe(TOKEN);
    expect(reqs[0].rawBody).toBe(encode(ivan));
    expect(reqs[0].form).toMatchObject({ templateId: 'tpl-loyalty', values: { '%PHONE%': '+79876543210', '%DISCOUNT%': '5%' } });
    fake.clearRequests();
    expect(fake.requests()).toEqual([]);
  });
});

describe('fake Passteam: PHP-style form decoding', () => {
  const balanceTemplate = { id: 'tpl-balance', variables: ['BALANCE', 'PHONE'], unique: ['PHONE'] };

  it('an UNENCODED body is mangled exactly as PHP would: %BA → byte 0xBA (BALANCE missing), + → space', async () => {
    const fake = await start({ templates: [balanceTemplate] });
    const raw = 'templateId=tpl-balance&values[%BALANCE%]=7500&values[%PHONE%]=+79876543210';
    const r = await call(fake, 'createcard', raw);
    expect(r.json.code).toBe(200);
    const form = fake.requests()[0].form as { values: Record<string, string> };
    expect(Object.keys(form.values)).toEqual(['\uFFFDLANCE%', '%PHONE%']);
    expect(form.values['%PHONE%']).toBe(' 79876543210');
    expect(fake.cards()[0].values).toEqual({ BALANCE: '', PHONE: ' 79876543210' });
    expect(r.json.result.card.values).toEqual({ '%BALANCE%': '', '%PHONE%': ' 79876543210' });
  });

  it('when the garbled variable is unique, the unencoded body gets the PHP unique-field 500', async () => {
    const fake = await start({ templates: [{ id: 'tpl-balance', variables: ['BALANCE', 'PHONE'], unique: ['BALANCE'] }] });
    const r = await call(fake, 'createcard', 'templateId=tpl-balance&values[%BALANCE%]=7500&values[%PHONE%]=+79876543210');
    expect(r.json).toEqual({ result: null, message: 'Provided field (BALANCE) is unique and must be set.', code: 500, error: true });
  });

  it('the properly percent-encoded body (Passteam\'s own advice) works', async () => {
    const fake = await start({ templates: [balanceTemplate] });
    const body = 'templateId=tpl-balance&values%5B%25BALANCE%25%5D=7500&values%5B%25PHONE%25%5D=%2B79876543210';
    expect(encode({ templateId: 'tpl-balance', 'values[%BALANCE%]': '7500', 'values[%PHONE%]': '+79876543210' })).toBe(body);
    const r = await call(fake, 'createcard', body);
    expect(r.json.code).toBe(200);
    expect(fake.cards()[0].values).toEqual({ BALANCE: '7500', PHONE: '+79876543210' });
  });

  it('raw UTF-8 Cyrillic and spaces (as 1C sends them) survive; invalid escapes stay literal', async () => {
    const fake = await start();
    const raw = 'templateId=tpl-loyalty&values[%CLIENT_NAME%]=Иван Петров&values[%PHONE%]=89876543210&values[%DISCOUNT%]=5%zz&values[%EMAIL%]=a%40b.ru';
    expect((await call(fake, 'createcard', raw)).json.code).toBe(200);
    expect(fake.cards()[0].values).toMatchObject({ CLIENT_NAME: 'Иван Петров', PHONE: '89876543210', DISCOUNT: '5%zz', EMAIL: 'a@b.ru' });
  });

  it('form is only read for application/x-www-form-urlencoded (PHP $_POST); JSON bodies lose every field', async () => {
    const fake = await start();
    const r = await call(fake, 'createcard', JSON.stringify({ templateId: 'tpl-loyalty', values: { '%PHONE%': '+7' } }), { contentType: 'application/json' });
    expect(r.json.message).toBe('Template not found');
    expect((await call(fake, 'createcard', ivan, { contentType: `${FORM}; charset=UTF-8` })).json.code).toBe(200);
  });

  it('variables sent without % are unknown and ignored (assumed)', async () => {
    const fake = await start();
    const r = await call(fake, 'createcard', { templateId: 'tpl-loyalty', 'values[PHONE]': '+79876543210', 'values[%NOPE%]': 'x' });
    expect(r.json.message).toBe('Provided field (PHONE) is unique and must be set.');
  });

  it('parsePhpForm follows PHP bracket and name rules', () => {
    expect(parsePhpForm('a.b=1&c d=2&  e=3&f[x=4&g[x][y=5&h[x]junk=6&i[]=7&i[]=8&j[k][]=9&=10&[z]=11&m&n=a=b&&o=%00p&q%00r=1')).toEqual({
      a_b: '1',
      c_d: '2',
      e: '3',
      f_x: '4',
      g: { x: '5' },
      h: { x: '6' },
      i: { 0: '7', 1: '8' },
      j: { k: { 0: '9' } },
      m: '',
      n: 'a=b',
      o: '\0p',
      q: '1',
    });
    const proto = parsePhpForm('values[__proto__]=1') as { values: Record<string, string> };
    expect(Object.keys(proto.values)).toEqual(['__proto__']);
    expect(phpUrlDecode('%41%4a%4A+%G1%4%')).toBe('AJJ %G1%4%');
    expect(phpUrlDecode('%D0%98%D0')).toBe('И\uFFFD');
  });
});

describe('fake Passteam: createcard / updatecard', () => {
  it('create: fresh 24-hex id, deterministic cardUrl with literal %25, %VAR% keys, % in values, PHP JSON escaping', async () => {
    const fake = await start();
    const r = await call(fake, 'createcard', ivan);
    const { cardId, cardUrl, card } = r.json.result;
    expect(cardId).toMatch(/^[0-9a-f]{24}$/);
    expect(cardUrl).toBe(`https://getpass.passteam.ru/card/${cardId}?utm_source=api&note=100%25`);
    expect(card).toEqual({
      installed: false,
      values: {
        '%CLIENT_NAME%': 'Иван Петров',
        '%BIRTHDAY%': '01.02.1980',
        '%PHONE%': '+79876543210',
        '%EMAIL%': 'ivan@example.ru',
        '%BONUS%': '0',
        '%DISCOUNT%': '5%',
      },
    });
    expect(r.text).toContain('"%PHONE%"');
    expect(r.text).toContain('100%25');
    expect(r.text).toContain('https:\\/\\/getpass.passteam.ru\\/card\\/');
    expect(r.text).toContain('\\u0418\\u0432\\u0430\\u043d'); // "Иван" as json_encode writes it
    const second = await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' });
    expect(second.json.result.cardId).not.toBe(cardId);
    expect(fake.cards().map((c) => c.cardUrl)).toEqual([cardUrl, second.json.result.cardUrl]);
  });

  it("jsonStyle 'plain' writes JSON.stringify output", async () => {
    const fake = await start({ jsonStyle: 'plain' });
    const r = await call(fake, 'createcard', ivan);
    expect(r.text).toContain('https://getpass.passteam.ru/card/');
    expect(r.text).toContain('Иван Петров');
  });

  it('unique PHONE missing or empty → code 500 with the exact 1C-checked message; nothing created', async () => {
    const fake = await start();
    const { ['values[%PHONE%]']: _phone, ...noPhone } = ivan;
    const expected = { result: null, message: 'Provided field (PHONE) is unique and must be set.', code: 500, error: true };
    expect((await call(fake, 'createcard', noPhone)).json).toEqual(expected);
    expect((await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '' })).json).toEqual(expected);
    expect(fake.cards()).toHaveLength(0);
  });

  it('duplicate unique value → code 409 (message text assumed), on create and on update', async () => {
    const fake = await start();
    const a = (await call(fake, 'createcard', ivan)).json.result.cardId;
    const dup = await call(fake, 'createcard', { ...ivan, 'values[%CLIENT_NAME%]': 'Другой' });
    expect(dup.json).toEqual({ result: null, message: 'Card with provided unique field (PHONE) already exists.', code: 409, error: true });
    const b = (await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' })).json.result.cardId;
    const clash = await call(fake, 'updatecard', { cardId: b, 'values[%PHONE%]': '+79876543210' });
    expect(clash.json.code).toBe(409);
    expect(fake.cards().find((c) => c.cardId === b)!.values.PHONE).toBe('+79990000000');
    // re-sending a card's own phone (what 1C does on every update) is fine
    expect((await call(fake, 'updatecard', { cardId: a, 'values[%PHONE%]': '+79876543210' })).json.code).toBe(200);
    // a phone given up by one card is free for another; the new one is taken
    expect((await call(fake, 'updatecard', { cardId: a, 'values[%PHONE%]': '+79111111111' })).json.code).toBe(200);
    expect((await call(fake, 'updatecard', { cardId: b, 'values[%PHONE%]': '+79876543210' })).json.code).toBe(200);
    expect((await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79111111111' })).json.code).toBe(409);
    expect((await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' })).json.code).toBe(200);
    // the same phone is allowed in a different template
    const other = await start({ templates: [{ id: 't1', variables: ['PHONE'], unique: ['PHONE'] }, { id: 't2', variables: ['PHONE'], unique: ['PHONE'] }] });
    expect((await call(other, 'createcard', { templateId: 't1', 'values[%PHONE%]': '+7' })).json.code).toBe(200);
    expect((await call(other, 'createcard', { templateId: 't2', 'values[%PHONE%]': '+7' })).json.code).toBe(200);
  });

  it('update replaces given values, keeps the others, echoes installed and all %VAR% values', async () => {
    const fake = await start();
    const id = (await call(fake, 'createcard', ivan)).json.result.cardId;
    const before = fake.cards()[0];
    const r = await call(fake, 'updatecard', { cardId: id, 'values[%BONUS%]': '7500', 'values[%EMAIL%]': '', 'values[%UNKNOWN%]': 'x' });
    expect(r.json).toMatchObject({ code: 200, message: 'OK', error: false });
    expect(r.json.result).toEqual({
      cardId: id,
      cardUrl: before.cardUrl,
      card: {
        installed: false,
        values: {
          '%CLIENT_NAME%': 'Иван Петров',
          '%BIRTHDAY%': '01.02.1980',
          '%PHONE%': '+79876543210',
          '%EMAIL%': '',
          '%BONUS%': '7500',
          '%DISCOUNT%': '5%',
        },
      },
    });
    expect(fake.cards()[0].updatedAt).toBeGreaterThanOrEqual(before.updatedAt);
    expect((await call(fake, 'updatecard', { cardId: id, 'values[%PHONE%]': '' })).json.code).toBe(500);
  });

  it('unknown cardId → 404 Card not found; unknown template → 404 Template not found', async () => {
    const fake = await start();
    expect((await call(fake, 'updatecard', { cardId: '5bea7e305abcfd6b708b4573', 'values[%BONUS%]': '1' })).json).toEqual({
      result: null,
      message: 'Card not found',
      code: 404,
      error: true,
    });
    expect((await call(fake, 'updatecard', { 'values[%BONUS%]': '1' })).json.message).toBe('Card not found');
    expect((await call(fake, 'createcard', { ...ivan, templateId: 'tpl-other' })).json.message).toBe('Template not found');
  });

  it('installed toggles when the user adds the pass to Wallet (test hook)', async () => {
    const fake = await start();
    const id = (await call(fake, 'createcard', ivan)).json.result.cardId;
    fake.setInstalled(id, true);
    expect(fake.cards()[0].installed).toBe(true);
    expect((await call(fake, 'updatecard', { cardId: id, 'values[%BONUS%]': '5' })).json.result.card.installed).toBe(true);
    fake.setInstalled(id, false);
    expect((await call(fake, 'updatecard', { cardId: id })).json.result.card.installed).toBe(false);
    expect(() => fake.setInstalled('000000000000000000000000', true)).toThrow();
  });
});

describe('fake Passteam: getcardswithpagination (assumed shape)', () => {
  it('assumed: 50 per page, 1-based pages, {cards,page,pages,total}, exact-match values[] filter', async () => {
    const seedCards = Array.from({ length: 120 }, (_, i) => ({
      templateId: 'tpl-loyalty',
      values: { PHONE: `+7900${String(i).padStart(7, '0')}`, BONUS: String(i % 3) },
      installed: i === 7,
    }));
    const fake = await start({ seedCards });
    const p1 = (await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', page: '1' })).json.result;
    expect(p1).toMatchObject({ page: 1, pages: 3, total: 120 });
    expect(p1.cards).toHaveLength(50);
    expect(p1.cards[7]).toMatchObject({ installed: true, values: { '%PHONE%': '+79000000007' } });
    expect(p1.cards[0].cardUrl).toBe(`https://getpass.passteam.ru/card/${p1.cards[0].cardId}?utm_source=api&note=100%25`);
    const p3 = (await call(fake, 'GetCardsWithPagination', { templateId: 'tpl-loyalty', page: '3' })).json.result;
    expect(p3.cards).toHaveLength(20);
    expect(p3.cards[19].values['%PHONE%']).toBe('+79000000119');
    expect((await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', page: '4' })).json.result.cards).toEqual([]);
    expect((await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty' })).json.result.page).toBe(1);
    const byPhone = (await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', page: '1', 'values[%PHONE%]': '+79000000042' })).json.result;
    expect(byPhone).toMatchObject({ total: 1, pages: 1, page: 1 });
    expect(byPhone.cards[0].cardId).toBe(fake.cards()[42].cardId);
    expect((await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', 'values[%BONUS%]': '1' })).json.result.total).toBe(40);
    const none = (await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', 'values[%PHONE%]': '+7' })).json.result;
    expect(none).toEqual({ cards: [], page: 1, pages: 0, total: 0 });
    expect((await call(fake, 'getcardswithpagination', { templateId: 'x' })).json.code).toBe(404);
  });
});

describe('fake Passteam: failure injection', () => {
  it('http500: generic 500 envelope (assumed text) with HTTP 500 in both modes; not processed; then normal', async () => {
    const fake = await start();
    fake.failNext(1, 'http500');
    const r = await call(fake, 'createcard', ivan);
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ result: null, message: 'Internal server error', code: 500, error: true });
    expect(r.json.message).not.toContain('Provided field');
    fake.setHttpStatusMode('mirror');
    fake.failNext(1, 'http500');
    expect((await call(fake, 'createcard', ivan)).status).toBe(500);
    expect(fake.cards()).toHaveLength(0);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200);
  });

  it('http502-html: an nginx HTML page, no JSON; not processed', async () => {
    const fake = await start();
    fake.failNext(2, 'http502-html');
    for (let i = 0; i < 2; i++) {
      const r = await call(fake, 'createcard', ivan);
      expect(r.status).toBe(502);
      expect(r.contentType).toBe('text/html');
      expect(r.text).toContain('<center><h1>502 Bad Gateway</h1></center>');
      expect(r.text).toContain('nginx');
      expect(() => JSON.parse(r.text)).toThrow();
    }
    expect(fake.cards()).toHaveLength(0);
    expect((await call(fake, 'createcard', ivan)).status).toBe(200);
  });

  it('reset: the socket is reset without an answer, nothing processed', async () => {
    const fake = await start();
    fake.failNext(1, 'reset');
    await expect(call(fake, 'createcard', ivan)).rejects.toThrow();
    expect(fake.requests()).toHaveLength(1);
    expect(fake.cards()).toHaveLength(0);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200);
  });

  it('hang: never answers (client times out), nothing processed', async () => {
    const fake = await start();
    fake.failNext(1, 'hang');
    const t0 = Date.now();
    await expect(call(fake, 'createcard', ivan, { timeoutMs: 300 })).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(fake.cards()).toHaveLength(0);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200);
  });

  it('processed-then-reset: the card IS created but the answer is lost; a retry gets 409', async () => {
    const fake = await start();
    fake.failNext(1, 'processed-then-reset');
    await expect(call(fake, 'createcard', ivan)).rejects.toThrow();
    expect(fake.cards()).toHaveLength(1);
    expect(fake.cards()[0].values.PHONE).toBe('+79876543210');
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(409);
    const found = await call(fake, 'getcardswithpagination', { templateId: 'tpl-loyalty', 'values[%PHONE%]': '+79876543210' });
    expect(found.json.result.cards[0].cardId).toBe(fake.cards()[0].cardId);
  });

  it('down: every connection is reset until up again; idle keep-alive sockets too', async () => {
    const fake = await start();
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200); // leaves a keep-alive socket
    fake.setDown(true);
    await expect(call(fake, 'updatecard', { cardId: 'x' })).rejects.toThrow();
    await expect(call(fake, 'updatecard', { cardId: 'x' })).rejects.toThrow();
    expect(fake.requests()).toHaveLength(1);
    fake.setDown(false);
    expect((await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' })).json.code).toBe(200);
  });

  it('quota (assumed signalling): over the per-minute limit → code 429 Too many requests', async () => {
    const fake = await start();
    fake.setQuota(2);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(200);
    expect((await call(fake, 'createcard', ivan)).json.code).toBe(409);
    const over = await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' });
    expect(over.status).toBe(200);
    expect(over.json).toEqual({ result: null, message: 'Too many requests', code: 429, error: true });
    fake.setHttpStatusMode('mirror');
    expect((await call(fake, 'createcard', ivan)).status).toBe(429);
    expect(fake.cards()).toHaveLength(1);
    fake.setQuota(null);
    expect((await call(fake, 'createcard', { ...ivan, 'values[%PHONE%]': '+79990000000' })).json.code).toBe(200);
  });

  it('latency applies before answering', async () => {
    const fake = await start({ latencyMs: 150 });
    const t0 = Date.now();
    await call(fake, 'createcard', ivan);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    // No upper bound on real time: an hour's latency is seen as a call that does not answer, and
    // with the hour still in force the call after setLatency(0) would run into its timeout.
    fake.setLatency(3_600_000);
    await expect(call(fake, 'createcard', ivan, { timeoutMs: 300 })).rejects.toThrow();
    fake.setLatency(0);
    await call(fake, 'createcard', ivan);
  });

  it('stop() ends hanging and delayed requests', async () => {
    // An hour's latency: a stop() that waited for it would run into the test's timeout.
    const fake = await start({ latencyMs: 3_600_000 });
    fake.failNext(1, 'hang');
    const hour = { timeoutMs: 3_600_000 }; // nor may the calls give up by themselves
    const hung = call(fake, 'createcard', ivan, hour).catch((e: unknown) => e);
    const slow = call(fake, 'createcard', ivan, hour).catch((e: unknown) => e);
    await expect.poll(() => fake.requests().length).toBe(2);
    await fake.stop();
    expect(await hung).toBeInstanceOf(Error);
    expect(await slow).toBeInstanceOf(Error);
  });
});

describe('sandbox seed', () => {
  it('one loyalty template and three believable Russian cards, one installed', async () => {
    const seed = sandboxPassteamSeed();
    expect(seed.templates.map((t) => t.id)).toEqual(['tpl-loyalty']);
    const fake = await start(seed);
    const cards = fake.cards();
    expect(cards).toHaveLength(3);
    expect(cards.filter((c) => c.installed)).toHaveLength(1);
    for (const c of cards) {
      expect(c.values.PHONE).toMatch(/^\+7\d{10}$/);
      expect(c.values.BIRTHDAY).toMatch(/^\d{2}\.\d{2}\.\d{4}$/);
      expect(c.values.EMAIL).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]+$/);
      expect(c.values.CLIENT_NAME).toMatch(/^[А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+$/);
      expect(c.values.BONUS).toMatch(/^\d+$/);
      expect(c.cardId).toMatch(/^[0-9a-f]{24}$/);
    }
    const phone = cards[1].values.PHONE;
    expect((await call(fake, 'createcard', { templateId: 'tpl-loyalty', 'values[%PHONE%]': phone })).json.code).toBe(409);
  });

  it('rejects inconsistent seeds', async () => {
    await expect(startFakePassteam({ token: TOKEN, seedCards: [{ templateId: 'nope', values: {} }] })).rejects.toThrow(/unknown template/);
    await expect(startFakePassteam({ token: TOKEN, seedCards: [{ templateId: 'tpl-loyalty', values: { EMAIL: 'a@b.ru' } }] })).rejects.toThrow(/PHONE/);
    const dup = { templateId: 'tpl-loyalty', values: { '%PHONE%': '+79000000000' } };
    await expect(startFakePassteam({ token: TOKEN, seedCards: [dup, dup] })).rejects.toThrow(/PHONE/);
  });
});
