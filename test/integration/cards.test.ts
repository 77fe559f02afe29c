import { describe, expect, it } from 'vitest';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

const TOKEN = 'pt-secret-token-1';

async function setup(mode: 'always200' | 'mirror' = 'always200', seedCards: Parameters<typeof startFakePassteam>[0]['seedCards'] = [], now?: () => number) {
  const fake = await startFakePassteam({ token: TOKEN, httpStatus: mode, seedCards });
  const t = await startTestCore({
    config: { passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } },
    modules: [passteamModule],
    outbox: { now },
  });
  return { fake, t };
}

const json = (body: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const card = (fake: FakePassteam, phone: string) => fake.cards().filter((c) => c.values.PHONE === phone);
const calls = (fake: FakePassteam, method: string) => fake.requests().filter((r) => r.path.toLowerCase().endsWith(`/${method}`));

const IVANOV = {
  holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: '+7 (987) 654-32-10', email: 'ivanov@example.ru' },
  bonus: 150,
  values: { DISCOUNT: '5%' },
};

describe.each(['always200', 'mirror'] as const)('loyalty cards against the fake Passteam (HTTP status %s)', (mode) => {
  it('PUT creates the Wallet card with the merged state, correctly encoded, and answers with cardId and cardUrl', async () => {
    const { fake, t } = await setup(mode);
    const r = await t.api('/v1/cards/2000000012345?wait=5', json(IVANOV));
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body).toMatchObject({ code: '2000000012345', state: 'synced', installed: false, bonus: 150, lastError: null });
    expect(body.cardId).toMatch(/^[0-9a-f]{24}$/);
    expect(body.cardUrl).toContain('%25'); // `%` in Passteam's answer is data, not stripped
    const [created] = card(fake, '+79876543210');
    expect(created).toMatchObject({ cardId: body.cardId, values: { CLIENT_NAME: 'Иванов Иван Иванович', BIRTHDAY: '17.05.1990', EMAIL: 'ivanov@example.ru', BONUS: '150', DISCOUNT: '5%' } });
    const [req] = calls(fake, 'createcard');
    expect(req.headers.authorization).toBe(TOKEN); // the bare token, no Bearer
    expect(req.rawBody).toContain('values%5B%25PHONE%25%5D=%2B79876543210');
    expect(req.rawBody).toContain('templateId=tpl-loyalty');
  });

  it('an identical PUT sends nothing; a change sends updatecard with the whole merged set', async () => {
    const { fake, t } = await setup(mode);
    const first = (await (await t.api('/v1/cards/c1?wait=5', json(IVANOV))).json()) as any;
    const again = await t.api('/v1/cards/c1?wait=5', json(IVANOV));
    expect(again.status).toBe(200);
    expect(fake.requests()).toHaveLength(1);
    const changed = await t.api('/v1/cards/c1?wait=5', json({ holder: { email: 'new@example.ru' } }));
    expect(changed.status).toBe(200);
    const [update] = calls(fake, 'updatecard');
    expect(update.form).toMatchObject({ cardId: first.cardId });
    expect(card(fake, '+79876543210')[0].values).toMatchObject({ CLIENT_NAME: 'Иванов Иван Иванович', EMAIL: 'new@example.ru', BONUS: '150' });
    expect(Object.keys((update.form as { values: object }).values).sort()).toEqual(['%BIRTHDAY%', '%BONUS%', '%CLIENT_NAME%', '%DISCOUNT%', '%EMAIL%', '%PHONE%']);
  });

  it('phone already bound to another card → 409 phone_taken, the card is failed, not retried; a new PUT fixes it', async () => {
    const { fake, t } = await setup(mode, [{ templateId: 'tpl-loyalty', values: { PHONE: '+79991112233', CLIENT_NAME: 'Петров' } }]);
    const r = await t.api('/v1/cards/c2?wait=5', json({ holder: { name: 'Сидоров', phone: '8 999 111-22-33' } }));
    expect(r.status).toBe(409);
    expect(((await r.json()) as any).error).toMatchObject({ code: 'phone_taken', field: 'holder.phone' });
    const got = (await (await t.api('/v1/cards/c2')).json()) as any;
    expect(got).toMatchObject({ state: 'failed', lastError: { code: 'phone_taken' } });
    await new Promise((res) => setTimeout(res, 1500));
    expect(calls(fake, 'createcard')).toHaveLength(1); // not retried
    const fixed = await t.api('/v1/cards/c2?wait=5', json({ holder: { phone: '+7 999 444-55-66' } }));
    expect(fixed.status).toBe(200);
    expect(card(fake, '+79994445566')[0].values.CLIENT_NAME).toBe('Сидоров');
  });
});

