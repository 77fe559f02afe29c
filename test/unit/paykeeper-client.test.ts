import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../main/config/load.ts';
import { createDispatcher, HttpClient } from '../../main/http/client.ts';
import { PayKeeperClient, parseLossless } from '../../main/connectors/paykeeper/client.ts';
import { money, previewFields } from '../../main/connectors/paykeeper/worker.ts';
import { checkDelay } from '../../main/connectors/paykeeper/tracker.ts';
import { DeliveryError } from '../../main/errors.ts';

/** The literal PayKeeper bodies public SDKs test against (test/fixtures/conformance/paykeeper), byte for byte. */
const FIXTURES = new URL('../fixtures/conformance/paykeeper/', import.meta.url);
const body = (name: string) => readFileSync(new URL(name, FIXTURES));
const JC = 'JustCommunication-ru_paykeeper-sdk__';
const TF = 'thefJ_paykeeper_php_client__PayKeeperClientTest__';

type Answer = { status?: number; type?: string; body: Buffer | string };

/** A scripted PayKeeper: each request gets the next answer for its path; every request is kept. */
async function scripted(script: Record<string, Answer[]>) {
  const seen: Array<{ method: string; path: string; body: string }> = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const path = (req.url ?? '').split('?')[0];
    seen.push({ method: req.method ?? '', path, body: raw });
    const a = script[path]?.shift() ?? { status: 404, type: 'text/html', body: '<html>404 Not Found</html>' };
    res.writeHead(a.status ?? 200, { 'Content-Type': a.type ?? 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { config } = parseConfig({ paykeeper: { enabled: true, baseUrl: url, user: 'u', password: 'p' } }, {});
  const client = new PayKeeperClient(new HttpClient(createDispatcher(config.http)), () => config.paykeeper);
  return { client, seen, close: () => new Promise((r) => server.close(r)) };
}

const fail = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as DeliveryError;
  }
  throw new Error('expected a failure');
};

