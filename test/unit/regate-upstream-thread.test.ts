import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { LimiterTimeout } from '../../main/regate/limiter.ts';
import { Upstream, UpstreamFailure, UpstreamThread } from '../../main/regate/upstream.ts';

/** A 1C stand-in that holds every answer until the test lets it go, counting calls at once. */
async function heldServer() {
  const held: ServerResponse[] = [];
  let now = 0;
  let max = 0;
  const seen: Array<{ path: string; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    now++;
    max = Math.max(max, now);
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    res.on('finish', () => now--);
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/hs/regate`,
    held,
    seen,
    max: () => max,
    answerAll(body: string) {
      for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const tenantFor = (baseUrl: string, poolSize: number) =>
  parseConfig({ regate: { enabled: true, port: 0, tls: { pfxFile: '/x.pfx' }, tenants: [{ id: 'shop', user: 'richest', password: 'p', baseUrl, onecUser: 'ws', onecPassword: 'секрет', poolSize }] } }, {}).config.regate.tenants[0];

// Waits for a condition; the bound (≥ 20 s) only names one that never comes, on a loaded machine too.
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
};

describe('ReGate upstream thread', () => {
  let cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it('runs the cap off the event loop: its limit, calls in flight and waiting are visible here; a slot wait ends in LimiterTimeout', async () => {
    const srv = await heldServer();
    const thread = new UpstreamThread();
    cleanup.push(srv.close, () => thread.close(500));
    const up = new Upstream(tenantFor(srv.url, 3), thread); // ceiling 2
    expect(up.ceiling).toBe(2);
    expect(up.limit).toBe(2);

    const calls = Array.from({ length: 4 }, (_, i) => up.call('read', { method: 'GET', path: `stores/s${i}/assortment`, timeoutMs: 10_000 }, { waitMs: 10_000 }));
    await until(() => up.inFlight === 2 && up.queued === 2 && srv.held.length === 2);
    await expect(up.call('read', { method: 'GET', path: 'cities', timeoutMs: 10_000 }, { waitMs: 50 })).rejects.toBeInstanceOf(LimiterTimeout);

    for (let round = 0; round < 2; round++) {
      await until(() => srv.held.length === 2);
      srv.answerAll('\uFEFF{"items":[{"id":"1"}]}');
    }
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.body)).toEqual(Array(4).fill({ items: [{ id: '1' }] }));
    expect(srv.max()).toBe(2);
    expect(up.maxInFlight).toBe(2);
    expect(up.inFlight).toBe(0);
    expect(up.queued).toBe(0);
    expect(srv.seen[0]).toEqual({ path: '/base/hs/regate/stores/s0/assortment', auth: `Basic ${Buffer.from('ws:секрет').toString('base64')}` });
  });

  it('on close, calls in flight end as "1C unreachable" (a write is then queued) and later calls fail at once', async () => {
    const srv = await heldServer();
    const thread = new UpstreamThread();
    cleanup.push(srv.close, () => thread.close(500));
    const up = new Upstream(tenantFor(srv.url, 3), thread);
    const pending = up.call('write', { method: 'PUT', path: 'clients/1', body: { name: 'Иванов' }, requestId: 'k1', timeoutMs: 10_000 });
    await until(() => srv.held.length === 1);
    await thread.close(50);
    const failure = await pending.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UpstreamFailure);
    expect((failure as UpstreamFailure).kind).toBe('down');
    srv.held.splice(0).forEach((r) => r.destroy());

    const late = await up.call('read', { method: 'GET', path: 'cities', timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((late as UpstreamFailure).kind).toBe('down');
    expect(srv.seen).toHaveLength(1); // nothing reached 1C after the close
  });

  it('a base that cannot be opened fails only its own calls; the other bases go on', async () => {
    const srv = await heldServer();
    const thread = new UpstreamThread();
    cleanup.push(srv.close, () => thread.close(500));
    const good = new Upstream(tenantFor(srv.url, 3), thread);
    const first = good.call('read', { method: 'GET', path: 'cities', timeoutMs: 10_000 });
    await until(() => srv.held.length === 1);
    thread.open({ id: 'broken', baseUrl: 'не адрес', poolSize: 3, authorization: 'Basic eDp5', stats: new SharedArrayBuffer(16) });
    const r = await thread.call('broken', 'read', {}, { method: 'GET', path: 'cities', timeoutMs: 1000 });
    expect('error' in r && r.error.code).toBe('ERR_TENANT');
    srv.answerAll('{"items":[]}');
    expect((await first).body).toEqual({ items: [] });
    const second = good.call('read', { method: 'GET', path: 'cities', timeoutMs: 10_000 });
    await until(() => srv.held.length === 1);
    srv.answerAll('{"items":[1]}');
    expect((await second).body).toEqual({ items: [1] });
  });
});
