import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ModuleFactory } from '../../main/core/module.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { probeModule } from '../fixtures/probe-domain.ts';

/**
 * onec.md §7 — "what a localhost listener must tolerate from 1C clients", one `it` per checklist
 * line, over real sockets against the real core with the probe domain. Raw `node:net` sockets
 * where the exact bytes on the wire matter; fetch otherwise. Every response seen here is kept and
 * the response-side lines at the end sweep all of them.
 */

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over node:net

interface RawResponse {
  label: string;
  version: string;
  status: number;
  reason: string;
  /** As on the wire: names keep their casing, duplicates stay duplicates. */
  headers: Array<[string, string]>;
  body: Buffer;
  chunked: boolean;
  /** The request was HEAD (no body expected). */
  head: boolean;
  /** Body bytes the server sent beyond what Content-Length announced (must stay 0). */
  declaredLength: number | null;
}

const wire: RawResponse[] = [];
const fetched: Array<{ label: string; status: number; contentType: string | null; text: string }> = [];

function header(r: RawResponse, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}
function headerNames(r: RawResponse): string[] {
  return r.headers.map(([n]) => n);
}
function json(r: RawResponse): any {
  return JSON.parse(r.body.toString('utf8'));
}

function tryParse(buf: Buffer, head: boolean, closed: boolean, label: string): { res: RawResponse; used: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = lines.slice(1).map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  const status = Number(m[2]);
  const res: RawResponse = { label, version: m[1], status, reason: m[3], headers, body: Buffer.alloc(0), chunked: false, head, declaredLength: null };
  const start = end + 4;
  const te = res.headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1];
  const cl = res.headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  if (cl !== undefined) res.declaredLength = Number(cl);
  if ((status >= 100 && status < 200) || status === 204 || status === 304 || head) return { res, used: start };
  if (te && /chunked/i.test(te)) {
    res.chunked = true;
    let pos = start;
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (buf.length < lineEnd + 2 + size + 2) return null;
      if (size === 0) {
        res.body = Buffer.concat(parts);
        return { res, used: lineEnd + 4 };
      }
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  if (cl !== undefined) {
    const len = Number(cl);
    if (buf.length < start + len) return closed ? { res: { ...res, body: buf.subarray(start) }, used: buf.length } : null;
    res.body = buf.subarray(start, start + len);
    return { res, used: start + len };
  }
  if (!closed) return null;
  res.body = buf.subarray(start);
  return { res, used: buf.length };
}

class RawConn {
  readonly socket: net.Socket;
  buf = Buffer.alloc(0);
  closed = false;
  #wake: Array<() => void> = [];
  #sent: string[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    socket.on('error', () => {});
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.#sent.push(b.subarray(0, Math.max(0, b.indexOf('\r\n'))).toString('latin1').slice(0, 120));
    this.socket.write(b);
  }

  #wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms; got so far: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`)), timeoutMs);
      this.#wake.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next complete response on this connection. */
  async response(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const label = this.#sent[0] ?? '?';
      const r = tryParse(this.buf, opts.head ?? false, this.closed, label);
      if (r) {
        this.buf = this.buf.subarray(r.used);
        if (r.res.status >= 200) this.#sent.shift();
        wire.push(r.res);
        return r.res;
      }
      if (this.closed) throw new Error(`connection closed without a complete response: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      await this.#wait(Math.max(1, deadline - Date.now()));
    }
  }

  /**
   * Resolves true when the server closes the connection within the time: a deadline that only names
   * a close that never comes, generous for a loaded machine, no bound on its speed.
   */
  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#wait(left).catch(() => {});
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

interface Req {
  method?: string;
  target: string | Buffer;
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  version?: string;
  /** Adds nothing: no Host, no Connection, no Content-Length. */
  bare?: boolean;
  keepAlive?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The core under test

/** Only what these tests need to see; keys stay identifier-safe like every other response. */
const inspectModule: ModuleFactory = () => ({
  name: 'inspect',
  routes: (app) => {
    app.get('/v1/_inspect/:p', async (req) => ({
      p: (req.params as { p: string }).p,
      query: req.query as Record<string, unknown>,
      userAgent: req.headers['user-agent'] ?? null,
    }));
  },
});

const IPV6 = await new Promise<boolean>((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(0, '::1', () => s.close(() => resolve(true)));
});

interface Probe {
  t: TestCore;
  port: number;
  host: string;
  token: string;
  build(r: Req): Buffer;
  raw(r: Req, opts?: { timeoutMs?: number }): Promise<RawResponse>;
  conn(): Promise<RawConn>;
  echo(body: string | Buffer, headers?: Array<[string, string]>): Promise<RawResponse>;
  api(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string; json: any }>;
}

// Port 0 (startTestCore's default): the OS picks free ports at bind time, so parallel test files never race for one.
async function start(config: { listener?: Record<string, unknown> } = {}): Promise<Probe> {
  const host = (config.listener?.host as string | undefined) ?? '127.0.0.1';
  const t = await startTestCore({ modules: [probeModule, inspectModule], config: config as never });
  const port = Number(new URL(t.listenerUrl).port);
  const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const p: Probe = {
    t,
    port,
    host,
    token: t.listenerToken,
    build(r) {
      const headers = [...(r.headers ?? [])];
      const has = (n: string) => headers.some(([k]) => k.toLowerCase() === n);
      if (!r.bare) {
        if (!has('host')) headers.unshift(['Host', hostHeader]);
        if (!has('connection')) headers.push(['Connection', r.keepAlive ? 'keep-alive' : 'close']);
        if (r.body !== undefined && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', String(Buffer.byteLength(r.body))]);
      }
      const target = typeof r.target === 'string' ? Buffer.from(r.target, 'latin1') : r.target;
      return Buffer.concat([
        Buffer.from(`${r.method ?? 'GET'} `, 'latin1'),
        target,
        Buffer.from(` ${r.version ?? 'HTTP/1.1'}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1'),
        r.body === undefined ? Buffer.alloc(0) : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body,
      ]);
    },
    async raw(r, opts) {
      const c = await RawConn.open(port, host);
      try {
        c.write(p.build(r));
        return await c.response({ head: r.method === 'HEAD', timeoutMs: opts?.timeoutMs });
      } finally {
        c.destroy();
      }
    },
    conn: () => RawConn.open(port, host),
    echo(body, headers = [['Content-Type', 'application/json']]) {
      return p.raw({ method: 'POST', target: '/v1/_probe/echo', headers: [['Authorization', `Bearer ${t.listenerToken}`], ...headers], body });
    },
    async api(path, init) {
      const res = await t.api(path, init);
      const text = await res.text();
      fetched.push({ label: `${init?.method ?? 'GET'} ${path}`, status: res.status, contentType: res.headers.get('content-type'), text });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, headers: res.headers, text, json: body };
    },
  };
  return p;
}

