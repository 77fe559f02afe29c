import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { Cards } from '../../main/connectors/passteam/cards.ts';
import { writeNow } from '../../main/store/write-now.ts';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

/**
 * The 1C extension's card paths against a running Sputnik. BSL cannot run here, so `Onec` makes
 * the calls onec/sputnik/rozn23/CommonModules/сп_СпутникКарты and сп_СпутникОчередь make, in the
 * same order and with the same bodies, and keeps сп_ОчередьСпутника as a map.
 */

const TOKEN = 'pt-secret-token-1';
const TEMPLATE = 'tpl-loyalty';

interface OnecCard {
  name: string;
  phone: string;
  email?: string;
  balance: number;
  /** сп_cardId, or the example's cardId attribute. */
  cardId?: string;
}

interface Answer {
  /** 0: Sputnik did not answer (not running, 1C's timeout), as сп_Спутник.Вызвать says. */
  status: number;
  body: any;
}

class Onec {
  /** сп_ОчередьСпутника: "Вид|Ключ" → the error that put it there. */
  readonly pending = new Map<string, string>();
  readonly calls: string[] = [];
  url: string;
  readonly token: string;
  readonly cards: Map<string, OnecCard>;

  constructor(url: string, token: string, cards: Record<string, OnecCard>) {
    this.url = url;
    this.token = token;
    this.cards = new Map(Object.entries(cards));
  }

  /** сп_Спутник.Вызвать with the card timeout (ТаймаутКарт, 8 s by default). */
  async call(method: string, path: string, body: unknown, timeoutSeconds = 8): Promise<Answer> {
    this.calls.push(`${method} ${path.split('?')[0]}`);
    try {
      const r = await fetch(this.url + path, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
      });
      return { status: r.status, body: await r.json() };
    } catch {
      return { status: 0, body: null };
    }
  }

  /** сп_Спутник.НужноПовторить. */
  static retry(a: Answer): boolean {
    return a.status === 0 || a.status >= 500 || a.status === 408 || a.status === 429 || a.body?.error?.code === 'client_not_allowed';
  }

  /** ТелоЗапросаКарты. */
  body(code: string) {
    const c = this.cards.get(code)!;
    return { holder: { name: c.name, phone: c.phone, email: c.email ?? '' }, bonus: c.balance, ...(c.cardId ? { cardId: c.cardId } : {}) };
  }

  /** ОтправитьКарту (subscription ПередЗаписью): wait = card timeout − 3; not answered → the queue. */
  async saveCard(code: string, timeoutSeconds = 8): Promise<Answer> {
    const a = await this.call('PUT', `/v1/cards/${encodeURIComponent(code)}?wait=${Math.max(timeoutSeconds - 3, 0)}`, this.body(code), timeoutSeconds);
    if (Onec.retry(a)) this.pending.set(`Карта|${code}`, String(a.status));
    return a;
  }

  /** ОтправитьКартуБезОжидания (queue, migration, a balance's unknown card). */
  sendCardNoWait(code: string): Promise<Answer> {
    return this.call('PUT', `/v1/cards/${encodeURIComponent(code)}?wait=0`, this.body(code));
  }

  /** ОтправитьБалансКарты: 409 card_unknown → the card (with its cardId), then the balance again. */
  async sendBalance(code: string): Promise<Answer> {
    const post = () => this.call('POST', `/v1/cards/${encodeURIComponent(code)}/bonus?wait=0`, { balance: this.cards.get(code)!.balance });
    const a = await post();
    if (a.body?.error?.code !== 'card_unknown') return a;
    const card = await this.sendCardNoWait(code);
    if (card.status !== 200 && card.status !== 202) return card;
    return post();
  }

  /** ОтправитьБалансы (subscription ПриЗаписи of БонусныеБаллы). */
  async balanceChanged(code: string): Promise<Answer> {
    const a = await this.sendBalance(code);
    if (Onec.retry(a)) this.pending.set(`Баланс|${code}`, String(a.status));
    return a;
  }

  /** ПередатьПорциюКарт / ПередатьКарту: each card with its cardId, then its balance. */
  async migrate(): Promise<{ passed: number; refused: string[] }> {
    const out = { passed: 0, refused: [] as string[] };
    for (const code of this.cards.keys()) {
      let a = await this.sendCardNoWait(code);
      if (a.status === 200 || a.status === 202) a = await this.sendBalance(code);
      if (a.status === 200 || a.status === 202) out.passed++;
      else out.refused.push(`${code}: ${a.status} ${a.body?.error?.code}`);
    }
    return out;
  }

  /** сп_СпутникОчередь.Отправить: the newest state of each queued card; accepted or refused for good → removed. */
  async runQueue(): Promise<void> {
    for (const key of [...this.pending.keys()]) {
      const [kind, code] = key.split('|');
      const a = kind === 'Карта' ? await this.sendCardNoWait(code) : await this.sendBalance(code);
      if (!Onec.retry(a)) this.pending.delete(key);
      else if (a.status === 0) return; // Sputnik does not answer: the rest waits for the next run
    }
  }
}

