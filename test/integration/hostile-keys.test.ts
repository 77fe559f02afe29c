import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { configSchema, defaultConfig } from '../../main/config/schema.ts';
import { applyPatch } from '../../main/config/settings-store.ts';
import { docpartModule } from '../../main/connectors/docpart/index.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { canonicalHeaderName } from '../../main/listener/http-app.ts';
import { createRegate } from '../../main/regate/index.ts';
import { startFake1C } from '../../main/sandbox/onec/fake.ts';
import { startFakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { openStore } from '../../main/store/index.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';
import { probeModule } from '../fixtures/probe-domain.ts';

/**
 * issue #16.1: every name on Object.prototype, sent wherever a client's text can become a key
 * (charset, content type, JSON and form keys at the top and nested, query names, path segments,
 * header names and values, ReGate's method and Basic user names, the admin API's bodies and
 * parameters). Each answer is the right 4xx in the app's one error shape with a Russian message,
 * or the correct acceptance; never a 5xx, and a refused request stores nothing.
 */
const NAMES = Object.getOwnPropertyNames(Object.prototype);

interface Case {
  label: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status that is right; for an error also its code (and field when there is one). */
  status: number;
  code?: string;
  field?: string;
  /** What changes in the store: nothing unless said. */
  stores?: 'card' | 'invoice';
  /** More checks of a correct acceptance. */
  then?: (body: any) => void | Promise<void>;
}

interface Answer {
  status: number;
  type: string;
  body: any;
  text: string;
}

async function send(base: string, c: Case, dispatcher?: Agent): Promise<Answer> {
  const r = await request(base + c.path, { method: (c.method ?? 'GET') as 'GET', headers: c.headers, body: c.body, dispatcher });
  const text = await r.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* CSV, HTML */
  }
  return { status: r.statusCode, type: String(r.headers['content-type'] ?? ''), body, text };
}

const CYRILLIC = /[А-Яа-яЁё]/;

/** Sputnik's one error shape: {"error": {"code", "message" (Russian), "field"?}}. */
function sputnikErrorProblems(c: Case, a: Answer): string[] {
  const out: string[] = [];
  if (a.type !== 'application/json; charset=utf-8') out.push(`content-type ${a.type}`);
  const e = a.body?.error;
  if (!e || Object.keys(a.body).length !== 1) return [...out, `not the error shape: ${a.text.slice(0, 200)}`];
  if (!CYRILLIC.test(String(e.message))) out.push(`message not Russian: ${e.message}`);
  if (c.code && e.code !== c.code) out.push(`code ${e.code}, want ${c.code}`);
  if (c.field !== undefined && e.field !== c.field) out.push(`field ${e.field}, want ${c.field}`);
  return out;
}

/** ReGate's RFC 9457 problem: application/problem+json with a Russian detail. */
function problemProblems(c: Case, a: Answer): string[] {
  const out: string[] = [];
  if (a.type !== 'application/problem+json; charset=utf-8') out.push(`content-type ${a.type}`);
  const p = a.body;
  if (!p || typeof p !== 'object' || p.status !== a.status || typeof p.type !== 'string' || typeof p.title !== 'string' || typeof p.requestId !== 'string') {
    return [...out, `not a problem: ${a.text.slice(0, 200)}`];
  }
  if (!CYRILLIC.test(String(p.detail))) out.push(`detail not Russian: ${p.detail}`);
  if (c.code && p.code !== c.code) out.push(`code ${p.code}, want ${c.code}`);
  return out;
}

