import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { sameSecret } from '../../main/listener/http-app.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { probeModule } from '../fixtures/probe-domain.ts';

/**
 * listener-api.md "Transport" and "Health": auth, DNS-rebinding and browser defences, limits,
 * the one error shape for every refusal, 503 when the store cannot take writes, OpenAPI/Swagger.
 * Real core, real sockets.
 */

interface Raw {
  label: string;
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

const seen: Raw[] = [];

function header(r: Raw, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}
const json = (r: Raw): any => JSON.parse(r.body.toString('utf8'));

/** One request on its own connection (Connection: close); the answer read until the server closes. */
function rawExchange(port: number, data: Buffer | Buffer[], host = '127.0.0.1'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ port, host }, async () => {
      for (const d of Array.isArray(data) ? data : [data]) {
        if (s.destroyed) break;
        s.write(d);
        if (Array.isArray(data)) await new Promise((r) => setTimeout(r, 5));
      }
    });
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no complete answer: ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`))), 10_000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {}); // EPIPE/ECONNRESET after the server answered early (413): the answer is what counts
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(all.toString('latin1'))}`));
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);
      const cl = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
      const body = all.subarray(end + 4, cl === undefined ? undefined : end + 4 + Number(cl));
      const label = (Array.isArray(data) ? data[0] : data).subarray(0, 80).toString('latin1').split('\r\n')[0];
      const r = { label, status, headers, body };
      seen.push(r);
      resolve(r);
    });
  });
}

interface Req {
  method?: string;
  target: string;
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** No automatic Host header. */
  noHost?: boolean;
  version?: string;
}


interface Probe {
  t: TestCore;
  port: number;
  token: string;
  build(r: Req): Buffer;
  raw(r: Req): Promise<Raw>;
  authed(r: Req): Promise<Raw>;
}