/** Creates a card the way the Passteam example's CreateCard did, straight from 1C. */
async function createDirectly(fake: FakePassteam, values: Record<string, string>): Promise<string> {
  const form = new URLSearchParams({ templateId: TEMPLATE });
  for (const [k, v] of Object.entries(values)) form.append(`values[%${k}%]`, v);
  const r = await fetch(`${fake.url}/oapi/v1/createcard`, { method: 'POST', headers: { Authorization: TOKEN, 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
  return ((await r.json()) as { result: { cardId: string } }).result.cardId;
}

async function sputnik(fake: FakePassteam, opts: { dataDir?: string; port?: number; httpTimeoutSeconds?: number } = {}): Promise<TestCore> {
  return startTestCore({
    dataDir: opts.dataDir,
    config: {
      listener: { port: opts.port ?? 0, token: 'listener-token-1' },
      passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: TEMPLATE },
      http: { timeoutSeconds: opts.httpTimeoutSeconds ?? 30 },
    },
    modules: [passteamModule],
  });
}

const methodCalls = (fake: FakePassteam, method: string) => fake.requests().filter((r) => r.path.toLowerCase().endsWith(`/${method}`));
const view = async (t: TestCore, code: string) => (await (await t.api(`/v1/cards/${encodeURIComponent(code)}`)).json()) as any;
const queueDepth = (t: TestCore) => t.core.health().queue!.depth;

/** A port nothing listens on: "Sputnik is not running". */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('«Передать все карты в Спутник» against a running Sputnik', () => {
  it('cards the Passteam example created are adopted with their cardId: no createcard, one updatecard each with its balance', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const old = [
        { code: '0000001', name: 'Иванова Мария', phone: '+79161234567', balance: 1250 },
        { code: '0000002', name: 'Петров Пётр', phone: '+79161234568', balance: 0 },
        { code: '0000003', name: 'Сидорова Анна', phone: '+79161234569', balance: 75.5 },
      ];
      const cards: Record<string, OnecCard> = {};
      for (const c of old) {
        const cardId = await createDirectly(fake, { CLIENT_NAME: c.name, PHONE: c.phone, BONUS: '10' });
        cards[c.code] = { name: c.name, phone: c.phone, balance: c.balance, cardId };
      }
      fake.clearRequests();
      const t = await sputnik(fake);
      const onec = new Onec(t.listenerUrl, t.listenerToken, cards);

      expect(await onec.migrate()).toEqual({ passed: 3, refused: [] });
      await expect.poll(async () => Promise.all(old.map(async (c) => (await view(t, c.code)).state))).toEqual(['synced', 'synced', 'synced']);
      await expect.poll(() => queueDepth(t)).toBe(0);

      expect(methodCalls(fake, 'createcard')).toHaveLength(0);
      const updates = methodCalls(fake, 'updatecard');
      expect(updates.map((u) => (u.form as { cardId: string }).cardId).sort()).toEqual(old.map((c) => cards[c.code].cardId).sort());
      expect(fake.cards()).toHaveLength(3);
      for (const c of old) {
        const got = await view(t, c.code);
        expect(got).toMatchObject({ state: 'synced', cardId: cards[c.code].cardId, bonus: c.balance, lastError: null });
        expect(fake.cards().find((w) => w.cardId === cards[c.code].cardId)!.values).toMatchObject({ CLIENT_NAME: c.name, BONUS: String(c.balance) });
      }
    } finally {
      await fake.stop();
    }
  });
});

