import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';

/**
 * The fakes' gate (fake-server.ts hold()), which crash tests use to kill a client while a call is
 * surely in the remote's hands: a held call is not answered until it is let go, `reached` says when
 * one is held, `inHand()` counts the calls received and not answered yet.
 */

const TOKEN = 'pt-hold-token';
let fake: FakePassteam | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

const createCard = (f: FakePassteam, phone: string) =>
  request(`${f.url}/oapi/v1/createcard`, {
    method: 'POST',
    headers: { authorization: TOKEN, 'content-type': 'application/x-www-form-urlencoded' },
    body: `templateId=tpl-loyalty&${encodeURIComponent('values[%PHONE%]')}=${encodeURIComponent(phone)}`,
  }).then(async (res) => ({ status: res.statusCode, body: (await res.body.json()) as { code: number } }));

const lookup = (f: FakePassteam) =>
  request(`${f.url}/oapi/v1/getcardswithpagination`, {
    method: 'POST',
    headers: { authorization: TOKEN, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'templateId=tpl-loyalty&page=1',
  }).then(async (res) => ((await res.body.json()) as { result: { total: number } }).result.total);

describe('fake server hold()', () => {
  it('holds a call until it is let go, and says when one is held', async () => {
    fake = await startFakePassteam({ token: TOKEN });
    const f = fake;
    expect(f.inHand()).toBe(0);
    const gate = f.hold();
    let answered = false;
    const call = createCard(f, '+79990000001').then((r) => ((answered = true), r));
    const held = await gate.reached;
    expect(held.path).toBe('/oapi/v1/createcard');
    expect(f.inHand()).toBe(1);
    // Held: neither processed nor answered.
    expect(f.cards()).toEqual([]);
    expect(answered).toBe(false);
    gate.release();
    expect(await call).toMatchObject({ status: 200, body: { code: 200 } });
    expect(f.cards()).toHaveLength(1);
    expect(f.inHand()).toBe(0);
  });

  it('holds only what its match accepts; others pass while it holds', async () => {
    fake = await startFakePassteam({ token: TOKEN });
    const f = fake;
    const gate = f.hold((req) => req.path.endsWith('/createcard'));
    const create = createCard(f, '+79990000002');
    await gate.reached;
    expect(await lookup(f)).toBe(0); // answered while the create is held, which has not made its card
    expect(f.inHand()).toBe(1);
    gate.release();
    expect((await create).status).toBe(200);
    expect(await lookup(f)).toBe(1);
  });

  it('a stop lets held calls go', async () => {
    fake = await startFakePassteam({ token: TOKEN });
    const f = fake;
    const gate = f.hold();
    const call = createCard(f, '+79990000003').catch((e: unknown) => e);
    await gate.reached;
    await f.stop();
    expect(await call).toBeInstanceOf(Error); // closed unanswered by the stop
    expect(f.inHand()).toBe(0);
  });
});
