import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import qs from 'qs';
import { defaultModules } from '../../main/connectors/index.ts';
import { startFakeDocpart } from '../../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../../main/sandbox/docpart/seed.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { startTestCore } from '../helpers/core.ts';

/**
 * The requests 1C sends, as ЗаписатьJSON writes the bodies the onec/ modules build (strings stay
 * strings, 1C numbers are JSON numbers, Неопределено is null) plus the spellings README.md promises.
 * Each names its source. They are kept here rather than parsed out of the BSL: the modules compute
 * every value, so only the shape can be read off the code.
 */
interface Example {
  source: string;
  /** "METHOD /path/{param}" as in /v1/openapi.json. */
  operation: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

const OLD_CARD_ID = '5bea7e305abcfd6b708b4573';

const invoice = {
  orderId: 'ЗК-000123',
  amount: '1234.50', // Формат(Сумма, "ЧРД=.; ЧГ=0; ЧДЦ=2")
  email: 'client@example.ru',
  phone: '+7 987 654-32-10',
  clientId: 'Иванов Иван Иванович',
  serviceName: 'Оплата заказа ЗК-000123',
  expiry: '2099-12-31', // Формат(СрокОплаты, "ДФ=yyyy-MM-dd")
  send: true,
};

const EXAMPLES: Example[] = [
  {
    source: 'onec/CommonModules/СпутникКарты.bsl, ТелоЗапросаКарты (every field filled)',
    operation: 'PUT /v1/cards/{code}',
    params: { code: '2000000012345' },
    query: { wait: '5' },
    body: { holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: '+7 (987) 654-32-10', email: 'ivanov@example.ru' }, bonus: 0, values: { DISCOUNT: '5' } },
  },
  {
    source: 'onec/CommonModules/СпутникКарты.bsl, ТелоЗапросаКарты (empty birthday → null; a padded code, README «The API for 1C»)',
    operation: 'PUT /v1/cards/{code}',
    params: { code: '0001   ' },
    query: { wait: '5' },
    body: { holder: { name: 'Петрова Анна', birthday: null, phone: '89161112233' }, bonus: 1250.5 },
  },
  {
    source: 'onec/CommonModules/СпутникКарты.bsl, ТелоЗапросаКарты (a card the earlier integration made: cardId; README «Loyalty cards»)',
    operation: 'PUT /v1/cards/{code}',
    params: { code: 'old-1' },
    query: { wait: '5' },
    body: { holder: { name: 'Иванова Мария', phone: '8 916 123-45-67', email: '' }, bonus: 10, cardId: OLD_CARD_ID },
  },
  {
    source: 'onec/CommonModules/СпутникКарты.bsl, ОтправитьБаланс; onec/README.md, ОтправитьБалансПартнера',
    operation: 'POST /v1/cards/{code}/bonus',
    params: { code: '2000000012345' },
    query: { wait: '0' },
    body: { balance: 1250.5 },
  },
  { source: 'onec/CommonModules/СпутникКарты.bsl, ЗагрузитьИзменения (first page)', operation: 'GET /v1/cards', query: { changedSince: '', limit: '100' } },
  {
    source: 'onec/CommonModules/СпутникСчета.bsl, ЗаполнитьСчет → ВыставитьСчет',
    operation: 'POST /v1/invoices',
    query: { wait: '10' },
    body: invoice,
  },
  {
    source: 'onec/CommonModules/СпутникСчета.bsl, ОтправитьПакет (no phone or client; send: false — README «Invoices»; amount "1 234,5" — README «What 1C sends»)',
    operation: 'POST /v1/invoices',
    query: { wait: '10' },
    body: {
      invoices: [
        { ...invoice, orderId: 'ЗК-000124', serviceName: 'Оплата заказа ЗК-000124' },
        { orderId: 'ЗК-000125', amount: '1 234,5', email: 'other@example.ru', serviceName: 'Оплата заказа ЗК-000125', expiry: '31.12.2099', send: false },
      ],
    },
  },
  { source: 'onec/CommonModules/СпутникСчета.bsl, СостояниеСчета', operation: 'GET /v1/invoices/{orderId}', params: { orderId: 'ЗК-000123' } },
  { source: 'onec/CommonModules/СпутникСчета.bsl, ПрименитьИзмененияСчетов (first page)', operation: 'GET /v1/invoices', query: { changedSince: '', limit: '100' } },
  { source: 'onec/CommonModules/СпутникСчета.bsl, ОтозватьСчет', operation: 'DELETE /v1/invoices/{orderId}', params: { orderId: 'ЗК-000125' }, query: { wait: '5' } },
  { source: 'onec/CommonModules/СпутникDocpart.bsl, СинхронизироватьСейчас', operation: 'POST /v1/docpart/sync', query: { wait: '60' } },
  { source: 'onec/CommonModules/СпутникDocpart.bsl, ЗагрузитьЗаказыDocpart (first page)', operation: 'GET /v1/docpart/orders', query: { since: '', limit: '100' } },
  { source: 'onec/CommonModules/СпутникDocpart.bsl, ЗагрузитьПлатежиDocpart (first page)', operation: 'GET /v1/docpart/payments', query: { since: '', limit: '100' } },
  { source: 'onec/CommonModules/СпутникDocpart.bsl, ИнформацияПоАртикулу', operation: 'GET /v1/docpart/articles/{article}', params: { article: 'OC 90' } },
];

interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: object }>;
  requestBody?: { content: Record<string, { schema: object; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>> };

async function setup() {
  const passteam = await startFakePassteam({ token: 'pt-token', seedCards: [{ templateId: 'tpl-loyalty', cardId: OLD_CARD_ID, values: { PHONE: '+79161234567', CLIENT_NAME: 'Иванова', BONUS: '10' } }] });
  const paykeeper = await startFakePayKeeper({ user: 'pk-user', password: 'pk-password' });
  const docpart = await startFakeDocpart({ techKey: 'dp-key', data: generateDocpartData({ orders: 5, seed: 1 }) });
  const t = await startTestCore({
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token: 'pt-token', templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'pk-user', password: 'pk-password' },
      docpart: { enabled: true, baseUrl: docpart.url, techKey: 'dp-key', everySeconds: 3600 },
    },
    modules: defaultModules,
  });
  const doc = (await (await fetch(`${t.listenerUrl}/v1/openapi.json`)).json()) as OpenApi;
  return { t, doc, stop: () => Promise.all([passteam.stop(), paykeeper.stop(), docpart.stop()]) };
}

const ajv = new Ajv2020({ strict: false, allErrors: true });

/** What the document says the answer to this operation with this status looks like, against what the route answered. */
const answerValidators = new WeakMap<OpenApi, Ajv2020>();
function answerRefusals(doc: OpenApi, operation: string, status: number, body: unknown): string[] {
  const [method, path] = operation.split(' ');
  if (!doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)]) return [`${operation}: ответ ${status} не описан`];
  let v = answerValidators.get(doc);
  if (!v) answerValidators.set(doc, (v = new Ajv2020({ strict: false, allErrors: true }).addSchema(doc, 'doc')));
  const validate = v.compile({ $ref: `doc#/paths/${path.replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema` });
  return validate(body) ? [] : [`${operation} ${status}: ${v.errorsText(validate.errors)}`];
}

/** What the document's schemas for this operation refuse in the example (empty when it accepts it). */
function refusals(doc: OpenApi, e: Example): string[] {
  const [method, path] = e.operation.split(' ');
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) return [`${e.operation}: нет в документе`];
  const out: string[] = [];
  const check = (where: string, schema: object, value: unknown) => {
    const validate = ajv.compile(schema);
    if (!validate(value)) out.push(...(validate.errors ?? []).map((err) => `${where}${err.instancePath}: ${err.message} ${JSON.stringify(err.params)}`));
  };
  for (const p of op.parameters ?? []) {
    const given = (p.in === 'path' ? e.params : p.in === 'query' ? e.query : undefined)?.[p.name];
    if (given === undefined) {
      if (p.required) out.push(`${p.in} ${p.name}: не передан`);
      continue;
    }
    check(`${p.in} ${p.name}`, p.schema, given);
  }
  for (const [where, values] of [['path', e.params], ['query', e.query]] as const) {
    for (const name of Object.keys(values ?? {})) if (!op.parameters?.some((p) => p.in === where && p.name === name)) out.push(`${where} ${name}: нет в документе`);
  }
  const body = op.requestBody?.content['application/json']?.schema;
  if (e.body !== undefined) {
    if (body) check('body', body, e.body);
    else out.push('body: у операции нет тела в документе');
  }
  return out;
}

