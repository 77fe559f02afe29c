import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { passteamModule } from '../../main/connectors/passteam/index.ts';
import { SputnikError } from '../../main/errors.ts';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { runCli, startServe } from '../helpers/cli.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The 1C listener bound to a LAN address for several POS of one infobase: only this computer and
 * listener.allowedClients are served. Client addresses are chosen with `localAddress`: Linux
 * answers on all of 127.0.0.0/8, so 127.0.0.2 and 127.0.0.3 are two "POS" on any machine, and the
 * machine's own LAN address (when it has one) is a real one.
 */

const TOKEN = 'lan-listener-token-1';
const PT_TOKEN = 'pt-token-1';

interface Reply {
  status: number;
  body: any;
}

/** One HTTP request from `from` to `to:port`, with the Host a POS would send. */
function call(opts: { from: string; to: string; port: number; method: string; path: string; body?: unknown; token?: string | null }): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const host = opts.to.includes(':') ? `[${opts.to}]` : opts.to;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.to,
        port: opts.port,
        localAddress: opts.from,
        method: opts.method,
        path: opts.path,
        agent: false,
        headers: {
          Host: `${host}:${opts.port}`,
          ...(opts.token === null ? {} : { Authorization: `Bearer ${opts.token ?? TOKEN}` }),
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The first non-internal IPv4 address of this machine (what POS would call), if it has one. */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

async function lanSputnik(listener: { host: string; allowedClients: string[] }): Promise<{ t: TestCore; fake: FakePassteam; port: number }> {
  const fake = await startFakePassteam({ token: PT_TOKEN });
  const t = await startTestCore({
    config: { listener: { ...listener, token: TOKEN }, passteam: { enabled: true, baseUrl: fake.url, token: PT_TOKEN, templateId: 'tpl-loyalty' } },
    modules: [passteamModule],
  });
  return { t, fake, port: Number(new URL(t.listenerUrl).port) };
}

const CARD = { holder: { name: 'Кассир Петров', phone: '+7 900 111-22-33' }, bonus: 10 };
const refusedMessage = (address: string) =>
  `Адрес ${address} не в списке listener.allowedClients Спутника: добавьте адрес этой кассы (или подсеть касс) в настройки Спутника и перезапустите его`;

describe('the 1C listener open to the LAN', () => {
  it('serves a listed client and this computer; any other address gets 403 client_not_allowed in Russian, and nothing happens', async () => {
    const { t, fake, port } = await lanSputnik({ host: '0.0.0.0', allowedClients: ['127.0.0.2'] });
    try {
      // A listed POS, calling the address it was given (a Host that is neither 127.0.0.1 nor localhost).
      const ok = await call({ from: '127.0.0.2', to: '127.0.0.2', port, method: 'PUT', path: '/v1/cards/pos-1?wait=0', body: CARD });
      expect(ok.status).toBe(202);
      expect(ok.body).toMatchObject({ code: 'pos-1', state: 'queued' });
      // The token is still required from a listed client.
      expect((await call({ from: '127.0.0.2', to: '127.0.0.2', port, method: 'GET', path: '/v1/cards/pos-1', token: null })).status).toBe(401);
      // This computer is always served.
      expect((await call({ from: '127.0.0.1', to: '127.0.0.1', port, method: 'GET', path: '/v1/cards/pos-1' })).status).toBe(200);

      await expect.poll(() => fake.cards().length).toBe(1);
      fake.clearRequests();
      const seq = t.core.journal.list({ limit: 1 }).entries[0]?.id ?? 0; // the newest exchange so far

      const refused = await call({ from: '127.0.0.3', to: '127.0.0.2', port, method: 'PUT', path: '/v1/cards/pos-2?wait=5', body: CARD });
      expect(refused).toEqual({ status: 403, body: { error: { code: 'client_not_allowed', message: refusedMessage('127.0.0.3') } } });
      // Health too: a client that is not listed learns nothing, not even the version.
      const health = await call({ from: '127.0.0.3', to: '127.0.0.2', port, method: 'GET', path: '/v1/health', token: null });
      expect(health.body.error.code).toBe('client_not_allowed');

      // Nothing stored, nothing sent; the refusals are in the journal with the address.
      expect((await t.api('/v1/cards/pos-2')).status).toBe(404);
      expect(fake.requests()).toHaveLength(0);
      t.core.journal.flush();
      const entries = t.core.journal.list({ system: '1c' }).entries.filter((e) => e.id > seq);
      expect(entries.map((e) => [e.method, e.url, e.status])).toEqual(
        expect.arrayContaining([
          ['PUT', '/v1/cards/pos-2?wait=5', 403],
          ['GET', '/v1/health', 403],
        ]),
      );
      const put = entries.find((e) => e.url === '/v1/cards/pos-2?wait=5')!;
      expect(t.core.journal.get(put.id)).toMatchObject({ requestBody: null, responseBody: expect.stringContaining('127.0.0.3') });
    } finally {
      await fake.stop();
    }
  });

  it('refuses before reading the body: the 403 comes while the declared body is still unsent', async () => {
    const { t, fake, port } = await lanSputnik({ host: '0.0.0.0', allowedClients: ['127.0.0.2'] });
    try {
      const socket = connect({ host: '127.0.0.2', port, localAddress: '127.0.0.3' });
      let answer = '';
      const headEnd = new Promise<void>((resolve) =>
        socket.on('data', (d) => {
          answer += d;
          if (answer.includes('\r\n\r\n') && answer.includes('}}')) resolve();
        }),
      );
      socket.write(
        `PUT /v1/cards/pos-3?wait=0 HTTP/1.1\r\nHost: 127.0.0.2:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"holder":`,
      );
      await headEnd; // 99 990 bytes never sent: a server reading the body would still be waiting
      socket.destroy();
      expect(answer).toMatch(/^HTTP\/1\.1 403 /);
      expect(answer).toContain('"code":"client_not_allowed"');
      expect((await t.api('/v1/cards/pos-3')).status).toBe(404);
    } finally {
      await fake.stop();
    }
  });

  it('on a dual-stack bind (::) an IPv4 client arrives as ::ffff:a.b.c.d and is matched and named as IPv4', async () => {
    const { fake, port } = await lanSputnik({ host: '::', allowedClients: ['127.0.0.2/32'] });
    try {
      expect((await call({ from: '127.0.0.2', to: '127.0.0.2', port, method: 'PUT', path: '/v1/cards/pos-4?wait=0', body: CARD })).status).toBe(202);
      const refused = await call({ from: '127.0.0.3', to: '127.0.0.2', port, method: 'PUT', path: '/v1/cards/pos-5?wait=0', body: CARD });
      expect(refused).toEqual({ status: 403, body: { error: { code: 'client_not_allowed', message: refusedMessage('127.0.0.3') } } });
      expect((await call({ from: '::1', to: '::1', port, method: 'GET', path: '/v1/cards/pos-4' })).status).toBe(200);
    } finally {
      await fake.stop();
    }
  });

  it("this machine's own LAN address: served when its subnet is listed, refused when it is not", async () => {
    const lan = lanAddress() ?? '127.0.0.2'; // a machine without a network still checks the rules on a loopback alias
    const bind = lanAddress() ?? '0.0.0.0';
    const listed = await lanSputnik({ host: bind, allowedClients: [`${lan}/24`] });
    try {
      const ok = await call({ from: lan, to: lan, port: listed.port, method: 'PUT', path: '/v1/cards/pos-6?wait=0', body: CARD });
      expect(ok.status).toBe(202);
      expect((await listed.t.api('/v1/cards/pos-6')).status).toBe(200);
    } finally {
      await listed.fake.stop();
    }
    const other = await lanSputnik({ host: bind, allowedClients: ['198.51.100.0/24', 'fd12:3456::/48'] });
    try {
      const refused = await call({ from: lan, to: lan, port: other.port, method: 'PUT', path: '/v1/cards/pos-7?wait=0', body: CARD });
      expect(refused).toEqual({ status: 403, body: { error: { code: 'client_not_allowed', message: refusedMessage(lan) } } });
      expect(other.fake.requests()).toHaveLength(0);
    } finally {
      await other.fake.stop();
    }
  });
});

describe('listener.allowedClients in the config', () => {
  const invalid = (listener: object): SputnikError => {
    try {
      parseConfig({ listener }, {});
    } catch (e) {
      return e as SputnikError;
    }
    throw new Error('the config was accepted');
  };

  it('a non-loopback bind without an allow-list is refused at load, naming the field in Russian', () => {
    const e = invalid({ host: '0.0.0.0', token: TOKEN });
    expect(e).toMatchObject({ code: 'invalid_config', field: 'listener.allowedClients' });
    expect(e.message).toContain('listener.allowedClients: обязателен, когда listener.host не loopback (0.0.0.0): перечислите адреса касс');
    // Loopback needs none.
    expect(parseConfig({ listener: { host: '127.0.0.1' } }, {}).config.listener.allowedClients).toEqual([]);
  });

  it('each entry must be an IPv4/IPv6 address or subnet; the message names the entry', () => {
    for (const [bad, index] of [['192.168.1.300', 0], ['10.0.0.0/33', 0], ['fe80::1%eth0', 0], ['касса 3', 0]] as const) {
      const e = invalid({ host: '0.0.0.0', token: TOKEN, allowedClients: [bad] });
      expect(e.message).toContain(`«${bad}» — не IP-адрес и не подсеть (пример: 192.168.1.25, 192.168.1.0/24 или fd00::/64)`);
      expect(e.field).toMatch(new RegExp(`^listener\\.allowedClients(\\.|\\[)${index}`));
    }
    const good = ['192.168.1.0/24', '10.0.0.5', 'fd00::/64', '::ffff:192.168.1.7', '2001:db8::1'];
    expect(parseConfig({ listener: { host: '0.0.0.0', token: TOKEN, allowedClients: good } }, {}).config.listener.allowedClients).toEqual(good);
  });

  it('`sputnik check` and `serve` say who may call; check refuses a LAN bind without the list (exit 2)', async () => {
    const dir = tempDir();
    const write = (listener: object) => {
      const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ listener: { port: 0, token: TOKEN, ...listener }, ui: { port: 0 } }));
      return file;
    };
    const ok = await runCli(['check', '--config', write({ host: '0.0.0.0', allowedClients: ['192.168.1.0/24', '192.168.2.7'] })]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('API для 1С слушает 0.0.0.0 (открыт в сеть): принимаются этот компьютер (127.0.0.1, ::1) и listener.allowedClients — 192.168.1.0/24, 192.168.2.7');
    const loopback = await runCli(['check', '--config', write({})]);
    expect(loopback.stdout).toContain('API для 1С слушает 127.0.0.1: только этот компьютер');
    const missing = await runCli(['check', '--config', write({ host: '0.0.0.0' })]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('listener.allowedClients: обязателен');

    const served = await startServe(['--config', write({ host: '0.0.0.0', allowedClients: ['192.168.1.0/24'] }), '--data-dir', tempDir()]);
    expect(served.stdout()).toContain('listener.allowedClients — 192.168.1.0/24');
  });
});