describe('loyalty cards: rules before Passteam', () => {
  it('a new card without a phone → 422 phone_required before anything is sent; nothing stored', async () => {
    const { fake, t } = await setup();
    const r = await t.api('/v1/cards/nophone?wait=5', json({ holder: { name: 'Без Телефона' } }));
    expect(r.status).toBe(422);
    expect(((await r.json()) as any).error).toMatchObject({ code: 'phone_required', field: 'holder.phone' });
    expect(fake.requests()).toHaveLength(0);
    expect((await t.api('/v1/cards/nophone')).status).toBe(404);
  });

  it('bad values are refused naming the field and what is wrong with it; nothing is stored', async () => {
    const { t } = await setup();
    const refused = async (body: unknown) => {
      const r = await t.api('/v1/cards/x', json(body));
      expect(r.status).toBe(422);
      return ((await r.json()) as any).error as { code: string; field: string; message: string };
    };
    const both = await refused({ holder: { phone: 'звоните', birthday: '31.02.1990' } });
    expect(both).toMatchObject({ code: 'invalid_value', field: 'holder.birthday' });
    expect(both.message).toBe('Поле «holder.birthday»: «31.02.1990» — не дата (пример: 17.05.1990 или 1990-05-17) (и ещё 1 поле: holder.phone)');
    expect((await refused({ holder: { phone: 'звоните' } })).message).toBe('Поле «holder.phone»: «звоните» — не номер телефона (пример: +7 987 654-32-10 или 89876543210)');
    // Each of these fields accepts null as well: the message is about the value's own type, not "expected null".
    expect((await refused({ bonus: 'много' })).message).toBe('Поле «bonus»: «много» — не число (пример: 1234,56 или 1 234.56)');
    expect(await refused({ values: { LEVEL: { name: 'Золотая' } } })).toMatchObject({
      field: 'values.LEVEL',
      message: 'Поле «values.LEVEL»: ожидалось: строка или число или логическое значение, получено объект',
    });
    expect((await t.api('/v1/cards/x')).status).toBe(404);
  });

  it('1C form bodies in windows-1251 and JSON with a BOM are accepted', async () => {
    const { fake, t } = await setup();
    const form = 'holder%5Bname%5D=' + encodeCp1251('Кузнецова Анна') + '&holder%5Bphone%5D=8+%28912%29+000-11-22&bonus=1%A0234%2C50';
    const r = await t.api('/v1/cards/form-card?wait=5', {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=windows-1251' },
      body: form,
    });
    expect(r.status).toBe(200);
    expect(card(fake, '+79120001122')[0].values).toMatchObject({ CLIENT_NAME: 'Кузнецова Анна', BONUS: '1234.5' });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ holder: { phone: '9120003344', birthday: '1985-01-02T00:00:00' } }))]);
    const r2 = await t.api('/v1/cards/bom-card?wait=5', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: bom });
    expect(r2.status).toBe(200);
    expect(card(fake, '+79120003344')[0].values.BIRTHDAY).toBe('02.01.1985');
  });
});

describe('bonus changes', () => {
  it('answer 202 at once; a burst coalesces into one call with the last balance exact', async () => {
    // The outbox's clock stands still during the burst, so all of it falls in one settle window
    // however long 300 requests take on this machine (on a busy one they took over 2 s: 3 calls).
    let held: number | null = null;
    const { fake, t } = await setup('always200', [], () => held ?? Date.now());
    await t.api('/v1/cards/b1?wait=5', json(IVANOV));
    fake.clearRequests();
    fake.setLatency(50);
    held = Date.now();
    // No upper bound on real time: with the clock held the settle window never ends, and Passteam
    // is called only after it, so a POST that waited for either would never answer.
    const first = await t.api('/v1/cards/b1/bonus', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"balance": 1}' });
    expect(first.status).toBe(202);
    for (let i = 2; i <= 300; i++) {
      await t.api('/v1/cards/b1/bonus', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ balance: i }) });
    }
    expect(calls(fake, 'updatecard')).toHaveLength(0); // still settling
    held = null;
    await expect.poll(() => card(fake, '+79876543210')[0].values.BONUS).toBe('300');
    await expect.poll(async () => ((await (await t.api('/v1/cards/b1')).json()) as any).state).toBe('synced');
    expect(calls(fake, 'updatecard')).toHaveLength(1);
  });

  it('a balance for a card whose creation is still pending is sent after the create', async () => {
    const { fake, t } = await setup();
    fake.setLatency(300);
    expect((await t.api('/v1/cards/p1?wait=0', json(IVANOV))).status).toBe(202);
    expect((await t.api('/v1/cards/p1/bonus', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"balance": "7 500"}' })).status).toBe(202);
    await expect.poll(() => card(fake, '+79876543210')[0]?.values.BONUS).toBe('7500');
    expect(fake.requests().map((r) => r.path.split('/').pop())).toEqual(['createcard', 'updatecard']);
    expect(card(fake, '+79876543210')).toHaveLength(1);
  });
});