describe('a balance for a card Sputnik has not been sent', () => {
  it('is refused at the door with 409 card_unknown in Russian and nothing stored; after the card is PUT the balance is accepted', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const t = await sputnik(fake);
      const r = await t.api('/v1/cards/0000042/bonus?wait=0', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"balance": 500}' });
      expect(r.status).toBe(409);
      expect(await r.json()).toEqual({
        error: {
          code: 'card_unknown',
          message: 'Карта 0000042 ещё не передана в Спутник: запишите карту или выполните «Передать все карты в Спутник», затем отправьте баланс снова',
        },
      });
      // Nothing stored: no card, nothing in the feed 1C reads, no job, nothing sent.
      expect((await t.api('/v1/cards/0000042')).status).toBe(404);
      expect(((await (await t.api('/v1/cards?changedSince=')).json()) as any).cards).toEqual([]);
      expect(queueDepth(t)).toBe(0);
      expect(fake.requests()).toHaveLength(0);

      const put = await t.api('/v1/cards/0000042?wait=5', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holder: { name: 'Орлов', phone: '89001112233' }, bonus: 100 }) });
      expect(put.status).toBe(200);
      const again = await t.api('/v1/cards/0000042/bonus?wait=0', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"balance": 500}' });
      expect(again.status).toBe(202);
      await expect.poll(() => fake.cards()[0]?.values.BONUS).toBe('500');
    } finally {
      await fake.stop();
    }
  });

  it('the extension sends the card with its cardId on card_unknown, then the balance: the old Wallet card gets it, no second card', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const cardId = await createDirectly(fake, { CLIENT_NAME: 'Кузнецова', PHONE: '+79120001122', BONUS: '10' });
      fake.clearRequests();
      const t = await sputnik(fake);
      const onec = new Onec(t.listenerUrl, t.listenerToken, { '0000077': { name: 'Кузнецова Анна', phone: '+79120001122', balance: 320, cardId } });

      // A receipt posted before «Передать все карты»: ПриЗаписи of БонусныеБаллы.
      const a = await onec.balanceChanged('0000077');
      expect(a.status).toBeOneOf([200, 202]); // 200 when the card's PUT, which carries the same balance, was already delivered
      expect(onec.calls).toEqual(['POST /v1/cards/0000077/bonus', 'PUT /v1/cards/0000077', 'POST /v1/cards/0000077/bonus']);
      expect(onec.pending.size).toBe(0);
      await expect.poll(async () => (await view(t, '0000077')).state).toBe('synced');
      await expect.poll(() => queueDepth(t)).toBe(0);
      expect(methodCalls(fake, 'createcard')).toHaveLength(0);
      expect(fake.cards()).toHaveLength(1);
      expect(fake.cards()[0]).toMatchObject({ cardId, values: { CLIENT_NAME: 'Кузнецова Анна', BONUS: '320' } });
    } finally {
      await fake.stop();
    }
  });

  it('a balance an earlier version kept for a card never sent (no phone, no cardId) is refused the same way, and the card then goes with it', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const t = await sputnik(fake);
      // What POST /bonus stored for an unknown card before card_unknown: a row with the balance only.
      const store = t.core.store;
      writeNow(store, () => new Cards(store).merge('legacy-1', { bonus: '40' }, store.outbox.now()));

      const onec = new Onec(t.listenerUrl, t.listenerToken, { 'legacy-1': { name: 'Волкова', phone: '+79005556677', balance: 45 } });
      expect((await onec.sendBalance('legacy-1')).status).toBeOneOf([200, 202]);
      expect(onec.calls).toEqual(['POST /v1/cards/legacy-1/bonus', 'PUT /v1/cards/legacy-1', 'POST /v1/cards/legacy-1/bonus']);
      await expect.poll(async () => (await view(t, 'legacy-1')).state).toBe('synced');
      expect(fake.cards()).toHaveLength(1);
      expect(fake.cards()[0].values).toMatchObject({ PHONE: '+79005556677', BONUS: '45' });
    } finally {
      await fake.stop();
    }
  });
});