/** Sends each case; returns what went wrong, one line per case (so one run shows every offender). */
async function run(base: string, cases: Case[], opts: { shape: (c: Case, a: Answer) => string[]; counts?: () => { card: number; invoice: number }; dispatcher?: Agent }): Promise<string[]> {
  const wrong: string[] = [];
  for (const c of cases) {
    const before = opts.counts?.();
    const a = await send(base, c, opts.dispatcher);
    const problems: string[] = [];
    if (a.status !== c.status) problems.push(`status ${a.status}, want ${c.status}: ${a.text.slice(0, 200)}`);
    else if (a.status >= 400) problems.push(...opts.shape(c, a));
    else if (c.then) {
      try {
        await c.then(a.body);
      } catch (e) {
        problems.push((e as Error).message.split('\n')[0]);
      }
    }
    if (before) {
      const after = opts.counts!();
      for (const kind of ['card', 'invoice'] as const) {
        const want = before[kind] + (c.stores === kind && a.status < 400 ? 1 : 0);
        if (after[kind] !== want) problems.push(`${kind}s ${before[kind]} → ${after[kind]}, want ${want}`);
      }
    }
    if (problems.length) wrong.push(`${c.method ?? 'GET'} ${c.path} [${c.label}]: ${problems.join('; ')}`);
  }
  return wrong;
}

async function coreWithDomains(): Promise<TestCore> {
  const passteam = await startFakePassteam({ token: 'pt', httpStatus: 'always200' });
  const paykeeper = await startFakePayKeeper({ user: 'u', password: 'p' });
  stops.push(() => passteam.stop(), () => paykeeper.stop());
  return startTestCore({
    config: {
      passteam: { enabled: true, baseUrl: passteam.url, token: 'pt', templateId: 'tpl-loyalty' },
      paykeeper: { enabled: true, baseUrl: paykeeper.url, user: 'u', password: 'p' },
    },
    modules: [probeModule, passteamModule, paykeeperModule, docpartModule],
  });
}

const stops: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const counts = (t: TestCore) => () => ({
  card: t.core.store.sql.value<number>('SELECT count(*) FROM cards') ?? 0,
  invoice: t.core.store.sql.value<number>('SELECT count(*) FROM invoices') ?? 0,
});