describe('delivery', () => {
  it('a create whose answer was lost does not make a second Wallet card: the card is found by phone and adopted', async () => {
    const { fake, t } = await setup();
    fake.failNext(1, 'processed-then-reset');
    const r = await t.api('/v1/cards/lost?wait=0', json(IVANOV));
    expect(r.status).toBe(202);
    await expect.poll(async () => ((await (await t.api('/v1/cards/lost')).json()) as any).state).toBe('synced');
    const wallet = card(fake, '+79876543210');
    expect(wallet).toHaveLength(1);
    const got = (await (await t.api('/v1/cards/lost')).json()) as any;
    expect(got.cardId).toBe(wallet[0].cardId);
  });

  it('where the lookup is impossible, a lost create that Passteam then calls a taken phone is marked for the operator, not duplicated', async () => {
    const fake = await startFakePassteam({ token: TOKEN, withoutMethods: ['getcardswithpagination'] });
    const t = await startTestCore({ config: { passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } }, modules: [passteamModule] });
    fake.failNext(1, 'processed-then-reset');
    expect((await t.api('/v1/cards/unsure?wait=0', json(IVANOV))).status).toBe(202);
    await expect.poll(async () => ((await (await t.api('/v1/cards/unsure')).json()) as any).state).toBe('failed');
    const got = (await (await t.api('/v1/cards/unsure')).json()) as any;
    expect(got.lastError.code).toBe('create_uncertain');
    expect(got.lastError.message).toContain('кабинете Passteam');
    expect(card(fake, '+79876543210')).toHaveLength(1);
  });

  it('remote down for a (simulated) day: every card is delivered with its latest state within seconds of its return', async () => {
    const { fake, t } = await setup();
    fake.setDown(true);
    for (let i = 0; i < 5; i++) {
      expect((await t.api(`/v1/cards/day${i}?wait=0`, json({ ...IVANOV, holder: { ...IVANOV.holder, phone: `+7900000000${i}` } }))).status).toBe(202);
      await t.api(`/v1/cards/day${i}/bonus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ balance: 100 + i }) });
    }
    await expect.poll(() => t.core.health().connectors!.passteam.state).toBe('failing');
    // A day of failures: every job far into its 1 h backoff, the connector probing.
    const { sql } = t.core.store;
    sql.run(`UPDATE jobs SET attempts = 60, next_run_at = ?, retry_wait = 1 WHERE state = 'queued'`, Date.now() + 3_600_000);
    sql.run(`UPDATE connectors SET failures = 200, next_probe_at = ? WHERE name = 'passteam'`, Date.now() + 500);
    for (let i = 0; i < 5; i++) await t.api(`/v1/cards/day${i}/bonus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ balance: 1000 + i }) });
    fake.setDown(false);
    // "Within seconds" against the jobs' hour of backoff: waiting that out would run past this poll
    // (and the test's timeout); no tighter bound on a loaded machine's real time.
    await expect.poll(() => fake.cards().filter((c) => c.values.BONUS?.startsWith('100')).length).toBe(5);
    for (let i = 0; i < 5; i++) expect(card(fake, `+7900000000${i}`)).toHaveLength(1);
    await expect.poll(() => t.core.health().connectors!.passteam.state).toBe('ok');
  });
});

describe('cards made by the earlier 1C integration', () => {
  it('a PUT carrying the cardId 1C already has updates that Wallet card instead of creating a second', async () => {
    const { fake, t } = await setup('always200', [{ templateId: 'tpl-loyalty', cardId: '5bea7e305abcfd6b708b4573', values: { PHONE: '+79161234567', CLIENT_NAME: 'Иванова', BONUS: '10' } }]);
    const r = await t.api('/v1/cards/old-1?wait=5', json({ cardId: '5bea7e305abcfd6b708b4573', holder: { name: 'Иванова Мария', phone: '8 916 123-45-67' }, bonus: 1250 }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).cardId).toBe('5bea7e305abcfd6b708b4573');
    expect(calls(fake, 'createcard')).toHaveLength(0);
    expect(fake.cards()).toHaveLength(1);
    expect(fake.cards()[0].values).toMatchObject({ CLIENT_NAME: 'Иванова Мария', BONUS: '1250' });
  });
});

