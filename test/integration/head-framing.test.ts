import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { createRegate } from '../../main/regate/index.ts';
import { startFake1C } from '../../main/sandbox/onec/fake.ts';
import { openStore } from '../../main/store/index.ts';
import { startTestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';
import { probeModule } from '../fixtures/probe-domain.ts';

/**
 * issue #16.2: a HEAD answer is headers only, with the Content-Length its GET would have, so the
 * next request pipelined on the connection is read correctly; a line that is not HTTP is answered
 * 400 after the answers due before it, and the connection closes. Raw sockets (TLS for ReGate).
 */

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A request, or a line that is not HTTP at all. */
type Sent = Req | { junk: string };

interface Res {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function wire(r: Sent, host: string): string {
  if ('junk' in r) return `${r.junk}\r\n`;
  const headers = { Host: host, ...r.headers, ...(r.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(r.body)) } : {}) };
  return `${r.method} ${r.path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${r.body ?? ''}`;
}

/** Sends everything in one write (pipelined) and reads until the server closes the connection. */
function exchange(port: number, sent: Sent[], secure = false): Promise<Buffer> {
  const host = `127.0.0.1:${port}`;
  const data = Buffer.from(sent.map((r) => wire(r, host)).join(''), 'utf8');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write(data)) : net.connect({ port, host: '127.0.0.1' }, () => s.write(data));
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * Splits a byte stream into responses, in order: a HEAD's has no body whatever its headers say,
 * others are framed by Content-Length (or chunked). Stops at bytes that are not a complete response.
 */
function parse(stream: Buffer, methods: string[]): { responses: Res[]; rest: string } {
  const responses: Res[] = [];
  let at = 0;
  for (const method of methods) {
    const end = stream.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = stream.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (!m) break;
    const headers = new Map(lines.map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    let next = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (method !== 'HEAD') {
      if (headers.get('transfer-encoding') === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const lineEnd = stream.indexOf('\r\n', next);
          const size = parseInt(stream.subarray(next, lineEnd).toString('latin1'), 16);
          next = lineEnd + 2 + size + 2;
          if (size === 0) break;
          parts.push(stream.subarray(lineEnd + 2, lineEnd + 2 + size));
        }
        body = Buffer.concat(parts);
      } else {
        const length = Number(headers.get('content-length') ?? 0);
        if (next + length > stream.length) break;
        body = stream.subarray(next, next + length);
        next += length;
      }
    }
    responses.push({ status: Number(m[1]), headers, body });
    at = next;
  }
  return { responses, rest: stream.subarray(at).toString('utf8') };
}

const methodsOf = (sent: Sent[]) => sent.map((r) => ('junk' in r ? 'JUNK' : r.method));

/** The same request as a GET on its own connection: its status and Content-Length. */
async function asGet(port: number, r: Req, secure = false): Promise<{ status: number; length: string | undefined }> {
  const sent = [{ ...r, method: 'GET', headers: { ...r.headers, Connection: 'close' } }];
  const { responses } = parse(await exchange(port, sent, secure), ['GET']);
  return { status: responses[0].status, length: responses[0].headers.get('content-length') };
}

/** Every HEAD answered as its GET: the same status and Content-Length, no body. */
async function expectHeadsLikeGets(port: number, sent: Sent[], responses: Res[], secure = false): Promise<void> {
  for (const [i, r] of sent.entries()) {
    if ('junk' in r || r.method !== 'HEAD') continue;
    const get = await asGet(port, r, secure);
    expect({ path: r.path, status: responses[i].status, length: responses[i].headers.get('content-length') }).toEqual({ path: r.path, status: get.status, length: get.length });
  }
}

const RUSSIAN = /[А-Яа-яЁё]/;