describe('Object.prototype names as client input (issue #16.1)', () => {
  it('the 1C listener: charset, content type, JSON and form keys, query, path, headers → the right 4xx or a correct acceptance', async () => {
    const t = await coreWithDomains();
    const ui = (path: string) => request(`${t.uiUrl}${path.replace(/^\//, '')}`, { headers: { Authorization: `Bearer ${t.uiToken}` } }).then((r) => r.body.json() as Promise<any>);
    const auth = { Authorization: `Bearer ${t.listenerToken}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const form = { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' };
    const phone = '"holder":{"phone":"+79876543210"}';
    let phones = 0;
    const nextPhone = () => `+7987${String(++phones).padStart(7, '0')}`;
    const invoice = (id: string) => `"orderId":"${id}","amount":"1","email":"a@b.ru"`;
    const cases = NAMES.flatMap((n): Case[] => {
      const proto = n === '__proto__';
      /** A template variable of any name is the client's own (Passteam takes it), except one no object can hold. */
      const kept = (code: string): Partial<Case> =>
        proto
          ? { status: 422, code: 'invalid_value', field: `values.${n}` }
          : {
              status: 200,
              stores: 'card',
              then: async (b) => {
                expect(b.state).toBe('synced'); // delivered to Passteam under that name
                expect((await ui(`/api/cards/${code}`)).values).toEqual({ [n]: '5' });
              },
            };
      const batchItem = (orderId: string): Partial<Case> =>
        proto
          ? { status: 422, code: 'invalid_value', field: `invoices[0].${n}` }
          : { status: 200, then: (b) => expect(b.invoices[0]).toMatchObject({ orderId, state: 'failed', error: { code: 'invalid_value', field: `invoices[0].${n}` } }) };
      return [
        { label: 'charset, JSON', method: 'POST', path: '/v1/_probe/echo', headers: { ...auth, 'Content-Type': `application/json; charset=${n}` }, body: '{"name":"x"}', status: 415, code: 'unsupported_charset' },
        { label: 'charset, form', method: 'POST', path: '/v1/_probe/echo', headers: { ...auth, 'Content-Type': `application/x-www-form-urlencoded; charset=${n}` }, body: 'name=x', status: 415, code: 'unsupported_charset' },
        { label: 'charset, card', method: 'PUT', path: `/v1/cards/cs-${n}`, headers: { ...auth, 'Content-Type': `application/json; charset=${n}` }, body: `{${phone}}`, status: 415, code: 'unsupported_charset' },
        { label: 'content type', method: 'POST', path: '/v1/_probe/echo', headers: { ...auth, 'Content-Type': `application/${n}` }, body: '{"name":"x"}', status: 415, code: 'unsupported_media_type' },
        { label: 'content type, no subtype', method: 'POST', path: '/v1/_probe/echo', headers: { ...auth, 'Content-Type': n }, body: '{"name":"x"}', status: 415, field: 'Content-Type' },
        { label: 'JSON key', method: 'POST', path: '/v1/_probe/echo', headers: json, body: `{"${n}":"x"}`, status: 422, code: 'invalid_value', field: n },
        { label: 'JSON key, object value', method: 'POST', path: '/v1/_probe/echo', headers: json, body: `{"${n}":{"name":"x"}}`, status: 422, code: 'invalid_value', field: n },
        { label: 'JSON key, nested', method: 'POST', path: '/v1/_probe/echo', headers: json, body: `{"holder":{"${n}":"x"}}`, status: 422, code: 'invalid_value', field: `holder.${n}` },
        { label: 'form key', method: 'POST', path: '/v1/_probe/echo', headers: form, body: `${n}=x`, status: 422, code: 'invalid_value', field: n },
        { label: 'form key, nested', method: 'POST', path: '/v1/_probe/echo', headers: form, body: `holder[${n}]=x`, status: 422, code: 'invalid_value', field: `holder.${n}` },
        { label: 'form key, with a child', method: 'POST', path: '/v1/_probe/echo', headers: form, body: `${n}[name]=x`, status: 422, code: 'invalid_value', field: proto ? `${n}.name` : n },
        { label: 'card, JSON holder key', method: 'PUT', path: `/v1/cards/h-${n}?wait=0`, headers: json, body: `{"holder":{"phone":"+79876543210","${n}":"x"}}`, status: 422, code: 'invalid_value', field: `holder.${n}` },
        { label: 'card, form holder key', method: 'PUT', path: `/v1/cards/g-${n}?wait=0`, headers: form, body: `holder[phone]=%2B79876543210&holder[${n}]=x`, status: 422, code: 'invalid_value', field: `holder.${n}` },
        { label: 'card, JSON top key', method: 'PUT', path: `/v1/cards/k-${n}?wait=0`, headers: json, body: `{${phone},"${n}":"x"}`, status: 422, code: 'invalid_value', field: n },
        // Each card its own phone: Passteam binds a phone to one card.
        { label: 'card, JSON template variable', method: 'PUT', path: `/v1/cards/v-${n}?wait=5`, headers: json, body: `{"holder":{"phone":"${nextPhone()}"},"values":{"${n}":"5"}}`, ...kept(`v-${n}`) } as Case,
        { label: 'card, form template variable', method: 'PUT', path: `/v1/cards/f-${n}?wait=5`, headers: form, body: `holder[phone]=${encodeURIComponent(nextPhone())}&values[${n}]=5`, ...kept(`f-${n}`) } as Case,
        { label: 'invoice, JSON key', method: 'POST', path: '/v1/invoices?wait=0', headers: json, body: `{${invoice(`o-${n}`)},"${n}":"x"}`, status: 422, code: 'invalid_value', field: n },
        { label: 'invoice, form key', method: 'POST', path: '/v1/invoices?wait=0', headers: form, body: `orderId=p-${n}&amount=1&email=a%40b.ru&${n}=x`, status: 422, code: 'invalid_value', field: n },
        { label: 'invoice batch, top key', method: 'POST', path: '/v1/invoices?wait=0', headers: json, body: `{"${n}":1,"invoices":[{${invoice(`t-${n}`)}}]}`, status: 422, code: 'invalid_value', field: n },
        {
          label: 'invoice batch, item key',
          method: 'POST',
          path: '/v1/invoices?wait=0',
          headers: json,
          body: `{"invoices":[{${invoice(`b-${n}`)},"${n}":"x"}]}`,
          // A batch answers per item: the item is failed with its field, and nothing is stored for it
          // (a key no object can hold refuses the whole body, as the reader finds it).
          ...batchItem(`b-${n}`),
        } as Case,
        {
          label: 'invoice batch, form item key',
          method: 'POST',
          path: '/v1/invoices?wait=0',
          headers: form,
          body: `invoices[0][orderId]=c-${n}&invoices[0][amount]=1&invoices[0][email]=a%40b.ru&invoices[0][${n}]=x`,
          ...batchItem(`c-${n}`),
        } as Case,
        { label: 'query name', path: `/v1/cards?${n}=1`, headers: auth, status: 200, then: (b) => expect(Array.isArray(b.cards)).toBe(true) },
        { label: 'query value', method: 'PUT', path: `/v1/cards/q-${n}?wait=${n}`, headers: json, body: `{${phone}}`, status: 422, code: 'invalid_value', field: 'wait' },
        { label: 'changedSince', path: `/v1/cards?changedSince=${n}`, headers: auth, status: 400, code: 'invalid_cursor', field: 'changedSince' },
        { label: 'path: card', path: `/v1/cards/${n}`, headers: auth, status: 404, code: 'card_not_found' },
        { label: 'path: invoice', path: `/v1/invoices/${n}`, headers: auth, status: 404, code: 'invoice_not_found' },
        { label: 'path: route', path: `/v1/${n}`, headers: auth, status: 404, code: 'not_found' },
        { label: 'path: route, no token', path: `/v1/${n}`, status: 401, code: 'unauthorized' },
        { label: 'path: method', method: 'DELETE', path: `/v1/cards/${n}`, headers: auth, status: 405, code: 'method_not_allowed' },
        { label: 'header name', path: '/v1/cards', headers: { ...auth, [n]: 'x' }, status: 200, then: (b) => expect(Array.isArray(b.cards)).toBe(true) },
        { label: 'Authorization scheme', path: '/v1/cards', headers: { Authorization: `${n} x` }, status: 401, code: 'unauthorized' },
        { label: 'Bearer token', path: '/v1/cards', headers: { Authorization: `Bearer ${n}` }, status: 401, code: 'unauthorized' },
        { label: 'Basic user', path: '/v1/cards', headers: { Authorization: `Basic ${Buffer.from(`${n}:${n}`).toString('base64')}` }, status: 401, code: 'unauthorized' },
        { label: 'Host', path: '/v1/health', headers: { Host: n }, status: 403, code: 'host_not_allowed', field: 'Host' },
        { label: 'Origin', path: '/v1/health', headers: { Origin: `http://${n}` }, status: 403, code: 'cors_refused' },
        { label: 'Accept*', path: '/v1/health', headers: { Accept: n, 'Accept-Charset': n, 'Accept-Language': n }, status: 200, then: (b) => expect(b.status).toBe('ok') },
      ];
    });
    expect(await run(t.listenerUrl, cases, { shape: sputnikErrorProblems, counts: counts(t) })).toEqual([]);
    // A response header's name is cased through a table: a name from a client finds nothing in it but itself.
    for (const n of NAMES) expect(canonicalHeaderName(n)).toBe(n.replace(/^[a-z]/, (c) => c.toUpperCase()));
  });

  it('the admin API: settings and test-connection bodies, connector names, journal and list filters, ids, cookies and headers', async () => {
    const t = await coreWithDomains();
    const base = t.uiUrl.replace(/\/$/, '');
    const auth = { Authorization: `Bearer ${t.uiToken}` };
    const mut = { ...auth, 'X-Sputnik-UI': '1' };
    const json = { ...mut, 'Content-Type': 'application/json' };
    const settings = async () => (await send(base, { label: '', path: '/api/settings', headers: auth, status: 200 })).text;
    const before = await settings();
    const tenant = (routes: string) => `{"regate":{"tenants":[{"id":"a","user":"u","password":"p","baseUrl":"http://127.0.0.1:1","onecUser":"o","timeouts":{"routes":${routes}}}]}}`;
    const cases = NAMES.flatMap((n): Case[] => [
      { label: 'settings key', method: 'PUT', path: '/api/settings', headers: json, body: `{"${n}":1}`, status: 422, code: 'invalid_value', field: n },
      { label: 'settings key, object value', method: 'PUT', path: '/api/settings', headers: json, body: `{"${n}":{"enabled":true}}`, status: 422, code: 'invalid_value', field: n },
      { label: 'settings key, nested', method: 'PUT', path: '/api/settings', headers: json, body: `{"passteam":{"${n}":1}}`, status: 422, code: 'invalid_value', field: `passteam.${n}` },
      { label: 'settings key, nested object', method: 'PUT', path: '/api/settings', headers: json, body: `{"passteam":{"${n}":{"a":1}}}`, status: 422, code: 'invalid_value', field: `passteam.${n}` },
      { label: 'settings key, deep', method: 'PUT', path: '/api/settings', headers: json, body: `{"passteam":{"fields":{"${n}":"x"}}}`, status: 422, code: 'invalid_value', field: `passteam.fields.${n}` },
      { label: 'settings: ReGate method name', method: 'PUT', path: '/api/settings', headers: json, body: tenant(`{"${n}":5}`), status: 422, code: 'invalid_value', field: `regate.tenants[0].timeouts.routes.${n}` },
      { label: 'test: connector', method: 'POST', path: '/api/settings/test', headers: json, body: `{"connector":"${n}"}`, status: 422, code: 'invalid_value', field: 'connector' },
      { label: 'test: settings key', method: 'POST', path: '/api/settings/test', headers: json, body: `{"connector":"passteam","settings":{"${n}":1}}`, status: 422, code: 'invalid_value', field: n === '__proto__' ? 'settings.__proto__' : `passteam.${n}` },
      { label: 'test: top key', method: 'POST', path: '/api/settings/test', headers: json, body: `{"connector":"passteam","${n}":1}`, status: 422, code: 'invalid_value', field: n },
      { label: 'pause: connector', method: 'POST', path: `/api/connectors/${n}/pause`, headers: mut, status: 422, code: 'invalid_value', field: 'name' },
      { label: 'resume: connector', method: 'POST', path: `/api/connectors/${n}/resume`, headers: mut, status: 422, code: 'invalid_value', field: 'name' },
      { label: 'retry: entity', method: 'POST', path: '/api/retry', headers: json, body: `{"entity":"${n}"}`, status: 404, code: 'entity_not_found' },
      { label: 'retry: card', method: 'POST', path: '/api/retry', headers: json, body: `{"entity":"card:${n}"}`, status: 404, code: 'entity_not_found' },
      { label: 'retry: invoice', method: 'POST', path: '/api/retry', headers: json, body: `{"entity":"invoice:${n}"}`, status: 404, code: 'entity_not_found' },
      { label: 'retry: key', method: 'POST', path: '/api/retry', headers: json, body: `{"entity":"card:x","${n}":1}`, status: 422, code: 'invalid_value', field: n },
      { label: 'journal filters', path: `/api/journal?q=${n}&system=${n}&entity=${n}`, headers: auth, status: 200, then: (b) => expect(b.entries).toEqual([]) },
      { label: 'journal direction', path: `/api/journal?direction=${n}`, headers: auth, status: 422, code: 'invalid_value', field: 'direction' },
      { label: 'journal query name', path: `/api/journal?${n}=1`, headers: auth, status: 200, then: (b) => expect(Array.isArray(b.entries)).toBe(true) },
      { label: 'journal export', path: `/api/journal/export?system=${n}`, headers: auth, status: 200 },
      { label: 'journal id', path: `/api/journal/${n}`, headers: auth, status: 422, code: 'invalid_value', field: 'id' },
      { label: 'cards filters', path: `/api/cards?q=${n}&${n}=1`, headers: auth, status: 200, then: (b) => expect(b.total).toBe(0) },
      { label: 'cards state', path: `/api/cards?state=${n}`, headers: auth, status: 422, code: 'invalid_value', field: 'state' },
      { label: 'card', path: `/api/cards/${n}`, headers: auth, status: 404, code: 'card_not_found' },
      { label: 'invoices filters', path: `/api/invoices?q=${n}&${n}=1`, headers: auth, status: 200, then: (b) => expect(b.total).toBe(0) },
      { label: 'invoice', path: `/api/invoices/${n}`, headers: auth, status: 404, code: 'invoice_not_found' },
      { label: 'Docpart orders', path: `/api/docpart/orders?q=${n}`, headers: auth, status: 200, then: (b) => expect(b.total).toBe(0) },
      { label: 'Docpart order', path: `/api/docpart/orders/${n}`, headers: auth, status: 404, code: 'order_not_found' },
      { label: 'path', path: `/api/${n}`, headers: auth, status: 404, code: 'not_found' },
      { label: 'login token', path: `/?token=${n}`, status: 401, code: 'unauthorized' },
      { label: 'cookie', path: '/api/health', headers: { Cookie: `${n}=x; sputnik_ui=${n}` }, status: 401, code: 'unauthorized' },
      { label: 'header name', path: '/api/health', headers: { ...auth, [n]: 'x' }, status: 200, then: (b) => expect(b.status).toBe('ok') },
      { label: 'X-Sputnik-UI', method: 'POST', path: '/api/retry', headers: { ...auth, 'X-Sputnik-UI': n, 'Content-Type': 'application/json' }, body: '{"entity":"card:x"}', status: 403, code: 'csrf_refused' },
      { label: 'content type', method: 'POST', path: '/api/retry', headers: { ...mut, 'Content-Type': n }, body: '{"entity":"card:x"}', status: 415 },
    ]);
    expect(await run(base, cases, { shape: sputnikErrorProblems, counts: counts(t) })).toEqual([]);
    expect(await settings()).toBe(before);
  });

  it('a settings patch with an own __proto__ key (as JSON.parse makes one) is refused naming it, not merged into the prototype', () => {
    const r = configSchema.safeParse(applyPatch(defaultConfig(), JSON.parse('{"__proto__":{"passteam":{"enabled":true}}}')));
    expect(r.success).toBe(false);
    expect(r.error?.issues).toMatchObject([{ code: 'unrecognized_keys', keys: ['__proto__'] }]);
  });

  it('ReGate: method names, Basic users, path segments, query names, JSON keys, headers → problem+json 4xx or a correct acceptance', async () => {
    const fake = await startFake1C({ latencyScale: 0, items: 20 });
    stops.push(() => fake.stop());
    const dir = tempDir();
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const { config } = parseConfig(
      { regate: { enabled: true, host: '127.0.0.1', port: 0, tls: { keyFile, certFile }, tenants: [{ id: 'shop', user: 'richest', password: 'sandbox', baseUrl: fake.baseUrl, onecUser: fake.user, onecPassword: fake.password }] } },
      {},
    );
    const store = openStore(dir, { leaseMs: 3000 });
    const regate = createRegate({ config: () => config.regate, store });
    stops.push(() => store.close(), () => regate.stop());
    const { url } = await regate.listen();
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    stops.push(() => agent.close());
    const auth = { Authorization: `Basic ${Buffer.from('richest:sandbox').toString('base64')}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const storeId = fake.company().stores[0].id;
    const write = (key: string) => ({ ...json, 'Idempotency-Key': key });
    const cases = NAMES.flatMap((n): Case[] => {
      const proto = n === '__proto__';
      // A JSON body goes to 1C as given: any key but one no object can hold is 1C's to judge.
      const passed: Partial<Case> = proto ? { status: 400, code: 'invalid_request' } : { status: 201, then: (b) => expect(b.created).toBe(true) };
      return [
        { label: 'method name', path: `/regate/${n}`, headers: auth, status: 404, code: 'unknown_method' },
        { label: 'method name, POST', method: 'POST', path: `/regate/${n}`, headers: json, body: '{}', status: 404, code: 'unknown_method' },
        { label: 'Basic user', path: '/regate/v1/state', headers: { Authorization: `Basic ${Buffer.from(`${n}:sandbox`).toString('base64')}` }, status: 401, code: 'unauthorized' },
        { label: 'Basic user and password', path: '/regate/v1/state', headers: { Authorization: `Basic ${Buffer.from(`${n}:${n}`).toString('base64')}` }, status: 401, code: 'unauthorized' },
        { label: 'Authorization scheme', path: '/regate/v1/state', headers: { Authorization: `${n} x` }, status: 401, code: 'unauthorized' },
        { label: 'path: city', path: `/regate/v1/cities/${n}/stores`, headers: auth, status: 404, code: 'CITY_NOT_FOUND' },
        { label: 'path: store', path: `/regate/v1/stores/${n}/assortment`, headers: auth, status: 404, code: 'STORE_NOT_FOUND' },
        { label: 'path: order', path: `/regate/v1/orders/${n}`, headers: auth, status: 404, code: 'ORDER_NOT_FOUND' },
        { label: 'path: operation', path: `/regate/v1/operations/${n}`, headers: auth, status: 400, code: 'invalid_request' },
        { label: 'path: route', path: `/regate/v1/${n}`, headers: auth, status: 404, code: 'not_found' },
        { label: 'query name', path: `/regate/v1/stores/${storeId}/assortment?${n}=1`, headers: auth, status: 200, then: (b) => expect(b.items.length).toBeGreaterThan(0) },
        { label: 'JSON key', method: 'PUT', path: `/regate/v1/clients/c-${n}`, headers: write(`c-${n}`), body: `{"name":"x","${n}":"y"}`, ...passed } as Case,
        { label: 'JSON key, object value', method: 'PUT', path: `/regate/v1/clients/d-${n}`, headers: write(`d-${n}`), body: `{"name":"x","${n}":{"a":1}}`, ...passed } as Case,
        // The booking's client names its write queue: a client id that is an object (even one with its own toString) is no name.
        { label: 'JSON key inside the client id', method: 'POST', path: '/regate/v1/orders', headers: write(`e-${n}`), body: `{"client":{"externalId":{"${n}":1}}}`, status: proto ? 400 : 422, code: proto ? 'invalid_request' : 'RICHEST_ORDER_ID_REQUIRED' },
        { label: 'path: client id', method: 'PUT', path: `/regate/v1/clients/${n}`, headers: write(`f-${n}`), body: '{"name":"x"}', status: 201, then: (b) => expect(b.client.externalId).toBe(n) },
        { label: 'Idempotency-Key', method: 'PUT', path: `/regate/v1/clients/g-${n}`, headers: write(n), body: '{"name":"x"}', status: 201, then: (b) => expect(b.client.externalId).toBe(`g-${n}`) },
        { label: 'header name', path: '/regate/v1/state', headers: { ...auth, [n]: 'x' }, status: 200, then: (b) => expect(b.platformVersion).toBeTruthy() },
        { label: 'X-Request-Id, If-None-Match', path: '/regate/v1/state', headers: { ...auth, 'X-Request-Id': n, 'If-None-Match': n }, status: 200, then: (b) => expect(b.platformVersion).toBeTruthy() },
        { label: 'content type', method: 'PUT', path: `/regate/v1/clients/h-${n}`, headers: { ...auth, 'Content-Type': n, 'Idempotency-Key': `h-${n}` }, body: '{"name":"x"}', status: 415, code: 'invalid_request' },
      ];
    });
    expect(await run(url, cases, { shape: problemProblems, dispatcher: agent })).toEqual([]);
    // The alias path (`/regate/{method}` with parameters in the query or the body) takes any parameter name without a 5xx.
    const aliasCases = NAMES.flatMap((n): Case[] => [
      { label: 'alias, query name', path: `/regate/citystore?${n}=1`, headers: auth, status: 0 },
      { label: 'alias, body key', method: 'POST', path: `/regate/assortment?storeId=${storeId}`, headers: json, body: `{"${n}":"1"}`, status: 0 },
    ]);
    for (const c of aliasCases) {
      const a = await send(url, c, agent);
      expect(a.status, `${c.path} ${c.body ?? ''}: ${a.text.slice(0, 200)}`).toBeLessThan(500);
      if (a.status >= 400) expect(problemProblems(c, a)).toEqual([]);
    }
  });
});
