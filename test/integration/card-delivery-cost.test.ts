import { afterEach, describe, expect, it } from 'vitest';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { countSql, type CountedTransaction, type SqlCount } from '../helpers/count-sql.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

/**
 * What a card costs the store (issue #19): a first card create is the intake's transaction and the
 * delivery's completion, and the delivery reads the card row once and works out the template
 * variables once; a refusal is stored (card and job) in one transaction.
 */
const TOKEN = 'pt-cost-token';
const IVANOV = { holder: { name: 'Иванов Иван', phone: '+7 987 654-32-10', email: 'ivanov@example.ru' }, bonus: 150 };

let fake: FakePassteam | undefined;
let counting: SqlCount | undefined;
afterEach(async () => {
  counting?.stop();
  counting = undefined;
  await fake?.stop();
  fake = undefined;
});

/** The Passteam module with its `fields` watched: `desiredVars` reads `fields.bonus` once per call, nothing else reads it. */
function watchedPassteam(): { module: ModuleFactory; desiredVars: { count: number } } {
  const desiredVars = { count: 0 };
  const module: ModuleFactory = (ctx) =>
    passteamModule({
      ...ctx,
      config: () => {
        const c = ctx.config();
        const fields = new Proxy(c.passteam.fields, {
          get: (t, k, r) => {
            if (k === 'bonus') desiredVars.count++;
            return Reflect.get(t, k, r);
          },
        });
        return { ...c, passteam: { ...c.passteam, fields } };
      },
    });
  return { module, desiredVars };
}

async function setup(): Promise<{ t: TestCore; desiredVars: { count: number } }> {
  fake = await startFakePassteam({ token: TOKEN });
  const { module, desiredVars } = watchedPassteam();
  const t = await startTestCore({ config: { passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } }, modules: [module] });
  return { t, desiredVars };
}

const put = (t: TestCore, code: string, body: unknown) =>
  t.api(`/v1/cards/${code}?wait=5`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Transactions that wrote a card or an outbox job (the journal's own background writes left out). */
const domain = (txs: CountedTransaction[]) => txs.filter((tx) => tx.writes.some((w) => /\b(cards|jobs)\b/.test(w)));
const cardRowReads = (c: SqlCount, from: RegExp) => c.statements.filter((s) => /FROM cards WHERE code = \?/.test(s.sql) && from.test(s.stack)).length;
/** The delivery: the deliverer and the pool that completes or fails its job. */
const DELIVERY = /connectors[\\/]passteam[\\/]worker\.ts|store[\\/]worker-pool\.ts/;

describe('store cost of a card delivery', () => {
  it('a first card create: two transactions (intake, completion); the delivery reads the card once and builds its variables once', async () => {
    const { t, desiredVars } = await setup();
    counting = countSql(t.core.store);
    desiredVars.count = 0;
    const r = await put(t, 'c1', IVANOV);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { state: string }).state).toBe('synced');
    const txs = domain(counting.transactions);
    const figures = { transactions: txs.length, cardReadsInDelivery: cardRowReads(counting, DELIVERY), desiredVars: desiredVars.count };
    console.log('first card create:', JSON.stringify(figures), txs.map((tx) => tx.writes.map((w) => w.slice(0, 40)).join(' | ')));
    expect(figures).toEqual({ transactions: 2, cardReadsInDelivery: 1, desiredVars: 1 });
  });

  it('a refused create: the card and its job take the refusal in one transaction', async () => {
    fake = await startFakePassteam({ token: TOKEN, seedCards: [{ templateId: 'tpl-loyalty', values: { PHONE: '+79876543210', CLIENT_NAME: 'Петров' } }] });
    const { module } = watchedPassteam();
    const t = await startTestCore({ config: { passteam: { enabled: true, baseUrl: fake.url, token: TOKEN, templateId: 'tpl-loyalty' } }, modules: [module] });
    counting = countSql(t.core.store);
    const r = await put(t, 'c2', IVANOV);
    expect(r.status).toBe(409);
    const txs = domain(counting.transactions);
    console.log('refused create:', txs.length, txs.map((tx) => tx.writes.map((w) => w.slice(0, 40)).join(' | ')));
    // The intake (which leases the job), then one transaction: the error on the card and the failed job.
    expect(txs).toHaveLength(2);
    expect(txs[1].writes.some((w) => w.startsWith('UPDATE cards SET'))).toBe(true);
    expect(txs[1].writes.some((w) => w.startsWith('UPDATE jobs SET state = @state'))).toBe(true);
    const card = t.core.store.sql.get<{ state: string; last_error: string }>(`SELECT state, last_error FROM cards WHERE code = 'c2'`)!;
    expect(card.state).toBe('failed');
    expect(JSON.parse(card.last_error).code).toBe('phone_taken');
  });
});