describe('protocol edges', () => {
  it('template variable names come from the config `fields`', async () => {
    const fake = await startFakePassteam({ token: TOKEN, templates: [{ id: 'tpl-2', variables: ['FIO', 'TEL', 'BALL'], unique: ['TEL'] }] });
    const t = await startTestCore({
      config: { passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-2', fields: { name: 'FIO', phone: 'TEL', bonus: 'BALL' } } },
      modules: [passteamModule],
    });
    expect((await t.api('/v1/cards/f?wait=5', json({ holder: { name: 'Орлова', phone: '89001234567' }, bonus: '12,5' }))).status).toBe(200);
    expect(fake.cards()[0].values).toMatchObject({ FIO: 'Орлова', TEL: '+79001234567', BALL: '12.5' });
  });

  it('values with &, +, %, = and Cyrillic reach Passteam exactly (a client that skipped encoding fails here)', async () => {
    const { fake, t } = await setup();
    const name = 'ООО «Иванов & Сыновья» +100% = ок';
    const r = await t.api('/v1/cards/enc?wait=5', json({ holder: { name, phone: '+79005556677', email: 'a+b@example.ru' }, values: { DISCOUNT: '50%off&more=yes' } }));
    expect(r.status).toBe(200);
    expect(card(fake, '+79005556677')[0].values).toMatchObject({ CLIENT_NAME: name, EMAIL: 'a+b@example.ru', DISCOUNT: '50%off&more=yes' });
  });

  it('refused token: the connector pauses (no hammering) until the token is changed in the settings', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    const t = await startTestCore({ config: { passteam: { enabled: true, baseUrl: fake.url, token: 'wrong-token', templateId: 'tpl-loyalty' } }, modules: [passteamModule] });
    expect((await t.api('/v1/cards/auth?wait=2', json(IVANOV))).status).toBe(202);
    await expect.poll(() => t.core.health().connectors!.passteam.state).toBe('paused');
    expect(t.core.health().connectors!.passteam.lastError!.message).toContain('токен Passteam в «Настройках»');
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.requests()).toHaveLength(1);
    const admin = t.uiLoginUrl.replace(/\?token=.*$/, '');
    const put = await fetch(`${admin}api/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${t.uiToken}`, 'X-Sputnik-UI': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ passteam: { token: TOKEN } }),
    });
    expect(put.status).toBe(200);
    await expect.poll(() => card(fake, '+79876543210').length).toBe(1);
    expect(t.core.health().connectors!.passteam.state).toBe('ok');
  });

  it('over the quota: retried later, delivered once the quota allows', async () => {
    const { fake, t } = await setup();
    fake.setQuota(1);
    await t.api('/v1/cards/q1?wait=5', json({ holder: { phone: '+79001230001' } }));
    const r = await t.api('/v1/cards/q2?wait=1', json({ holder: { phone: '+79001230002' } }));
    expect(r.status).toBe(202);
    fake.setQuota(null);
    await expect.poll(() => card(fake, '+79001230002').length).toBe(1);
  });
});