// Port 0 (startTestCore's default): the OS picks free ports at bind time, so parallel test files never race for one.
async function start(): Promise<Probe> {
  const t = await startTestCore({ modules: [probeModule] });
  const port = Number(new URL(t.listenerUrl).port);
  const p: Probe = {
    t,
    port,
    token: t.listenerToken,
    build(r) {
      const headers = [...(r.headers ?? [])];
      const has = (n: string) => headers.some(([k]) => k.toLowerCase() === n);
      if (!r.noHost && !has('host')) headers.unshift(['Host', `127.0.0.1:${port}`]);
      if (!has('connection')) headers.push(['Connection', 'close']);
      if (r.body !== undefined && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', String(Buffer.byteLength(r.body))]);
      return Buffer.concat([
        Buffer.from(`${r.method ?? 'GET'} ${r.target} ${r.version ?? 'HTTP/1.1'}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1'),
        r.body === undefined ? Buffer.alloc(0) : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body,
      ]);
    },
    raw: (r) => rawExchange(port, p.build(r)),
    authed: (r) => p.raw({ ...r, headers: [['Authorization', `Bearer ${t.listenerToken}`], ...(r.headers ?? [])] }),
  };
  return p;
}

function expectError(r: Raw, status: number, code: string): { code: string; message: string; field?: string } {
  expect(r.status, r.body.toString()).toBe(status);
  expect(header(r, 'Content-Type')).toBe('application/json; charset=utf-8');
  const body = json(r);
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'field'].includes(k))).toEqual([]);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/[А-Яа-яЁё]/);
  return body.error;
}

const echo = (p: Probe, body: string | Buffer, contentType = 'application/json') =>
  p.authed({ method: 'POST', target: '/v1/_probe/echo', headers: [['Content-Type', contentType]], body });

// Work taken from 1C (the core's scheduled housekeeping is a recurring job of its own, not counted).
const jobs = (p: Probe, where = '1 = 1') => p.t.core.store.sql.value<number>(`SELECT count(*) AS n FROM jobs WHERE kind <> 'recurring' AND (${where})`) ?? 0;

describe('token (Authorization: Bearer)', () => {
  it('missing or wrong token → 401 with the JSON error body and a Basic challenge', async () => {
    const p = await start();
    const wrong: Array<Array<[string, string]>> = [
      [],
      [['Authorization', 'Bearer']],
      [['Authorization', 'Bearer ']],
      [['Authorization', `Bearer ${p.token}x`]],
      [['Authorization', `Bearer ${p.token.slice(0, -1)}`]],
      [['Authorization', `Bearer ${p.token.toUpperCase() === p.token ? p.token.toLowerCase() : p.token.toUpperCase()}`]],
      [['Authorization', `Token ${p.token}`]],
      [['Authorization', p.token]],
      [['Authorization', `Basic ${Buffer.from(`user:${p.token}x`).toString('base64')}`]],
      [['X-Token', p.token]],
    ];
    for (const headers of wrong) {
      for (const [method, target, body] of [
        ['GET', '/v1/nothing', undefined],
        ['POST', '/v1/_probe/echo', '{"name": "x"}'],
        ['PUT', '/v1/_probe/items/k', '{"value": "x"}'],
      ] as const) {
        const r = await p.raw({ method, target, headers: [...headers, ['Content-Type', 'application/json']], body });
        const e = expectError(r, 401, 'unauthorized');
        expect(e.message).toContain('Authorization: Bearer');
        expect(header(r, 'WWW-Authenticate')).toMatch(/^Basic realm=/);
      }
    }
    // a token in the query string is not a credential
    expectError(await p.raw({ target: `/v1/_probe/items/k?token=${p.token}`, method: 'PUT', body: '{}', headers: [['Content-Type', 'application/json']] }), 401, 'unauthorized');
    expect(jobs(p)).toBe(0);
  });

  it('the correct token is accepted (any scheme case, surrounding spaces)', async () => {
    const p = await start();
    for (const value of [`Bearer ${p.token}`, `bearer ${p.token}`, `BEARER   ${p.token}  `]) {
      const r = await p.raw({ method: 'POST', target: '/v1/_probe/echo', headers: [['Authorization', value], ['Content-Type', 'application/json']], body: '{"name": "ок"}' });
      expect(r.status, value).toBe(200);
      expect(json(r)).toEqual({ parsed: { name: 'ок' } });
    }
  });

  it('sameSecret: equal only for the identical string (byte for byte; Cyrillic too)', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('ab', 'abc')).toBe(false);
    expect(sameSecret('abcd', 'abc')).toBe(false);
    expect(sameSecret('', 'abc')).toBe(false);
    expect(sameSecret('x'.repeat(10_000), 'x'.repeat(10_000))).toBe(true);
    expect(sameSecret('токен', 'токен')).toBe(true);
    expect(sameSecret('токеН', 'токен')).toBe(false);
  });
});

describe('health', () => {
  it('without a token (or with a wrong one): only status and version', async () => {
    const p = await start();
    for (const headers of [[], [['Authorization', 'Bearer wrong']]] as Array<Array<[string, string]>>) {
      const r = await p.raw({ target: '/v1/health', headers });
      expect(r.status).toBe(200);
      expect(json(r)).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    }
  });

  it('with the token: every connector state and the queue', async () => {
    const p = await start();
    expect((await p.authed({ method: 'PUT', target: '/v1/_probe/items/h1', headers: [['Content-Type', 'application/json']], body: '{"value": "1"}' })).status).toBe(202);
    const r = await p.authed({ target: '/v1/health' });
    expect(r.status).toBe(200);
    const h = json(r);
    expect(h.status).toBe('ok');
    expect(Object.keys(h.connectors).sort()).toEqual(['docpart', 'passteam', 'paykeeper']);
    for (const c of Object.values(h.connectors) as Array<{ state: string }>) expect(['disabled', 'ok', 'failing', 'paused']).toContain(c.state);
    expect(h.connectors.passteam).toEqual({ state: 'disabled', lastError: null, since: null });
    expect(h.queue.depth).toBe(1);
    expect(h.queue.oldestAgeSeconds).toBeTypeOf('number');
    // internal fields of the core's health never leak into the 1C answer
    expect(h).not.toHaveProperty('listener');
  });
});

describe('Host header (DNS rebinding)', () => {
  it('a foreign Host → 403 host_not_allowed, even with the right token, on every path', async () => {
    const p = await start();
    for (const host of ['evil.com', `evil.com:${p.port}`, 'localhost.evil.com', `127.0.0.1.nip.io:${p.port}`, '127.0.0.2', `[::2]:${p.port}`, '10.0.0.5']) {
      for (const target of ['/v1/health', '/v1/_probe/items/k', '/v1/openapi.json', '/docs']) {
        const r = await p.authed({ target, headers: [['Host', host]] });
        const e = expectError(r, 403, 'host_not_allowed');
        expect(e.field).toBe('Host');
      }
    }
  });

  it('localhost, 127.0.0.1 and [::1] with and without port (any case) are fine; no Host at all (HTTP/1.0) too', async () => {
    const p = await start();
    for (const host of ['localhost', `localhost:${p.port}`, 'LOCALHOST', '127.0.0.1', `127.0.0.1:${p.port}`, '[::1]', `[::1]:${p.port}`]) {
      const r = await p.authed({ target: '/v1/health', headers: [['Host', host]] });
      expect(r.status, host).toBe(200);
    }
    expect((await p.raw({ target: '/v1/health', version: 'HTTP/1.0', noHost: true })).status).toBe(200);
  });
});

describe('browsers', () => {
  it('a browser preflight (OPTIONS) → 403, with or without Origin', async () => {
    const p = await start();
    for (const headers of [
      [['Origin', 'http://evil.example'], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Headers', 'authorization, content-type']],
      [['Origin', `http://127.0.0.1:${p.port}`], ['Access-Control-Request-Method', 'PUT']],
      [],
    ] as Array<Array<[string, string]>>) {
      for (const target of ['/v1/_probe/echo', '/v1/health', '/v1/nothing']) expectError(await p.raw({ method: 'OPTIONS', target, headers }), 403, 'cors_refused');
    }
  });

  it('a foreign Origin → 403, even with the token; a same-origin one is fine', async () => {
    const p = await start();
    for (const origin of ['http://evil.example', `http://evil.example:${p.port}`, 'null', 'https://127.0.0.1', `http://127.0.0.1:${p.port + 1}`, 'file://']) {
      expectError(await p.authed({ target: '/v1/health', headers: [['Origin', origin]] }), 403, 'cors_refused');
      const post = await p.authed({ method: 'POST', target: '/v1/_probe/echo', headers: [['Origin', origin], ['Content-Type', 'text/plain']], body: '{"name": "x"}' });
      expectError(post, 403, 'cors_refused');
    }
    for (const origin of [`http://127.0.0.1:${p.port}`, `http://localhost:${p.port}`]) {
      expect((await p.authed({ target: '/v1/health', headers: [['Origin', origin]] })).status, origin).toBe(200);
    }
  });
});

describe('limits', () => {
  it('a body over 1 MiB → 413, announced by Content-Length; nothing is accepted', async () => {
    const p = await start();
    const body = Buffer.concat([Buffer.from('{"value": "'), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('"}')]);
    const r = await p.authed({ method: 'PUT', target: '/v1/_probe/items/big', headers: [['Content-Type', 'application/json']], body });
    expect(expectError(r, 413, 'payload_too_large').message).toMatch(/1 МБ/);
    // exactly at the limit is still read (and then refused by the schema, not by size)
    const atLimit = Buffer.concat([Buffer.from('{"name": "'), Buffer.alloc(1024 * 1024 - 13, 0x61), Buffer.from('"}')]);
    expect(atLimit.length).toBe(1024 * 1024 - 1);
    expect((await echo(p, atLimit)).status).toBe(422);
    expect(jobs(p)).toBe(0);
  });

  it('a body over 1 MiB → 413 with a chunked upload (no Content-Length); nothing is accepted', async () => {
    const p = await start();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const parts: Buffer[] = [
      p.build({ method: 'PUT', target: '/v1/_probe/items/chunked', headers: [['Authorization', `Bearer ${p.token}`], ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']] }),
      Buffer.from('b\r\n{"value": "\r\n'),
    ];
    for (let i = 0; i < 20; i++) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    parts.push(Buffer.from('2\r\n"}\r\n0\r\n\r\n'));
    const r = await rawExchange(p.port, parts);
    expectError(r, 413, 'payload_too_large');
    expect(jobs(p)).toBe(0);
    // a small chunked upload is fine
    const small = ['{"val', 'ue": "о', 'к"}'].map((part) => Buffer.from(part, 'utf8'));
    const ok = await rawExchange(p.port, [
      p.build({ method: 'PUT', target: '/v1/_probe/items/small', headers: [['Authorization', `Bearer ${p.token}`], ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']] }),
      ...small.map((b) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')])),
      Buffer.from('0\r\n\r\n'),
    ]);
    expect(ok.status).toBe(202);
    expect(jobs(p, `key = 'item:small'`)).toBe(1);
  });

  it('a URL over 8 KiB → 414 JSON (caught by the router, and by the HTTP parser when it is huge)', async () => {
    const p = await start();
    for (const length of [8200, 12_000, 20_000, 70_000]) {
      const r = await p.authed({ target: `/v1/_probe/items/${'k'.repeat(length)}` });
      expect(expectError(r, 414, 'uri_too_long').message, String(length)).toMatch(/8192/);
    }
    for (const length of [8200, 20_000]) expectError(await p.authed({ target: `/v1/health?pad=${'q'.repeat(length)}` }), 414, 'uri_too_long');
    // just under the limit is routed normally
    expect((await p.authed({ target: `/v1/health?pad=${'q'.repeat(8000)}` })).status).toBe(200);
  });

  it('a path segment the router refuses (over 500 characters, a broken %-escape) → the same JSON error shape, not the framework’s', async () => {
    const p = await start();
    const long = await p.authed({ method: 'PUT', target: `/v1/_probe/items/${'k'.repeat(501)}`, headers: [['Content-Type', 'application/json']], body: '{}' });
    expect(expectError(long, 414, 'uri_too_long').message).toMatch(/500/);
    expect(long.body.toString()).not.toContain('kkkkk');
    for (const target of ['/v1/_probe/items/%E0%A4%A', '/v1/_probe/items/%zz']) {
      expectError(await p.authed({ method: 'PUT', target, headers: [['Content-Type', 'application/json']], body: '{}' }), 400, 'malformed_request');
    }
    // 101–500 characters reach the route and its schema names the field
    expect(expectError(await p.authed({ method: 'PUT', target: `/v1/_probe/items/${'k'.repeat(101)}`, headers: [['Content-Type', 'application/json']], body: '{}' }), 422, 'invalid_value').field).toBe('key');
    expect(jobs(p)).toBe(0);
  });

  it('headers over 16 KiB → 431 JSON', async () => {
    const p = await start();
    for (const headers of [[['X-Big', 'b'.repeat(17_000)]], Array.from({ length: 40 }, (_, i) => [`X-H${i}`, 'h'.repeat(500)])] as Array<Array<[string, string]>>) {
      expectError(await p.authed({ target: '/v1/health', headers }), 431, 'headers_too_large');
    }
  });
});

describe('refusals with the one error shape', () => {
  it('malformed JSON → 400 malformed_json', async () => {
    const p = await start();
    for (const bad of ['{', '{"name": }', '[1,]', '{"name" "x"}', 'нечто', '{"name": "x"} мусор', "{'name': 'x'}"]) {
      const e = expectError(await echo(p, bad), 400, 'malformed_json');
      expect(e.message, bad).toMatch(/JSON/);
    }
  });

  it('a malformed form → a 4xx that names the problem, never a 500', async () => {
    const p = await start();
    const form = 'application/x-www-form-urlencoded';
    // declared UTF-8, bytes are not
    expectError(await echo(p, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3d, 0xc8, 0xe2]), `${form}; charset=utf-8`), 400, 'invalid_encoding');
    // broken brackets: a key that does not exist
    expect(expectError(await echo(p, 'holder[name=Иван', form), 422, 'invalid_value').field).toBe('holder.[name');
    // a scalar where a list is expected, a nested key where a number is expected
    expect(expectError(await echo(p, 'items=abc', form), 422, 'invalid_value').field).toBe('items');
    expect(expectError(await echo(p, 'amount[x]=1', form), 422, 'invalid_value').field).toBe('amount');
    expect(expectError(await echo(p, 'amount=1%2C5%2C6', form), 422, 'invalid_value').field).toBe('amount');
  });

  it('an unknown route → 404 not_found (with the token); without the token /v1/* says 401 first', async () => {
    const p = await start();
    for (const target of ['/v1/nothing', '/v1/_probe', '/v1/_probe/echo/extra', '/v2/health', '/']) {
      expect(expectError(await p.authed({ target }), 404, 'not_found').message, target).toMatch(/\/docs/);
    }
    expectError(await p.raw({ target: '/v1/nothing' }), 401, 'unauthorized');
  });

  it('a wrong method → 405 with Allow', async () => {
    const p = await start();
    const get = await p.authed({ target: '/v1/_probe/echo' });
    expectError(get, 405, 'method_not_allowed');
    expect(header(get, 'Allow')).toBe('POST');
    const post = await p.authed({ method: 'POST', target: '/v1/health', headers: [['Content-Type', 'application/json']], body: '{}' });
    expectError(post, 405, 'method_not_allowed');
    expect(header(post, 'Allow')?.split(/,\s*/)).toContain('GET');
    const del = await p.authed({ method: 'DELETE', target: '/v1/_probe/items/k' });
    expectError(del, 405, 'method_not_allowed');
    expect(header(del, 'Allow')).toBe('PUT');
  });

  it('a validation error → 422 invalid_value with field naming the path and a Russian message', async () => {
    const p = await start();
    const items = [{ amount: '1' }, { amount: '2,5' }, { amount: 3 }, { amount: 'много' }];
    const e = expectError(await echo(p, JSON.stringify({ items })), 422, 'invalid_value');
    expect(e.field).toBe('items[3].amount');
    expect(e.message).toBe('Поле «items[3].amount»: «много» — не число (пример: 1234,56 или 1 234.56)');
    // the same from a PHP-style form
    const f = expectError(await echo(p, 'items[0][amount]=1&items[1][amount]=2&items[2][amount]=3&items[3][amount]=abc', 'application/x-www-form-urlencoded'), 422, 'invalid_value');
    expect(f.field).toBe('items[3].amount');
    // several problems: the first is named, the others are counted
    const many = expectError(await echo(p, JSON.stringify({ money: '0', birthday: '31.02.2024', typo: 1 })), 422, 'invalid_value');
    expect(many.message).toMatch(/и ещё 2 пол/);
    // an unknown field (a typo) and a wrong type are named too
    expect(expectError(await echo(p, '{"nmae": "x"}'), 422, 'invalid_value').field).toBe('nmae');
    const type = expectError(await echo(p, '{"holder": "Иванов"}'), 422, 'invalid_value');
    expect(type.field).toBe('holder');
    expect(type.message).toMatch(/ожидалось объект/);
    expect(expectError(await echo(p, '{"money": "100,031"}'), 422, 'invalid_value').message).toMatch(/не больше 2 знаков/);
  });

  it('503 store_unavailable when the store cannot take writes (disk full), and nothing was written', async () => {
    const p = await start();
    const { sql } = p.t.core.store;
    // the disk is "full": the core's connection may not grow the file, and the pages it has are filled up
    sql.exec(`PRAGMA max_page_count = ${sql.value<number>('PRAGMA page_count')}`);
    const fill = `INSERT INTO jobs (connector, kind, key, payload, state, next_run_at, created_at, updated_at) VALUES ('filler', 'filler', ?, ?, 'done', 0, 0, 0)`;
    for (const size of [3000, 1000, 200, 40, 1]) {
      for (let i = 0; ; i++) {
        try {
          sql.run(fill, `filler:${size}:${i}`, 'x'.repeat(size));
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_FULL') break;
          throw error;
        }
      }
    }
    const before = jobs(p);
    const r = await p.authed({ method: 'PUT', target: '/v1/_probe/items/x', headers: [['Content-Type', 'application/json']], body: '{"value": "не примется"}' });
    const e = expectError(r, 503, 'store_unavailable');
    expect(e.message).toMatch(/не принят/);
    expect(jobs(p, `key = 'item:x'`)).toBe(0);
    expect(jobs(p)).toBe(before);
    // room again: the same call is accepted
    sql.exec('PRAGMA max_page_count = 1073741823');
    expect((await p.authed({ method: 'PUT', target: '/v1/_probe/items/x', headers: [['Content-Type', 'application/json']], body: '{"value": "теперь"}' })).status).toBe(202);
    expect(jobs(p, `key = 'item:x'`)).toBe(1);
  });
});

describe('OpenAPI and Swagger UI', () => {
  it('/v1/openapi.json is OpenAPI 3.1 with the probe routes’ request schemas generated from zod', async () => {
    const p = await start();
    const r = await p.raw({ target: '/v1/openapi.json' });
    expect(r.status).toBe(200);
    expect(header(r, 'Content-Type')).toBe('application/json; charset=utf-8');
    const doc = json(r);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const echoSchema = doc.paths['/v1/_probe/echo'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(echoSchema.properties).sort()).toEqual(['amount', 'at', 'birthday', 'count', 'flag', 'holder', 'items', 'money', 'name'].sort());
    expect(echoSchema.additionalProperties).toBe(false);
    expect(echoSchema.properties.amount.description).toMatch(/1 234,56/);
    expect(echoSchema.properties.birthday.description).toMatch(/0001-01-01T00:00:00/);
    expect(echoSchema.properties.holder.properties).toHaveProperty('phone');
    expect(echoSchema.properties.items.type).toBe('array');
    expect(echoSchema.properties.items.maxItems).toBe(1000);
    expect(echoSchema.properties.items.items.properties).toHaveProperty('amount');
    const put = doc.paths['/v1/_probe/items/{key}'].put;
    expect(put.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'key', in: 'path', required: true })]));
    expect(doc.paths['/v1/health'].get.responses['200'].content['application/json'].schema.properties.status.enum).toEqual(['ok', 'degraded']);
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
    expect(doc.paths).not.toHaveProperty('/v1/openapi.json');
  });

  it('/docs serves the Swagger UI HTML', async () => {
    const p = await start();
    const r = await p.raw({ target: '/docs' });
    expect(r.status).toBe(200);
    expect(header(r, 'Content-Type')).toMatch(/^text\/html/);
    const html = r.body.toString('utf8');
    expect(html).toMatch(/<html/i);
    expect(html).toMatch(/swagger-ui/i);
  });
});

describe('never any CORS headers', () => {
  it('no Access-Control-* header in any answer of this file (plus a browser-like batch)', async () => {
    const p = await start();
    const origin: [string, string] = ['Origin', `http://127.0.0.1:${p.port}`];
    await p.authed({ target: '/v1/health', headers: [origin] });
    await p.authed({ method: 'POST', target: '/v1/_probe/echo', headers: [origin, ['Content-Type', 'application/json']], body: '{"name": "x"}' });
    await p.raw({ method: 'OPTIONS', target: '/v1/_probe/echo', headers: [origin, ['Access-Control-Request-Method', 'POST']] });
    await p.raw({ target: '/v1/openapi.json', headers: [origin] });
    await p.raw({ target: '/docs', headers: [origin] });
    expect(seen.length).toBeGreaterThan(50);
    for (const r of seen) {
      expect(r.headers.filter(([n]) => /^access-control-/i.test(n)), r.label).toEqual([]);
      expect(header(r, 'Vary') ?? '', r.label).not.toMatch(/origin/i);
    }
  });
});