describe('HEAD answers and pipelining (issue #16.2)', () => {
  it('the 1C listener: HEAD, a junk line, GET, PUT on one connection → the HEAD answer, a well-framed 400, then the connection closes; the PUT never runs', async () => {
    const t = await startTestCore({ modules: [probeModule] });
    const port = Number(new URL(t.listenerUrl).port);
    const auth = { Authorization: `Bearer ${t.listenerToken}` };
    const sent: Sent[] = [
      { method: 'HEAD', path: '/v1/health' },
      { junk: 'NOT HTTP AT ALL' },
      { method: 'GET', path: '/v1/health' },
      { method: 'PUT', path: '/v1/_probe/items/k', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"value":"x"}' },
    ];
    const { responses, rest } = parse(await exchange(port, sent), methodsOf(sent));
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(rest).toBe('');
    const [head, bad] = responses;
    expect(head.body.length).toBe(0);
    await expectHeadsLikeGets(port, sent, responses);
    expect(bad.headers.get('connection')).toBe('close');
    expect(JSON.parse(bad.body.toString('utf8'))).toMatchObject({ error: { code: 'malformed_request', message: expect.stringMatching(RUSSIAN) } });
    expect(t.core.store.sql.value(`SELECT count(*) FROM jobs WHERE kind <> 'recurring'`)).toBe(0); // not counting the core's scheduled housekeeping
  });

  it('the 1C listener: HEAD answered 401, 404 and 405, then a GET: each in order, headers only, with the Content-Length of its GET', async () => {
    const t = await startTestCore({ modules: [probeModule] });
    const port = Number(new URL(t.listenerUrl).port);
    const auth = { Authorization: `Bearer ${t.listenerToken}` };
    const sent: Sent[] = [
      { method: 'HEAD', path: '/v1/cards' },
      { method: 'HEAD', path: '/v1/nothing', headers: auth },
      { method: 'HEAD', path: '/v1/_probe/echo', headers: auth },
      { method: 'HEAD', path: '/v1/health' },
      { method: 'GET', path: '/v1/health', headers: { Connection: 'close' } },
    ];
    const { responses, rest } = parse(await exchange(port, sent), methodsOf(sent));
    expect(responses.map((r) => r.status)).toEqual([401, 404, 405, 200, 200]);
    expect(rest).toBe('');
    expect(JSON.parse(responses[4].body.toString('utf8'))).toMatchObject({ status: 'ok' });
    await expectHeadsLikeGets(port, sent, responses);
  });

  it('the 1C listener: a HEAD Node refuses before routing (Cyrillic in the address) gets the 400 headers without the body', async () => {
    const t = await startTestCore({ modules: [probeModule] });
    const port = Number(new URL(t.listenerUrl).port);
    const sent: Sent[] = [{ method: 'HEAD', path: '/v1/карты' }];
    const { responses, rest } = parse(await exchange(port, sent), ['HEAD']);
    expect(responses.map((r) => r.status)).toEqual([400]);
    expect(rest).toBe('');
    expect(responses[0].headers.get('connection')).toBe('close');
    await expectHeadsLikeGets(port, sent, responses);
  });

  it('the admin API: HEAD of the event stream, 401, 404, then a GET; and HEAD, a junk line, GET', async () => {
    const t = await startTestCore();
    const port = Number(new URL(t.uiUrl).port);
    const auth = { Authorization: `Bearer ${t.uiToken}` };
    const sent: Sent[] = [
      { method: 'HEAD', path: '/api/events', headers: auth },
      { method: 'HEAD', path: '/api/health' },
      { method: 'HEAD', path: '/api/nope', headers: auth },
      { method: 'GET', path: '/api/health', headers: { ...auth, Connection: 'close' } },
    ];
    const { responses, rest } = parse(await exchange(port, sent), methodsOf(sent));
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200]);
    expect(rest).toBe('');
    expect(responses[0].headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(JSON.parse(responses[3].body.toString('utf8'))).toMatchObject({ status: 'ok' });
    await expectHeadsLikeGets(port, sent.slice(1), responses.slice(1));

    const junk: Sent[] = [{ method: 'HEAD', path: '/api/health', headers: auth }, { junk: 'NOT HTTP AT ALL' }, { method: 'GET', path: '/api/health', headers: auth }];
    const second = parse(await exchange(port, junk), methodsOf(junk));
    expect(second.responses.map((r) => r.status)).toEqual([200, 400]);
    expect(second.rest).toBe('');
    await expectHeadsLikeGets(port, junk, second.responses);
    expect(JSON.parse(second.responses[1].body.toString('utf8'))).toMatchObject({ error: { code: 'malformed_request', message: expect.stringMatching(RUSSIAN) } });
  });

  it('ReGate over TLS: HEAD, a junk line, GET, PUT → the HEAD answer, a problem+json 400, close (the PUT never reaches 1C); HEAD answered 401 and 404 keep the stream in step', async () => {
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
    const port = Number(new URL((await regate.listen()).url).port);
    const auth = { Authorization: `Basic ${Buffer.from('richest:sandbox').toString('base64')}` };

    const sent: Sent[] = [
      { method: 'HEAD', path: '/regate/v1/health' },
      { junk: 'NOT HTTP AT ALL' },
      { method: 'GET', path: '/regate/v1/health' },
      { method: 'PUT', path: '/regate/v1/clients/c-1', headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'k-1' }, body: '{"name":"x"}' },
    ];
    const { responses, rest } = parse(await exchange(port, sent, true), methodsOf(sent));
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(rest).toBe('');
    await expectHeadsLikeGets(port, sent, responses, true);
    const bad = responses[1];
    expect(bad.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(bad.headers.get('connection')).toBe('close');
    const problem = JSON.parse(bad.body.toString('utf8'));
    expect(problem).toMatchObject({ status: 400, code: 'invalid_request', detail: expect.stringMatching(RUSSIAN), requestId: bad.headers.get('x-request-id') });
    expect(store.sql.value('SELECT count(*) FROM regate_requests')).toBe(0);

    const errors: Sent[] = [
      { method: 'HEAD', path: '/regate/v1/state' },
      { method: 'HEAD', path: '/regate/v1/nope', headers: auth },
      { method: 'HEAD', path: '/regate/nope', headers: auth },
      { method: 'GET', path: '/regate/v1/health', headers: { Connection: 'close' } },
    ];
    const second = parse(await exchange(port, errors, true), methodsOf(errors));
    expect(second.responses.map((r) => r.status)).toEqual([401, 404, 404, 200]);
    expect(second.rest).toBe('');
    expect(JSON.parse(second.responses[3].body.toString('utf8'))).toMatchObject({ gateway: 'ok' });
    await expectHeadsLikeGets(port, errors, second.responses, true);
  });
});