describe('nothing is lost', () => {
  it('Sputnik not running when the card is saved: 1C queues it, and when Sputnik is back the queue job delivers the newest card state', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const port = await freePort();
      const onec = new Onec(`http://127.0.0.1:${port}`, 'listener-token-1', { '0000100': { name: 'Зайцев Игорь', phone: '+79031234567', email: 'old@example.ru', balance: 0 } });

      expect((await onec.saveCard('0000100')).status).toBe(0);
      onec.cards.get('0000100')!.email = 'new@example.ru'; // saved again while Sputnik is still down
      expect((await onec.saveCard('0000100')).status).toBe(0);
      onec.cards.get('0000100')!.balance = 250; // and a receipt accrued points
      expect((await onec.balanceChanged('0000100')).status).toBe(0);
      expect([...onec.pending.keys()]).toEqual(['Карта|0000100', 'Баланс|0000100']);
      await onec.runQueue(); // the job runs while Sputnik is down: everything stays
      expect(onec.pending.size).toBe(2);
      expect(fake.requests()).toHaveLength(0);

      const t = await sputnik(fake, { port });
      await onec.runQueue();
      expect(onec.pending.size).toBe(0);
      await expect.poll(async () => (await view(t, '0000100')).state).toBe('synced');
      expect(fake.cards()).toHaveLength(1);
      expect(fake.cards()[0].values).toMatchObject({ CLIENT_NAME: 'Зайцев Игорь', PHONE: '+79031234567', EMAIL: 'new@example.ru', BONUS: '250' });
      expect(methodCalls(fake, 'createcard')).toHaveLength(1);
    } finally {
      await fake.stop();
    }
  });

  it('Passteam hangs: the card save still gets 202 from Sputnik within its wait (not 1C’s timeout, so not queued in 1C), and the card is delivered later', async () => {
    const fake = await startFakePassteam({ token: TOKEN });
    try {
      const t = await sputnik(fake, { httpTimeoutSeconds: 1 });
      fake.failNext(1, 'hang');
      // Card timeout 4 s → wait=1: Sputnik must answer before 1C gives up.
      const onec = new Onec(t.listenerUrl, t.listenerToken, { '0000200': { name: 'Белова Ольга', phone: '+79057654321', balance: 90 } });
      const a = await onec.saveCard('0000200', 4);
      expect(a.status).toBe(202);
      expect(a.body).toMatchObject({ code: '0000200', state: 'queued', cardId: null });
      expect(onec.pending.size).toBe(0);
      // The hung call times out; the retry (after a lookup by phone: the lost create was not processed) creates the card once.
      await expect.poll(async () => (await view(t, '0000200')).state).toBe('synced');
      expect(fake.cards()).toHaveLength(1);
      expect(fake.cards()[0].values).toMatchObject({ PHONE: '+79057654321', BONUS: '90' });
    } finally {
      await fake.stop();
    }
  });
});