describe('PayKeeper client on the bodies real SDKs test against', () => {
  it('token.json: the token is read and sent in the POST form; invoice-preview.json: the link is built from invoice_id', async () => {
    const s = await scripted({ '/info/settings/token/': [{ body: body(`${TF}token.json`) }], '/change/invoice/preview/': [{ body: body(`${TF}invoice-preview.json`) }] });
    const r = await s.client.preview({ pay_amount: '100.00' });
    expect(r.invoiceId).toBe('fake_invoice_id');
    expect(r.invoiceUrl).toMatch(/\/bill\/fake_invoice_id\/$/);
    expect(new URLSearchParams(s.seen[1].body).get('token')).toBe('fake_token');
    await s.close();
  });

  it('token-missing.json ({}): a clear error, no POST made', async () => {
    const s = await scripted({ '/info/settings/token/': [{ body: body(`${TF}token-missing.json`) }] });
    const e = await fail(s.client.preview({ pay_amount: '1.00' }));
    expect(e.code).toBe('paykeeper_bad_answer');
    expect(s.seen.map((x) => x.path)).toEqual(['/info/settings/token/']);
    await s.close();
  });

  it.each(['created', 'sent', 'paid', 'expired'])('invoice-status-%s.json: status read', async (status) => {
    const s = await scripted({ '/info/invoice/byid/': [{ body: body(`${TF}invoice-status-${status}.json`) }] });
    expect((await s.client.byId('20261123101010123'))!.status).toBe(status);
    await s.close();
  });

  it('invoice-status-missing.json: a body without status is an error, not a state', async () => {
    const s = await scripted({ '/info/invoice/byid/': [{ body: body(`${TF}invoice-status-missing.json`) }] });
    expect((await fail(s.client.byId('1'))).code).toBe('paykeeper_bad_answer');
    await s.close();
  });

  it.each([
    ['result-success', null],
    ['result-failure', 'paykeeper_bad_answer'],
    ['noresult', 'paykeeper_bad_answer'],
  ])('revoke answered %s', async (name, code) => {
    const s = await scripted({ '/info/settings/token/': [{ body: '{"token":"t1"}' }], '/change/invoice/revoke/': [{ body: body(`${JC}InvoiceRevokeResponseTest__${name}.json`) }] });
    const p = s.client.revoke('20261123101010123');
    if (code === null) await p;
    else expect((await fail(p)).code).toBe(code);
    await s.close();
  });

  it.each(['token-invalid', 'token-invalid-error-code-67'])('%s.json: one token refresh, the POST retried once with the new token', async (name) => {
    const stale = { body: body(`${JC}RefreshTokenMiddleware__${name}.json`) };
    const s = await scripted({
      '/info/settings/token/': [{ body: '{"token":"old"}' }, { body: '[{"token":"new"}]' }],
      '/change/invoice/send/': [stale, { body: '{"result":"success"}' }],
    });
    await s.client.send('20261123101010123');
    const posts = s.seen.filter((x) => x.method === 'POST').map((x) => new URLSearchParams(x.body).get('token'));
    expect(posts).toEqual(['old', 'new']);
    expect(s.seen.filter((x) => x.path === '/info/settings/token/')).toHaveLength(2);
    await s.close();
  });

  it('a token that is stale even when fresh: retried once, then a retryable error (never a loop)', async () => {
    const stale = { body: body(`${JC}RefreshTokenMiddleware__token-invalid.json`) };
    const s = await scripted({ '/info/settings/token/': [{ body: '{"token":"a"}' }, { body: '{"token":"b"}' }], '/change/invoice/send/': [stale, stale, stale] });
    const e = await fail(s.client.send('1'));
    expect(e.outcome).toBe('retry');
    expect(s.seen.filter((x) => x.method === 'POST')).toHaveLength(2);
    await s.close();
  });

  it('concurrent POSTs on a stale token share one refresh', async () => {
    const stale = () => ({ body: body(`${JC}RefreshTokenMiddleware__token-invalid-error-code-67.json`) });
    const ok = () => ({ body: '{"result":"success"}' });
    const s = await scripted({
      '/info/settings/token/': [{ body: '{"token":"old"}' }, { body: '{"token":"new"}' }, { body: '{"token":"newer"}' }],
      '/change/invoice/send/': [stale(), stale(), stale(), ok(), ok(), ok()],
    });
    await Promise.all(['1', '2', '3'].map((id) => s.client.send(id)));
    expect(s.seen.filter((x) => x.path === '/info/settings/token/')).toHaveLength(2);
    expect(s.seen.filter((x) => x.method === 'POST').map((x) => new URLSearchParams(x.body).get('token'))).toEqual(['old', 'old', 'old', 'new', 'new', 'new']);
    await s.close();
  });

  it.each([
    [{ status: 401, type: 'text/html', body: '<html>401</html>' }],
    [{ status: 303, type: 'text/html', body: '<html>see /login/</html>' }],
    [{ status: 200, type: 'text/html', body: '<form><input name="password" type="password"></form>' }],
  ])('wrong cabinet login (%j): an auth error that pauses the connector', async (answer) => {
    const s = await scripted({ '/info/settings/token/': [answer] });
    expect((await fail(s.client.checkCredentials())).outcome).toBe('auth');
    await s.close();
  });

  it.each([
    [{ status: 200, type: 'text/html', body: 'blabla' }, 'ответ не JSON'],
    [{ status: 200, type: 'text/html', body: '' }, 'пустой ответ'],
    [{ status: 502, type: 'text/html', body: '<html>502 Bad Gateway</html>' }, 'HTTP 502'],
  ])('a non-JSON answer (%j) is a retryable "PayKeeper недоступен", not a crash', async (answer, text) => {
    const s = await scripted({ '/info/invoice/byid/': [answer] });
    const e = await fail(s.client.byId('1'));
    expect(e.outcome).toBe('retry');
    expect(e.message).toContain(text);
    await s.close();
  });

  it('17-digit ids sent as JSON numbers stay exact strings', () => {
    expect(parseLossless('{"invoice_id":20261123101010123,"list":[20140402085214805, 5],"n":12}')).toEqual({ invoice_id: '20261123101010123', list: ['20140402085214805', 5], n: 12 });
  });
});

describe('what Sputnik sends PayKeeper', () => {
  it('amounts with a dot and two decimals, never through a float; expiry exclusive (the next day)', () => {
    expect(['1', '1.5', '1234.56', '0.1', '99999999999.99'].map(money)).toEqual(['1.00', '1.50', '1234.56', '0.10', '99999999999.99']);
    const f = previewFields({ order_id: 'A-1', amount: '10.5', email: 'a@b.ru', client_id: null, service_name: null, phone: null, expiry: '2026-12-31' } as never);
    expect(f).toEqual({ pay_amount: '10.50', orderid: 'A-1', client_email: 'a@b.ru', expiry: '2027-01-01' });
  });

  it('tracking checks fresh invoices often and old ones rarely, jittered', () => {
    const min = 60_000;
    const at = (age: number, r: number) => checkDelay(age, () => r);
    expect(at(0, 0.5)).toBe(30_000);
    expect(at(30 * min, 0.5)).toBe(2 * min);
    expect(at(5 * 60 * min, 0.5)).toBe(10 * min);
    expect(at(3 * 24 * 60 * min, 0.5)).toBe(60 * min);
    expect(at(30 * 24 * 60 * min, 0.5)).toBe(6 * 60 * min);
    expect(at(0, 0)).toBe(27_000);
    expect(at(0, 1)).toBe(33_000);
  });
});