describe('change feed for the 1C scheduled job', () => {
  it('returns cards whose cardId, cardUrl, installed or state changed, oldest first, then only newer ones by cursor', async () => {
    const { fake, t } = await setup();
    await t.api('/v1/cards/f1?wait=5', json(IVANOV));
    await t.api('/v1/cards/f2?wait=5', json({ holder: { phone: '+79001112233' } }));
    const page = (await (await t.api('/v1/cards?changedSince=&limit=100')).json()) as any;
    expect(page.cards.map((c: any) => c.code)).toEqual(['f1', 'f2']);
    expect(page.cards.every((c: any) => c.state === 'synced' && c.cardId)).toBe(true);
    const empty = (await (await t.api(`/v1/cards?changedSince=${page.next}`)).json()) as any;
    expect(empty.cards).toEqual([]);
    expect(empty.next).toBe(page.next);

    fake.setInstalled(fake.cards().find((c) => c.values.PHONE === '+79001112233')!.cardId, true);
    await t.api('/v1/cards/f2?wait=5', json({ bonus: 10 })); // the next update brings installed back
    const after = (await (await t.api(`/v1/cards?changedSince=${page.next}`)).json()) as any;
    expect(after.cards.map((c: any) => [c.code, c.installed])).toEqual([['f2', true]]);

    const byTime = (await (await t.api('/v1/cards?changedSince=2000-01-01T00:00:00')).json()) as any;
    expect(byTime.cards).toHaveLength(2);
    // A first run that starts from "now" (1C's ТекущаяДата(), in its own spelling): nothing yet, and
    // the next call goes on from here, not from the beginning of the feed.
    const fromNow = (await (await t.api(`/v1/cards?changedSince=${encodeURIComponent('31.12.2099 23:59:59')}`)).json()) as any;
    expect(fromNow.cards).toEqual([]);
    expect((await (await t.api(`/v1/cards?changedSince=${fromNow.next}`)).json()) as any).toEqual({ cards: [], next: fromNow.next });
    await t.api('/v1/cards/f1?wait=5', json({ bonus: 77 }));
    expect(((await (await t.api(`/v1/cards?changedSince=${fromNow.next}`)).json()) as any).cards.map((c: any) => [c.code, c.bonus])).toEqual([['f1', 77]]);
    const bad = await t.api('/v1/cards?changedSince=garbage');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.field).toBe('changedSince');
  });

  it('a code padded with spaces, as 1C keeps fixed-length codes, is the same card; a blank code is refused', async () => {
    const { fake, t } = await setup();
    expect((await t.api('/v1/cards/0001%20%20%20?wait=5', json(IVANOV))).status).toBe(200);
    const again = await t.api('/v1/cards/0001?wait=5', json({ ...IVANOV, bonus: 200 }));
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).code).toBe('0001');
    expect(card(fake, '+79876543210')).toHaveLength(1);
    expect(calls(fake, 'createcard')).toHaveLength(1);
    expect(((await (await t.api('/v1/cards/%200001')).json()) as any).bonus).toBe(200);
    const blank = await t.api('/v1/cards/%20%20', json(IVANOV));
    expect(blank.status).toBe(422);
    expect(((await blank.json()) as any).error).toMatchObject({ field: 'code', message: 'Поле «code»: не заполнено' });
    expect(fake.cards()).toHaveLength(1);
  });

  it('GET one card: 404 card_not_found for an unknown code', async () => {
    const { t } = await setup();
    const r = await t.api('/v1/cards/nope');
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error.code).toBe('card_not_found');
  });
});

function encodeCp1251(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const b = c >= 0x410 && c <= 0x44f ? c - 0x410 + 0xc0 : c === 0x401 ? 0xa8 : c === 0x451 ? 0xb8 : c;
    out += b === 0x20 ? '+' : b < 0x80 && /[A-Za-z0-9]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export type { TestCore };

describe('sputnik check against Passteam', () => {
  it('accepts the token and template; names a wrong template or token', async () => {
    const { runCli } = await import('../helpers/cli.ts');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('../helpers/tmp.ts');
    const fake = await startFakePassteam({ token: TOKEN });
    const check = async (passteam: object) => {
      const file = join(tempDir(), 'config.json');
      writeFileSync(file, JSON.stringify({ passteam: { enabled: true, baseUrl: fake.url, ...passteam } }));
      return runCli(['check', '--config', file]);
    };
    const ok = await check({ token: TOKEN, templateId: 'tpl-loyalty' });
    expect(ok.stdout).toContain('passteam: ok — токен и шаблон tpl-loyalty приняты');
    expect(ok.code).toBe(0);
    const badToken = await check({ token: 'nope', templateId: 'tpl-loyalty' });
    expect(badToken.code).toBe(1);
    expect(badToken.stdout).toMatch(/passteam: ошибка — Passteam не принял токен/);
    const badTemplate = await check({ token: TOKEN, templateId: 'tpl-missing' });
    expect(badTemplate.code).toBe(1);
    expect(badTemplate.stdout).toContain('Template not found');
    await fake.stop();
  });
});

describe('OpenAPI for the card routes', () => {
  it('is generated from the same zod schemas the routes validate with', async () => {
    const { t } = await setup();
    const spec = (await (await fetch(`${t.listenerUrl}/v1/openapi.json`)).json()) as any;
    const put = spec.paths['/v1/cards/{code}'].put;
    const body = put.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(['holder', 'bonus', 'values', 'cardId']);
    expect(Object.keys(body.properties.holder.properties)).toEqual(['name', 'birthday', 'phone', 'email']);
    expect(put.parameters.map((p: any) => p.name).sort()).toEqual(['code', 'wait']);
    expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(['200', '202']));
    expect(spec.paths['/v1/cards/{code}/bonus'].post.requestBody.content['application/json'].schema.required).toEqual(['balance']);
    expect(spec.paths['/v1/cards'].get.parameters.map((p: any) => p.name).sort()).toEqual(['changedSince', 'limit']);
  });
});