const bearer = (p: Probe): [string, string] => ['Authorization', `Bearer ${p.token}`];
const basic = (user: Buffer | string, password: string) => Buffer.concat([typeof user === 'string' ? Buffer.from(user, 'utf8') : user, Buffer.from(`:${password}`)]).toString('base64');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const NBSP = '\u00a0';

function cp1251(text: string): Buffer {
  return Buffer.from(
    [...text].map((ch) => {
      const c = ch.codePointAt(0)!;
      if (c < 0x80) return c;
      if (c >= 0x410 && c <= 0x44f) return c - 0x410 + 0xc0;
      if (c === 0x401) return 0xa8;
      if (c === 0x451) return 0xb8;
      throw new Error(`no cp1251 byte for ${ch}`);
    }),
  );
}
function cp866(text: string): Buffer {
  return Buffer.from(
    [...text].map((ch) => {
      const c = ch.codePointAt(0)!;
      if (c < 0x80) return c;
      if (c >= 0x410 && c <= 0x43f) return c - 0x410 + 0x80;
      if (c >= 0x440 && c <= 0x44f) return c - 0x440 + 0xe0;
      throw new Error(`no cp866 byte for ${ch}`);
    }),
  );
}

function expectError(r: RawResponse, status: number, code: string): { code: string; message: string; field?: string } {
  expect(r.status, r.body.toString()).toBe(status);
  expect(header(r, 'content-type')).toBe('application/json; charset=utf-8');
  const body = json(r);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/[А-Яа-яЁё]/);
  return body.error;
}