function urlOf(base: string, e: Example): string {
  const path = e.operation.split(' ')[1].replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(e.params![name]));
  const query = e.query ? `?${new URLSearchParams(e.query)}` : '';
  return `${base}${path}${query}`;
}

describe('/v1/openapi.json against what 1C sends', () => {
  it('every request the onec/ modules and README send fits the document, and the route accepts it', async () => {
    const { t, doc, stop } = await setup();
    try {
      expect(EXAMPLES.map((e) => ({ example: e.source, refused: refusals(doc, e) })).filter((x) => x.refused.length > 0)).toEqual([]);
      for (const e of EXAMPLES) {
        const method = e.operation.split(' ')[0];
        const r = await t.api(urlOf('', e), e.body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(e.body) });
        const text = await r.text();
        expect({ example: e.source, status: r.status, answer: r.ok ? null : text }).toEqual({ example: e.source, status: expect.toBeOneOf([200, 202]), answer: null });
        expect(answerRefusals(doc, e.operation, r.status, JSON.parse(text)), e.source).toEqual([]);
      }
    } finally {
      await stop();
    }
  });

  it('no field of any request is documented as null only (a helper lost its string branch)', async () => {
    const { doc, stop } = await setup();
    try {
      const nullOnly: string[] = [];
      const walk = (node: unknown, at: string, inUnion: boolean) => {
        if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`, inUnion));
        if (node === null || typeof node !== 'object') return;
        const o = node as Record<string, unknown>;
        if (o.type === 'null' && !inUnion) nullOnly.push(at);
        for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`, k === 'anyOf' || k === 'oneOf');
      };
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) walk({ parameters: op.parameters, requestBody: op.requestBody }, `${method.toUpperCase()} ${path}`, false);
      }
      expect(nullOnly).toEqual([]);
    } finally {
      await stop();
    }
  });
});

/** Path parameters for the document's own examples: a card and an order the examples themselves create; the card of the earlier integration is a card of its own. */
const PARAMS: Record<string, string> = { code: '2000000012345', orderId: 'ЗК-000123' };
const PARAMS_OF: Record<string, Record<string, string>> = { old: { code: 'old-1' } };

describe('/v1/openapi.json’s own request examples', () => {
  it('every JSON and form body example of the document is accepted by its route, and the answer fits the documented schema', async () => {
    const { t, doc, stop } = await setup();
    try {
      // Cards first: a balance is taken only for a card Sputnik has.
      const order = (path: string) => (path.startsWith('/v1/cards/{code}/bonus') ? 1 : 0);
      const sent: string[] = [];
      for (const [path, item] of Object.entries(doc.paths).sort(([a], [b]) => order(a) - order(b))) {
        for (const [method, op] of Object.entries(item)) {
          for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
            for (const [name, { value }] of Object.entries(media.examples ?? {})) {
              const operation = `${method.toUpperCase()} ${path}`;
              const url = path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(PARAMS_OF[name]?.[p] ?? PARAMS[p]));
              const body = type === 'application/json' ? JSON.stringify(value) : qs.stringify(value);
              const r = await t.api(`${url}?wait=5`, { method: method.toUpperCase(), headers: { 'content-type': `${type}; charset=utf-8` }, body });
              const text = await r.text();
              const label = `${operation} ${type} «${name}»`;
              expect({ label, status: r.status, answer: r.ok ? null : text }).toEqual({ label, status: expect.toBeOneOf([200, 202]), answer: null });
              expect(answerRefusals(doc, operation, r.status, JSON.parse(text)), label).toEqual([]);
              const items = (JSON.parse(text) as { invoices?: Array<{ error: unknown }> }).invoices;
              expect(items?.filter((i) => i.error) ?? [], label).toEqual([]);
              sent.push(label);
            }
          }
        }
      }
      expect(sent.length).toBe(10); // cards 3, bonus 3, invoices 4
    } finally {
      await stop();
    }
  });
});