async function jobsFor(p: Probe, key: string): Promise<number> {
  return p.t.core.store.sql.value<number>('SELECT count(*) AS n FROM jobs WHERE key = ?', `item:${key}`) ?? 0;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const NAME = 'Иванов Иван Иванович';

// ---------------------------------------------------------------------------------------------
// Request side

describe('§7 request side: accept all of these', () => {
  it('User-Agent: 1C+Enterprise/8.3 (or absent, or whatever the developer set); do not gate on it', async () => {
    const p = await start();
    for (const ua of ['1C+Enterprise/8.3', null, 'Mozilla/5.0 (Windows NT 10.0) обработка', 'curl/8.5.0']) {
      const headers: Array<[string, string]> = [bearer(p)];
      if (ua !== null) headers.push(['User-Agent', Buffer.from(ua, 'utf8').toString('latin1')]);
      const r = await p.raw({ target: '/v1/_inspect/ua', headers });
      expect(r.status).toBe(200);
      expect(json(r).userAgent === null).toBe(ua === null);
      const e = await p.echo(`{"name": "${NAME}"}`, [['Content-Type', 'application/json'], ...(ua ? ([['User-Agent', '1C+Enterprise/8.3']] as Array<[string, string]>) : [])]);
      expect(json(e)).toEqual({ parsed: { name: NAME } });
    }
  });

  it('Body starting with EF BB BF; strip exactly one leading BOM before JSON/form parsing', async () => {
    const p = await start();
    const jsonBody = Buffer.concat([BOM, Buffer.from(`{\n"name": "${NAME}",\n"count": 2\n}`)]);
    for (const ct of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']) {
      expect(json(await p.echo(jsonBody, [['Content-Type', ct]]))).toEqual({ parsed: { name: NAME, count: 2 } });
    }
    const form = Buffer.concat([BOM, Buffer.from('name=%D0%90%D0%B1&count=3')]);
    expect(json(await p.echo(form, [['Content-Type', 'application/x-www-form-urlencoded']]))).toEqual({ parsed: { name: 'Аб', count: 3 } });
    // a U+FEFF inside a value is data, not a BOM
    expect(json(await p.echo(Buffer.concat([BOM, Buffer.from('{"name": "a\uFEFFb"}')])))).toEqual({ parsed: { name: 'a\uFEFFb' } });
  });

  it('Body with no Content-Type, with text/plain, or application/json without charset', async () => {
    const p = await start();
    const body = `{"name": "${NAME}", "amount": "1${NBSP}234,56"}`;
    const want = { parsed: { name: NAME, amount: '1234.56' } };
    expect(json(await p.echo(body, []))).toEqual(want);
    expect(json(await p.echo(body, [['Content-Type', 'text/plain']]))).toEqual(want);
    expect(json(await p.echo(body, [['Content-Type', 'text/plain; charset=utf-8']]))).toEqual(want);
    expect(json(await p.echo(body, [['Content-Type', 'application/json']]))).toEqual(want);
    // a form without Content-Type is recognised too
    expect(json(await p.echo('name=x&holder[name]=y', []))).toEqual({ parsed: { name: 'x', holder: { name: 'y' } } });
    // no body and no Content-Type at all (Записать() without УстановитьТелоИзСтроки) where the body is optional
    for (const headers of [[bearer(p)], [bearer(p), ['Content-Length', '0']]] as Array<Array<[string, string]>>) {
      const put = await p.raw({ method: 'PUT', target: '/v1/_probe/items/no-body', headers });
      expect(put.status).toBe(202);
      expect(json(put)).toMatchObject({ key: 'no-body', state: 'queued' });
    }
    // where the body is required, an empty one is a clear 400
    expectError(await p.echo('', []), 400, 'empty_body');
  });

  it('charset=windows-1251 (ANSI) or cp866/ibm866 (OEM) bodies; decode by declared charset; if none and bytes are invalid UTF-8, try cp1251', async () => {
    const p = await start();
    const text = `{"name": "${NAME}", "holder": {"name": "Ёлкин Пётр"}}`;
    const want = { parsed: { name: NAME, holder: { name: 'Ёлкин Пётр' } } };
    expect(json(await p.echo(cp1251(text), [['Content-Type', 'application/json; charset=windows-1251']]))).toEqual(want);
    expect(json(await p.echo(cp1251(text), [['Content-Type', 'application/json; charset=cp1251']]))).toEqual(want);
    expect(json(await p.echo(cp1251(text), [['Content-Type', 'application/json']]))).toEqual(want); // no charset: guessed
    expect(json(await p.echo(cp1251(text), []))).toEqual(want); // no Content-Type at all
    const oem = `{"name": "${NAME}"}`;
    for (const cs of ['cp866', 'ibm866', 'IBM866']) {
      expect(json(await p.echo(cp866(oem), [['Content-Type', `application/json; charset=${cs}`]]))).toEqual({ parsed: { name: NAME } });
    }
    // a cp1251 percent-encoded form
    const pct = [...cp1251(NAME)].map((b) => '%' + b.toString(16).toUpperCase()).join('');
    expect(json(await p.echo(`name=${pct}`, [['Content-Type', 'application/x-www-form-urlencoded; charset=windows-1251']]))).toEqual({ parsed: { name: NAME } });
    // declared UTF-8 but the bytes are not: a clear 400, not mojibake
    expectError(await p.echo(cp1251(text), [['Content-Type', 'application/json; charset=utf-8']]), 400, 'invalid_encoding');
    // a charset Sputnik does not know: 415 naming Content-Type
    expect(expectError(await p.echo(text, [['Content-Type', 'application/json; charset=x-mac-cyrillic-old']]), 415, 'unsupported_charset').field).toBe('Content-Type');
  });

  it('UTF-16LE body with FF FE (someone passed КодировкаТекста.UTF16) — decode or reject with a clear 415: decoded', async () => {
    const p = await start();
    const text = `{\r\n"name": "${NAME}",\r\n"flag": "Да"\r\n}`;
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const want = { parsed: { name: NAME, flag: true } };
    expect(json(await p.echo(utf16, [['Content-Type', 'application/json']]))).toEqual(want);
    expect(json(await p.echo(utf16, [['Content-Type', 'application/json; charset=utf-8']]))).toEqual(want);
    expect(json(await p.echo(utf16, []))).toEqual(want);
    expect(json(await p.echo(Buffer.from(text, 'utf16le'), [['Content-Type', 'application/json; charset=utf-16le']]))).toEqual(want);
  });

  it('JSON with CR LF or LF between every token, \\u0009 instead of \\t, raw Cyrillic, no \\/', async () => {
    const p = await start();
    // what ЗаписьJSON writes with ПереносСтрокJSON.Windows (JSON.WRITE.BREAK_WINDOWS) and default escapes (JSON.WRITE.ESCAPES)
    const crlf = '{\r\n"name": "Ёж\\u0009и/или \\"кавычки\\"",\r\n"holder": {\r\n"name": "Иван"\r\n},\r\n"items": [\r\n{\r\n"amount": 1.5\r\n},\r\n{\r\n"amount": "2,5"\r\n}\r\n],\r\n"flag": true\r\n}';
    const want = { parsed: { name: 'Ёж\tи/или "кавычки"', holder: { name: 'Иван' }, items: [{ amount: '1.5' }, { amount: '2.5' }], flag: true } };
    expect(json(await p.echo(crlf))).toEqual(want);
    expect(json(await p.echo(crlf.replace(/\r\n/g, '\n')))).toEqual(want);
    // JSON.WRITE.ESCAPES measured bytes as a value: "\"\\/\n\u0009Ёж\u0001"
    const escapes = Buffer.from('225c225c5c2f5c6e5c7530303039d081d0b65c753030303122', 'hex');
    const r = await p.echo(Buffer.concat([Buffer.from('{\n"name": '), escapes, Buffer.from('\n}')]));
    expect(json(r)).toEqual({ parsed: { name: '"\\/\n\tЁж\u0001' } });
  });

  it('JSON numbers with up to 27 fractional digits (any division result) and long integers — parse losslessly', async () => {
    const p = await start();
    for (const [sent, want] of [
      ['0.333333333333333333333333333', '0.333333333333333333333333333'], // JSON.WRITE.NUMBERS / NUM.DIV.THIRD
      ['0.666666666666666666666666667', '0.666666666666666666666666667'], // NUM.DIV.TWO_THIRDS
      ['3.333333333333333333333333333', '3.333333333333333333333333333'], // NUM.DIV.TEN_THIRDS
      ['1000000000000000000000000000000', '1000000000000000000000000000000'], // NUM.POW.TEN_TO_30
      ['12345678901234567890.12', '12345678901234567890.12'],
      ['-2', '-2'],
      ['1.5', '1.5'],
      ['100.03', '100.03'],
      ['1e3', '1000'],
    ]) {
      const r = await p.echo(`{"amount": ${sent}}`);
      expect(json(r), sent).toEqual({ parsed: { amount: want } });
      // and the response carries it as the exact decimal text, not a rounded double
      expect(r.body.toString()).toContain(`"${want}"`);
    }
  });

  it('Duplicate JSON keys ({"х":1,"х":2}) — define a rule (reject or last-wins) and test it: the last one wins', async () => {
    const p = await start();
    expect(json(await p.echo('{"name": "первое", "name": "второе"}'))).toEqual({ parsed: { name: 'второе' } });
    expect(json(await p.echo('{"holder": {"name": "a", "name": "b"}, "count": 1, "count": 2}'))).toEqual({ parsed: { holder: { name: 'b' }, count: 2 } });
    expect(json(await p.echo('name=a&name=b', [['Content-Type', 'application/x-www-form-urlencoded']]))).toEqual({ parsed: { name: 'b' } });
  });

  it('Dates as "2024-03-04T05:06:07" (no zone = client local time), "0001-01-01T00:00:00" as "empty", occasionally …Z, ±hh:mm, /Date(ms)/, new Date(ms)', async () => {
    const p = await start();
    for (const [sent, at, birthday] of [
      ['2024-03-04T05:06:07', '2024-03-04T05:06:07', '2024-03-04'],
      ['0001-01-01T00:00:00', null, null],
      ['2014-05-10T09:14:15Z', '2014-05-10T09:14:15Z', '2014-05-10'],
      ['2014-05-10T13:14:15+04:00', '2014-05-10T13:14:15+04:00', '2014-05-10'],
      ['/Date(1399713255000)/', '2014-05-10T09:14:15Z', '2014-05-10'],
      ['new Date(1399713255000)', '2014-05-10T09:14:15Z', '2014-05-10'],
    ]) {
      expect(json(await p.echo(JSON.stringify({ at: sent, birthday: sent }))), String(sent)).toEqual({ parsed: { at, birthday } });
    }
  });

  it('Numbers sent as strings built with Строка()/Формат(): NBSP (U+00A0) group separators, comma decimal (1 000,5), and empty string for zero from Формат(0)', async () => {
    const p = await start();
    // FMT.NUMBER.DEFAULT bytes 31 c2a0 303030 2c 35 = Строка(1000.5)
    const platform = Buffer.from('31c2a03030302c35', 'hex').toString('utf8');
    expect(json(await p.echo(JSON.stringify({ amount: platform, money: `1${NBSP}234,56`, count: `7${NBSP}500` })))).toEqual({
      parsed: { amount: '1000.5', money: '1234.56', count: 7500 },
    });
    expect(json(await p.echo(JSON.stringify({ amount: `1\u202f000\u202f000,25` })))).toEqual({ parsed: { amount: '1000000.25' } });
    // Формат(0) = "": 0 where the schema documents it (count), refused elsewhere with the field named
    expect(json(await p.echo('{"count": ""}'))).toEqual({ parsed: { count: 0 } });
    const e = expectError(await p.echo('{"amount": ""}'), 422, 'invalid_value');
    expect(e.field).toBe('amount');
    expect(e.message).toMatch(/amount.*не число/);
    // the same in a form (values are always text there)
    expect(json(await p.echo(`amount=1${encodeURIComponent(NBSP)}000,5&count=`, [['Content-Type', 'application/x-www-form-urlencoded']]))).toEqual({
      parsed: { amount: '1000.5', count: 0 },
    });
  });

  it('Dates as display strings: 04.03.2024 5:06:07 (unpadded hour), 15.01.2024', async () => {
    const p = await start();
    expect(json(await p.echo('{"at": "04.03.2024 5:06:07", "birthday": "15.01.2024"}'))).toEqual({ parsed: { at: '2024-03-04T05:06:07', birthday: '2024-01-15' } });
    expect(json(await p.echo('{"at": "01.01.0001 0:00:00"}'))).toEqual({ parsed: { at: null } });
    const e = expectError(await p.echo('{"birthday": "31.02.2024"}'), 422, 'invalid_value');
    expect(e.field).toBe('birthday');
    expect(e.message).toContain('«31.02.2024» — не дата');
  });

  it('Authorization: Basic whose base64 contains CR LF (from Base64Строка) — tolerated: whitespace inside the token is stripped; raw CR LF the HTTP parser refuses with an explanatory 400', async () => {
    const p = await start();
    // long Cyrillic user name: Base64Строка() would break this after 76 characters
    const b64 = basic('Администратор информационной базы Розница', p.token);
    expect(b64.length).toBeGreaterThan(76);
    for (const broken of [`${b64.slice(0, 76)} ${b64.slice(76)}`, `${b64.slice(0, 76)}\t${b64.slice(76)}`, `${b64.slice(0, 30)}  ${b64.slice(30, 76)} ${b64.slice(76)}`]) {
      const r = await p.raw({ target: '/v1/_inspect/basic', headers: [['Authorization', `Basic ${broken}`]] });
      expect(r.status, broken).toBe(200);
    }
    // CR LF as Base64Строка() puts it (bare, or as an obs-fold continuation): Node's parser refuses the header
    for (const sep of ['\r\n', '\r\n ']) {
      const r = await p.raw({ target: '/v1/_inspect/basic', headers: [['Authorization', `Basic ${b64.slice(0, 76)}${sep}${b64.slice(76)}`]] });
      const e = expectError(r, 400, 'malformed_request');
      expect(e.message).toMatch(/Base64Строка/);
      expect(e.message).toMatch(/Символы\.ВК/);
    }
    // the token as the Basic password (HTTPСоединение(…, Пользователь, Пароль)) or as the whole credential
    expect((await p.raw({ target: '/v1/_inspect/b', headers: [['Authorization', `Basic ${basic('1c', p.token)}`]] })).status).toBe(200);
    expect((await p.raw({ target: '/v1/_inspect/b', headers: [['Authorization', `Basic ${basic('', p.token)}`]] })).status).toBe(200);
    expect((await p.raw({ target: '/v1/_inspect/b', headers: [['Authorization', `Basic ${Buffer.from(p.token).toString('base64')}`]] })).status).toBe(200);
    expectError(await p.raw({ target: '/v1/_inspect/b', headers: [['Authorization', `Basic ${basic('1c', p.token + 'x')}`]] }), 401, 'unauthorized');
  });

  it('Basic credentials with Cyrillic encoded as UTF-8 (and possibly cp1251)', async () => {
    const p = await start();
    for (const user of [Buffer.from('Кассир Пётр', 'utf8'), cp1251('Кассир Пётр')]) {
      const r = await p.raw({ target: '/v1/_inspect/cyr', headers: [['Authorization', `Basic ${basic(user, p.token)}`]] });
      expect(r.status).toBe(200);
    }
  });

  it('A client that sends credentials only after a challenge: 401 with WWW-Authenticate: Basic realm="…", and the retry is accepted on the same or a new socket', async () => {
    const p = await start();
    const c = await p.conn();
    try {
      c.write(p.build({ target: '/v1/_inspect/challenge', keepAlive: true }));
      const first = await c.response();
      expectError(first, 401, 'unauthorized');
      expect(first.headers.filter(([n]) => n === 'WWW-Authenticate')).toHaveLength(1);
      expect(header(first, 'WWW-Authenticate')).toMatch(/^Basic realm="[^"]+"/);
      expect(header(first, 'connection')?.toLowerCase()).not.toBe('close');
      c.write(p.build({ target: '/v1/_inspect/challenge', keepAlive: true, headers: [['Authorization', `Basic ${basic('Пользователь', p.token)}`]] }));
      expect((await c.response()).status).toBe(200);
    } finally {
      c.destroy();
    }
    expect((await p.raw({ target: '/v1/_inspect/challenge', headers: [['Authorization', `Basic ${basic('Пользователь', p.token)}`]] })).status).toBe(200);
  });

  it('Header names in any case; duplicated headers', async () => {
    const p = await start();
    const body = cp1251(`{"name": "${NAME}"}`);
    const r = await p.raw({
      method: 'POST',
      target: '/v1/_probe/echo',
      bare: true,
      headers: [
        ['hOsT', `LOCALHOST:${p.port}`],
        ['AUTHORIZATION', `bearer ${p.token}`],
        ['CONTENT-TYPE', 'Application/JSON; Charset=WINDOWS-1251'],
        ['user-agent', '1C+Enterprise/8.3'],
        ['content-LENGTH', String(body.length)],
        ['CONNECTION', 'close'],
      ],
      body,
    });
    expect(json(r)).toEqual({ parsed: { name: NAME } });
    // the same header twice, as a case-sensitive Соответствие of 1C can send it ("Content-Type" and "content-type")
    const dup = await p.raw({
      method: 'POST',
      target: '/v1/_probe/echo',
      headers: [
        ['Authorization', `Bearer ${p.token}`],
        ['authorization', `Bearer ${p.token}`],
        ['Content-Type', 'application/json; charset=utf-8'],
        ['content-type', 'application/json; charset=utf-8'],
        ['Accept', '*/*'],
        ['accept', 'application/json'],
        ['X-Request-Source', '1'],
        ['x-request-source', '2'],
        ['User-Agent', '1C+Enterprise/8.3'],
        ['User-Agent', '1C+Enterprise/8.3'],
      ],
      body: `{"name": "${NAME}"}`,
    });
    expect(json(dup)).toEqual({ parsed: { name: NAME } });
  });

  it('Query strings percent-encoded with uppercase hex from КодироватьСтроку; possibly raw UTF-8 bytes in the request target (refused by the HTTP parser with an explanatory 400)', async () => {
    const p = await start();
    // КодироватьСтроку("Иван И.", КодировкаURL) → %D0%98%D0%B2%D0%B0%D0%BD%20%D0%98.
    const r = await p.raw({ target: '/v1/_inspect/%D0%9A%D0%BE%D0%B4-1?name=%D0%98%D0%B2%D0%B0%D0%BD%20%D0%98.&wait=5&lower=%d0%b0&plus=a+b&sign=%2B7', headers: [bearer(p)] });
    expect(json(r)).toEqual({ p: 'Код-1', query: { name: 'Иван И.', wait: '5', lower: 'а', plus: 'a b', sign: '+7' }, userAgent: null });
    // a path parameter that reaches the store
    const put = await p.raw({ method: 'PUT', target: '/v1/_probe/items/%D0%9A%D0%BE%D0%B4-%D0%BA%D0%B0%D1%80%D1%82%D1%8B%207', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{}' });
    expect(put.status).toBe(202);
    expect(json(put).key).toBe('Код-карты 7');
    // raw UTF-8 bytes (АдресРесурса with Cyrillic typed in): Node's HTTP parser refuses them before any handler
    for (const target of [Buffer.from('/v1/_inspect/Код', 'utf8'), Buffer.concat([Buffer.from('/v1/_inspect/x?name='), Buffer.from('Иван', 'utf8')])]) {
      const e = expectError(await p.raw({ target, headers: [bearer(p)] }), 400, 'malformed_request');
      expect(e.message).toMatch(/КодироватьСтроку/);
    }
  });

  it('Expect: 100-continue on large POSTs (Node answers automatically unless a checkContinue handler is installed)', async () => {
    const p = await start();
    const items = Array.from({ length: 1000 }, (_, i) => ({ amount: `${i}${NBSP}000,${i % 100}`, name: `Позиция номер ${i} — ${'ж'.repeat(40)}` }));
    const body = Buffer.from(JSON.stringify({ name: NAME, items }), 'utf8');
    expect(body.length).toBeGreaterThan(100_000);
    const c = await p.conn();
    try {
      c.write(p.build({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json'], ['Expect', '100-continue'], ['Content-Length', String(body.length)]] }));
      const interim = await c.response();
      expect(interim.status).toBe(100);
      expect(interim.version).toBe('HTTP/1.1');
      c.write(body);
      const r = await c.response();
      expect(r.status).toBe(200);
      const parsed = json(r).parsed;
      expect(parsed.items).toHaveLength(1000);
      expect(parsed.items[999]).toEqual({ amount: '999000.99', name: `Позиция номер 999 — ${'ж'.repeat(40)}` });
    } finally {
      c.destroy();
    }
  });

  it('Any method via ВызватьHTTPМетод (PATCH, custom verbs) and HEAD from ПолучитьЗаголовки', async () => {
    const p = await start();
    for (const method of ['PATCH', 'PURGE', 'MERGE', 'PROPFIND', 'DELETE', 'TRACE']) {
      const r = await p.raw({ method, target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{}' });
      const e = expectError(r, 405, 'method_not_allowed');
      expect(header(r, 'Allow'), method).toBe('POST');
      expect(e.message).toContain(method);
    }
    // a verb Node's HTTP parser does not know at all
    const foo = await p.raw({ method: 'FOO', target: '/v1/_probe/echo', headers: [bearer(p)] });
    expect(expectError(foo, 405, 'method_not_allowed').message).toContain('FOO');
    // HEAD: the GET headers, exact Content-Length, no body
    const get = await p.raw({ target: '/v1/health' });
    const head = await p.raw({ method: 'HEAD', target: '/v1/health' });
    expect(head.status).toBe(200);
    expect(header(head, 'Content-Type')).toBe('application/json; charset=utf-8');
    expect(header(head, 'Content-Length')).toBe(header(get, 'Content-Length'));
    // nothing after the headers: the server closed (Connection: close) with no body bytes
    const c = await p.conn();
    c.write(p.build({ method: 'HEAD', target: '/v1/health' }));
    await c.response({ head: true });
    expect(await c.closedWithin(20_000)).toBe(true);
    expect(c.buf.length).toBe(0);
    // HEAD on a POST-only route
    expect((await p.raw({ method: 'HEAD', target: '/v1/_probe/echo', headers: [bearer(p)] })).status).toBe(405);
  });

  it('Requests arriving on 127.0.0.1 (default bind) — never rely on 127.0.0.2+', async () => {
    const p = await start();
    expect(p.t.listenerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await p.raw({ target: '/v1/health', headers: [['Host', `127.0.0.1:${p.port}`]] })).status).toBe(200);
    // a Host of 127.0.0.2 is not an address Sputnik answers as
    expectError(await p.raw({ target: '/v1/health', headers: [['Host', `127.0.0.2:${p.port}`]] }), 403, 'host_not_allowed');
  });

  it.skipIf(!IPV6)('Requests arriving on [::1] (listener bound to ::1)', async () => {
    const p = await start({ listener: { host: '::1' } });
    expect(p.t.listenerUrl).toBe(`http://[::1]:${p.port}`);
    for (const host of [`[::1]:${p.port}`, '[::1]', `localhost:${p.port}`, `127.0.0.1:${p.port}`]) {
      const r = await p.raw({ target: '/v1/health', headers: [['Host', host], bearer(p)] });
      expect(r.status, host).toBe(200);
      expect(json(r).queue).toBeDefined();
    }
    const f = await p.api('/v1/health');
    expect(f.status).toBe(200);
    expect(json(await p.echo(`{"name": "${NAME}"}`))).toEqual({ parsed: { name: NAME } });
  });
  if (!IPV6) it.skip('[::1]: not testable here — this machine has no IPv6 loopback (listen on ::1 failed)', () => {});

  it('Both persistent and one-shot connections; client silently dropping an idle keep-alive socket', async () => {
    const p = await start();
    // persistent: several calls on one socket, each answered in full, the socket stays open
    const c = await p.conn();
    for (let i = 0; i < 5; i++) {
      c.write(p.build({ method: 'POST', target: '/v1/_probe/echo', keepAlive: true, headers: [bearer(p), ['Content-Type', 'application/json']], body: `{"count": ${i}}` }));
      const r = await c.response();
      expect(json(r)).toEqual({ parsed: { count: i } });
      expect(header(r, 'Connection')).toBe('keep-alive');
    }
    // pipelined on the same socket: answered in order
    c.write(Buffer.concat([1, 2, 3].map((i) => p.build({ target: `/v1/_inspect/${i}`, keepAlive: true, headers: [bearer(p)] }))));
    for (const i of [1, 2, 3]) expect(json(await c.response()).p).toBe(String(i));
    expect(c.closed).toBe(false);
    // then the client drops the idle socket without a word
    c.destroy();
    // one-shot: Connection: close is honoured
    const o = await p.conn();
    o.write(p.build({ target: '/v1/health' }));
    const r = await o.response();
    expect(header(r, 'Connection')).toBe('close');
    expect(await o.closedWithin(20_000)).toBe(true);
    // HTTP/1.0 without Host: answered, then closed
    const h = await p.conn();
    h.write('GET /v1/health HTTP/1.0\r\n\r\n');
    expect((await h.response()).status).toBe(200);
    expect(await h.closedWithin(20_000)).toBe(true);
    // and the server keeps serving
    expect((await p.raw({ target: '/v1/health' })).status).toBe(200);
  });

  it('A client that waits forever — the listener must answer or close within its own deadline', async () => {
    const p = await start({ listener: { requestTimeoutSeconds: 5 } });
    const c = await p.conn();
    const started = Date.now();
    // headers promise 100 bytes, only 10 arrive, the client then waits forever
    c.write(p.build({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json'], ['Content-Length', '100']] }));
    c.write('{"name": "');
    // Closed at its own 5 s deadline, not earlier; the upper bound is only the wait's own 25 s (far
    // below Node's defaults of 60 and 300 s), not a bound on the machine's speed.
    expect(await c.closedWithin(25_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect((await p.raw({ target: '/v1/health' })).status).toBe(200);
  });

  it('A client with a 1–5 s timeout that disconnects mid-request or mid-processing — handlers are idempotent', async () => {
    const p = await start();
    // gone in the middle of the body: nothing accepted, the server is fine
    const half = await p.conn();
    half.write(p.build({ method: 'PUT', target: '/v1/_probe/items/half', headers: [bearer(p), ['Content-Type', 'application/json'], ['Content-Length', '40']] }));
    half.write('{"value": "нача');
    await new Promise((r) => setTimeout(r, 100));
    half.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await jobsFor(p, 'half')).toBe(0);
    // gone right after sending the whole request: the work is stored once…
    const gone = await p.conn();
    gone.write(p.build({ method: 'PUT', target: '/v1/_probe/items/gone', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"value": "первый"}' }));
    gone.destroy();
    expect(await until(async () => (await jobsFor(p, 'gone')) === 1)).toBe(true);
    // …and 1C's retry of the same call is harmless
    for (let i = 0; i < 3; i++) {
      const r = await p.raw({ method: 'PUT', target: '/v1/_probe/items/gone', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"value": "первый"}' });
      expect(r.status).toBe(202);
      expect(json(r)).toMatchObject({ key: 'gone', state: 'queued' });
    }
    expect(await jobsFor(p, 'gone')).toBe(1);
    expect((await p.raw({ target: '/v1/health' })).status).toBe(200);
  });

  it('Serial calls from one UI session (sync methods block the 1C UI) and parallel calls from several clients/background jobs or …Асинх calls', async () => {
    const p = await start();
    // serial, one keep-alive connection like one HTTPСоединение object
    const c = await p.conn();
    try {
      for (let i = 0; i < 30; i++) {
        c.write(p.build({ method: 'POST', target: '/v1/_probe/echo', keepAlive: true, headers: [bearer(p), ['Content-Type', 'application/json']], body: `{"name": "звонок ${i}"}` }));
        expect(json(await c.response())).toEqual({ parsed: { name: `звонок ${i}` } });
      }
    } finally {
      c.destroy();
    }
    // parallel: 60 calls at once, each gets its own answer, every PUT is stored once
    const calls = Array.from({ length: 60 }, async (_, i) => {
      if (i % 2 === 0) {
        const r = await p.api('/v1/_probe/echo', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `клиент ${i}`, amount: `${i},5` }) });
        expect(r.status).toBe(200);
        expect(r.json).toEqual({ parsed: { name: `клиент ${i}`, amount: `${i}.5` } });
      } else {
        const r = await p.api(`/v1/_probe/items/par-${i}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ value: String(i) }) });
        expect(r.status).toBe(202);
        expect(r.json).toMatchObject({ key: `par-${i}`, state: 'queued' });
      }
    });
    await Promise.all(calls);
    const stored = p.t.core.store.sql.get<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE key LIKE 'item:par-%'`);
    expect(stored?.n).toBe(30);
  });
});

// ---------------------------------------------------------------------------------------------
// Response side: each line sweeps every response this file has seen, plus a set of its own.

const CANONICAL_NAME = /^(?:[A-Z][a-z0-9]*(?:-[A-Z][a-z0-9]*)*|WWW-Authenticate|ETag)$/;
const IDENTIFIER = /^[A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_]*$/;

/** A variety of answers, including every error path, asking for compression (which must not happen). */
async function variety(p: Probe): Promise<RawResponse[]> {
  const ae: [string, string] = ['Accept-Encoding', 'gzip, deflate, br'];
  const out: RawResponse[] = [];
  const push = async (r: Req) => out.push(await p.raw({ ...r, headers: [ae, ...(r.headers ?? [])] }));
  await push({ target: '/v1/health' });
  await push({ target: '/v1/health', headers: [bearer(p)] });
  await push({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"name": "Иван", "at": "04.03.2024 5:06:07", "amount": "1 234,56"}' });
  await push({ method: 'PUT', target: '/v1/_probe/items/variety', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"value": "x"}' });
  await push({ target: '/v1/_inspect/x' }); // 401
  await push({ target: '/v1/nothing-here', headers: [bearer(p)] }); // 404
  await push({ target: '/nothing-here' }); // 404 outside /v1
  await push({ method: 'PATCH', target: '/v1/_probe/echo', headers: [bearer(p)] }); // 405
  await push({ method: 'FOO', target: '/v1/_probe/echo', headers: [bearer(p)] }); // 405 from the parser
  await push({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"name": ' }); // 400
  await push({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json']], body: '{"items": [{}, {}, {}, {"amount": "много"}]}' }); // 422
  await push({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'image/png']], body: 'x' }); // 415
  await push({ method: 'POST', target: '/v1/_probe/echo', headers: [bearer(p), ['Content-Type', 'application/json']], body: Buffer.alloc(1024 * 1024 + 1, 0x20) }); // 413
  await push({ target: '/v1/health', headers: [['Host', 'evil.example']] }); // 403
  await push({ method: 'OPTIONS', target: '/v1/_probe/echo', headers: [['Origin', 'http://evil.example'], ['Access-Control-Request-Method', 'POST']] }); // 403
  await push({ target: `/v1/health?pad=${'a'.repeat(9000)}` }); // 414 (fastify)
  await push({ target: `/v1/health?pad=${'a'.repeat(20_000)}` }); // 414 (HTTP parser)
  await push({ target: '/v1/health', headers: [['X-Big', 'b'.repeat(17_000)]] }); // 431
  await push({ target: Buffer.from('/v1/_inspect/Код', 'utf8') }); // 400 (HTTP parser)
  await push({ target: '/v1/openapi.json' });
  await push({ target: '/docs' });
  return out;
}

function isJson(r: RawResponse): boolean {
  return /^application\/json/i.test(header(r, 'content-type') ?? '');
}

describe('§7 response side: emit', () => {
  it('HTTP/1.1, explicit Content-Length, no chunked encoding, no compression unless asked', async () => {
    const p = await start();
    const mine = await variety(p);
    expect(mine.length).toBeGreaterThanOrEqual(20);
    for (const r of wire) {
      expect(r.version, r.label).toBe('HTTP/1.1');
      if (r.status < 200) continue;
      expect(r.chunked, r.label).toBe(false);
      expect(header(r, 'Transfer-Encoding'), r.label).toBeUndefined();
      expect(header(r, 'Content-Encoding'), r.label).toBeUndefined();
      expect(r.declaredLength, `${r.label}: Content-Length`).not.toBeNull();
      if (!r.head) expect(r.body.length, `${r.label}: body bytes = Content-Length`).toBe(r.declaredLength);
    }
  });

  it('Content-Type: application/json; charset=utf-8 with canonical header-name casing (on the wire)', async () => {
    const p = await start();
    await variety(p);
    for (const r of wire) {
      for (const name of headerNames(r)) expect(name, `${r.label}: header name`).toMatch(CANONICAL_NAME);
      if (r.status < 200 || r.label.includes('/docs')) continue;
      const ct = r.headers.filter(([n]) => n === 'Content-Type');
      expect(ct, r.label).toEqual([['Content-Type', 'application/json; charset=utf-8']]);
      if (!r.head) expect(r.headers.some(([n]) => n === 'Content-Length'), r.label).toBe(true);
    }
    for (const f of fetched) expect(f.contentType, f.label).toBe('application/json; charset=utf-8');
  });

  it('No BOM; UTF-8 only', async () => {
    const p = await start();
    await variety(p);
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    for (const r of wire) {
      if (r.body.length === 0) continue;
      expect(r.body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), `${r.label}: BOM`).toBe(false);
      expect(() => decoder.decode(r.body), r.label).not.toThrow();
    }
    for (const f of fetched) expect(f.text.charCodeAt(0), f.label).not.toBe(0xfeff);
    // Russian error text arrives as real UTF-8 Cyrillic, not \u escapes or mojibake
    const e = wire.find((r) => r.status === 401)!;
    expect(e.body.toString('utf8')).toContain('Нужен заголовок Authorization');
  });

  it('JSON keys that are valid 1C identifiers (Latin/Cyrillic letters, digits, _; not starting with a digit) in every JSON response of this file', async () => {
    const p = await start();
    await variety(p);
    const bad: string[] = [];
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (!IDENTIFIER.test(k)) bad.push(`${where}: ${JSON.stringify(k)}`);
          walk(x, `${where}.${k}`);
        }
      }
    };
    let walked = 0;
    // /v1/openapi.json is for tools and people, not for ПрочитатьJSON (its keys are paths and media types)
    const notFor1C = (label: string) => label.includes('/v1/openapi.json');
    for (const r of wire) {
      if (!isJson(r) || r.head || r.body.length === 0 || notFor1C(r.label)) continue;
      walk(json(r), r.label);
      walked++;
    }
    for (const f of fetched) {
      if (notFor1C(f.label) || !f.text) continue;
      walk(JSON.parse(f.text), f.label);
      walked++;
    }
    expect(walked).toBeGreaterThanOrEqual(20);
    expect(bad).toEqual([]);
  });

  it('Dates as YYYY-MM-DDTHH:MM:SS; money as numbers with a dot, never grouped', async () => {
    const p = await start();
    const r = json(await p.echo(JSON.stringify({ at: '04.03.2024 5:06:07', birthday: '17.05.1990', amount: `1${NBSP}234${NBSP}567,89`, money: '100,5' })));
    expect(r.parsed.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(r.parsed.birthday).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // the probe echoes the parser's exact decimal text; real domains put money into JSON numbers
    expect(r.parsed.amount).toBe('1234567.89');
    expect(r.parsed.money).toBe('100.5');
    // no 1C display formatting anywhere in what Sputnik answered
    for (const w of wire) if (isJson(w) && !w.label.includes('openapi')) expect(w.body.toString('utf8'), w.label).not.toMatch(/\d\u00a0\d{3}|\d,\d+"/);
    const health = await p.api('/v1/health');
    expect(health.json.queue.depth).toBeTypeOf('number');
  });

  it('No duplicate response headers that 1C would merge into "second, first"', async () => {
    const p = await start();
    await variety(p);
    for (const r of wire) {
      const names = headerNames(r).map((n) => n.toLowerCase());
      const dups = names.filter((n, i) => names.indexOf(n) !== i);
      expect(dups, `${r.label} (${r.status}): ${JSON.stringify(r.headers)}`).toEqual([]);
    }
  });

  it('Errors as JSON with a stable shape and a non-2xx status; no redirects (the platform does not follow them)', async () => {
    const p = await start();
    await variety(p);
    for (const target of ['/docs', '/docs/', '/v1/health/', '/v1/', '/v1', '/', '/v1/_probe/echo/', '/v1/_inspect/x/']) {
      await p.raw({ target, headers: [bearer(p)] });
      await p.raw({ target });
    }
    let errorsSeen = 0;
    for (const r of wire) {
      expect(r.status >= 300 && r.status < 400, `${r.label}: redirect ${r.status}`).toBe(false);
      expect(header(r, 'Location'), r.label).toBeUndefined();
      if (r.status < 400 || r.head) continue;
      errorsSeen++;
      expect(isJson(r), r.label).toBe(true);
      const body = json(r);
      expect(Object.keys(body), r.label).toEqual(['error']);
      expect(Object.keys(body.error).sort(), r.label).toEqual(body.error.field === undefined ? ['code', 'message'] : ['code', 'field', 'message']);
      expect(body.error.code, r.label).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(body.error.message, r.label).toMatch(/[А-Яа-яЁё]/);
      if (body.error.field !== undefined) expect(body.error.field, r.label).toMatch(/\S/);
    }
    expect(errorsSeen).toBeGreaterThanOrEqual(15);
    const statuses = new Set(wire.filter((r) => r.status >= 400).map((r) => r.status));
    for (const s of [400, 401, 403, 404, 405, 413, 414, 415, 422, 431]) expect(statuses.has(s), `status ${s} seen`).toBe(true);
  });

  it('Complete bodies only: never close early (Content-Length is exact even when the server closes)', async () => {
    const p = await start();
    await variety(p);
    for (const r of wire) {
      if (r.head || r.status < 200) continue;
      expect(r.body.length, r.label).toBe(r.declaredLength);
      if (isJson(r)) expect(() => json(r), r.label).not.toThrow();
    }
    // the biggest answer here, read byte by byte off the socket
    const big = await p.raw({ target: '/v1/openapi.json' });
    expect(big.body.length).toBe(Number(header(big, 'Content-Length')));
    expect(json(big).openapi).toBe('3.1.0');
  });
});
