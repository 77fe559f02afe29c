import { describe, expect, it } from 'vitest';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createHttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync, readFileSync, existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startServe, type Served } from '../helpers/cli.ts';
import { freePort } from '../helpers/net.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Waits for `serve` to print a line (its last lines may come in a later chunk than those startServe waits for). */
function printed(s: Served, line: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = line.exec(s.stdout());
      if (!m) return;
      s.child.stdout!.off('data', check);
      resolve(m);
    };
    s.child.stdout!.on('data', check);
    void s.exited.then(() => reject(new Error(`no ${line} in:\n${s.stdout()}`)));
    check();
  });
}

/** The ReGate address `serve` prints. */
const regateUrl = async (s: Served) => new URL((await printed(s, /ReGate \(HTTPS для Richest\.store\): (https:\/\/\S+)/))[1]);

/** GET over HTTPS (the sandbox certificate is self-signed); rejects with the socket error, e.g. ECONNREFUSED. */
function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** ReGate starts listening just after `serve` prints its lines: retried while the port still refuses. */
async function regateHealth(base: URL): Promise<{ status: number; body: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await httpsGet(new URL('/regate/v1/health', base).href);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || attempt >= 300) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** This machine's own addresses other loopback (link-local ones need a scope: left out). */
const NETWORK_ADDRESSES = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
  .map((a) => a!.address);

/** Whether a TCP connection to host:port is accepted (false when refused). */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? resolve(false) : reject(e)));
  });
}

/** Every TCP socket a process listens on, from Linux's /proc (null elsewhere): catches listeners it never prints. */
function listeningSockets(pid: number): Array<{ address: string; port: number; loopback: boolean }> | null {
  if (!existsSync(`/proc/${pid}/fd`) || !existsSync('/proc/net/tcp')) return null;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed while listing
    }
  }
  const out: Array<{ address: string; port: number; loopback: boolean }> = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state !== '0A' || !inodes.has(inode)) continue; // 0A: LISTEN
      const [hex, port] = local.split(':');
      // The kernel prints each 32-bit word of the address in host (little-endian) byte order.
      const bytes = hex.match(/.{8}/g)!.flatMap((w) => w.match(/../g)!.reverse().map((b) => parseInt(b, 16)));
      const v4 = bytes.length === 4 ? bytes : bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255 ? bytes.slice(12) : null;
      const address = v4 ? v4.join('.') : (hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join('')).join('').match(/.{4}/g)!.join(':'));
      const loopback = v4 ? v4[0] === 127 : bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1;
      out.push({ address, port: parseInt(port, 16), loopback });
    }
  }
  return out;
}

function writeConfig(obj: unknown, text?: string): string {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, text ?? JSON.stringify(obj));
  return file;
}

describe('sputnik --help / --version', () => {
  it('prints the version and the usage', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('sputnik serve --config');
    expect(h.stdout).toContain('sputnik check --config');
    expect(h.stdout).toContain('--regate-port N');
  });

  it('refuses an unknown command or option with exit 2 and one line', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const o = await runCli(['serve', '--bogus']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('--bogus');
  });
});

describe('sputnik check', () => {
  it('refuses an unknown config field with its path and exit 2', async () => {
    const file = writeConfig({ passteam: { enabled: false, tokn: 'x' } });
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('passteam.tokn');
    expect(r.stderr).toContain('неизвестное поле');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names a wrongly typed field', async () => {
    const r = await runCli(['check', '--config', writeConfig({ listener: { port: 'восемь' } })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('listener.port');
  });

  it('reads a config saved by Notepad (BOM) and reports a file that is not JSON', async () => {
    const ok = await runCli(['check', '--config', writeConfig(null, '\uFEFF{"listener": {"port": 37999}}\r\n')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('passteam: выключен');
    const bad = await runCli(['check', '--config', writeConfig(null, '{"listener": ')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('не JSON');
    const missing = await runCli(['check', '--config', '/nonexistent/sputnik.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('не найден');
  });

  it('requires secrets of enabled connectors, and takes them from environment variables', async () => {
    const file = writeConfig({ passteam: { enabled: true, templateId: 'tpl-1', baseUrl: 'http://127.0.0.1:9' } });
    const without = await runCli(['check', '--config', file]);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('passteam.token');
    expect(without.stderr).toContain('SPUTNIK_PASSTEAM_TOKEN');
    const withEnv = await runCli(['check', '--config', file], { SPUTNIK_PASSTEAM_TOKEN: 'secret-token-123' });
    expect(withEnv.stderr).not.toContain('passteam.token');
    // connection refused on port 9: the check runs and fails in plain words, exit 1
    expect(withEnv.code).toBe(1);
    expect(withEnv.stdout).toMatch(/passteam: ошибка — .*отказал в соединении/);
    expect(withEnv.stdout + withEnv.stderr).not.toContain('secret-token-123');
  });

  it('checks a connector with a real call: Docpart takes the key → ok; a wrong key → exit 1 with the reason', async () => {
    const { startFakeDocpart } = await import('../../main/sandbox/docpart/fake.ts');
    const fake = await startFakeDocpart({ techKey: 'right-key' });
    try {
      const ok = await runCli(['check', '--config', writeConfig({ docpart: { enabled: true, baseUrl: fake.url, techKey: 'right-key' } })]);
      expect(ok.stdout).toMatch(/docpart: ok.*ключ принят/);
      expect(ok.code).toBe(0);
      const wrong = await runCli(['check', '--config', writeConfig({ docpart: { enabled: true, baseUrl: fake.url, techKey: 'wrong' } })]);
      expect(wrong.stdout + wrong.stderr).toMatch(/технический ключ/);
      expect(wrong.code).toBe(1);
    } finally {
      await fake.stop();
    }
  });

  it('refuses a non-loopback listener without a token', async () => {
    const r = await runCli(['check', '--config', writeConfig({ listener: { host: '0.0.0.0' } })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('listener.token');
  });
});

describe('sputnik serve', () => {
  it('needs --config or --sandbox', async () => {
    const r = await runCli(['serve', '--data-dir', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--config');
  });

  it('starts, answers health, prints both addresses, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    const file = writeConfig({ listener: { port: 0, token: 'from-file-token-1' }, ui: { port: 0 } });
    const s = await startServe(['--config', file, '--data-dir', dataDir]);
    expect(s.listenerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.uiLoginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/);
    expect(s.stdout()).not.toContain('from-file-token-1'); // a configured secret is never printed
    const h = await fetch(`${s.listenerUrl}/v1/health`);
    expect(await h.json()).toMatchObject({ status: 'ok' });
    const authed = await fetch(`${s.listenerUrl}/v1/health`, { headers: { Authorization: 'Bearer from-file-token-1' } });
    expect(await authed.json()).toHaveProperty('connectors');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.stdout()).toContain('Спутник остановлен');
    expect(existsSync(join(dataDir, 'sputnik.db'))).toBe(true);
    const logs = readdirSync(join(dataDir, 'logs')).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    const logText = logs.map((f) => readFileSync(join(dataDir, 'logs', f), 'utf8')).join('');
    expect(logText).toContain('sputnik started');
    expect(logText).toContain('sputnik stopped');
    expect(logText).not.toContain('from-file-token-1');
    expect(logText).not.toMatch(/token=[\w-]{20,}/); // the UI login token is printed once, never logged
    expect(existsSync(join(dataDir, 'sputnik.db-wal')) ? readFileSync(join(dataDir, 'sputnik.db-wal')).length : 0).toBe(0);
  });

  it('takes the listener token from SPUTNIK_LISTENER_TOKEN', async () => {
    const file = writeConfig({ listener: { port: 0 }, ui: { port: 0 } });
    const s = await startServe(['--config', file, '--data-dir', tempDir()], { SPUTNIK_LISTENER_TOKEN: 'env-token-abc' });
    const r = await fetch(`${s.listenerUrl}/v1/health`, { headers: { Authorization: 'Bearer env-token-abc' } });
    expect(await r.json()).toHaveProperty('queue');
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });

  it('a taken port: one line naming the port and what to do, exit 3', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--config', writeConfig({ listener: { port }, ui: { port: 0 } }), '--data-dir', tempDir()]);
      expect(r.code).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(String(port));
      expect(lines[0]).toContain('listener.port');
    } finally {
      blocker.close();
    }
  });

  it('a taken ReGate port: exit 3 naming regate.port, not a gateway that silently is not there', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', String(port)]);
      expect(r.code).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(String(port));
      expect(lines[0]).toContain('regate.port');
    } finally {
      blocker.close();
    }
  });

  it("a second sandbox while ReGate's usual port 37443 is taken starts on a free port and prints it", async () => {
    const blocker = createServer();
    // Taken either by this blocker or by another sandbox already running: both are the case under test.
    await new Promise<void>((r) => blocker.once('error', () => r()).listen(37443, '127.0.0.1', r));
    try {
      const s = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0']);
      const url = await regateUrl(s);
      expect(url.port).not.toBe('37443');
      expect((await regateHealth(url)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('--regate-port 0 prints the port ReGate really got, and it answers there', async () => {
    const s = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', '0']);
    const url = await regateUrl(s);
    expect(Number(url.port)).toBeGreaterThan(0);
    expect((await regateHealth(url)).status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('sandbox mode says so in stdout and in health', async () => {
    const s = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0']);
    expect(s.stdout()).toContain('ПЕСОЧНИЦА');
    expect(s.token).toBeTruthy();
    const r = await fetch(`${s.listenerUrl}/v1/health`, { headers: { Authorization: `Bearer ${s.token}` } });
    expect(await r.json()).toMatchObject({ sandbox: true });
    // The fake PayKeeper is wired and the sandbox has invoices in every state Sputnik tracks.
    const states = async () => {
      const res = await fetch(`${s.listenerUrl}/v1/invoices?changedSince=`, { headers: { Authorization: `Bearer ${s.token}` } });
      return new Set(((await res.json()) as { invoices: Array<{ state: string }> }).invoices.map((i) => i.state));
    };
    for (const end = Date.now() + 15_000; (await states()).size < 5 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 200));
    expect([...(await states())].sort()).toEqual(['created', 'expired', 'paid', 'revoked', 'sent']);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('two sandboxes side by side: --port, --ui-port and --regate-port keep them apart, both answer', async () => {
    const [regateA, regateB] = [await freePort(), await freePort()];
    const a = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', String(regateA)]);
    const b = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', String(regateB)]);
    for (const [s, port] of [[a, regateA], [b, regateB]] as const) {
      const url = await regateUrl(s);
      expect(url.port).toBe(String(port));
      const health = await regateHealth(url);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ gateway: 'ok', tenants: { sandbox: expect.any(Object) } });
      const r = await fetch(`${s.listenerUrl}/v1/health`, { headers: { Authorization: `Bearer ${s.token}` } });
      expect(await r.json()).toMatchObject({ sandbox: true });
      const ui = new URL(s.uiLoginUrl);
      const uiHealth = await fetch(new URL('/api/health', ui), { headers: { Authorization: `Bearer ${ui.searchParams.get('token')}` } });
      expect(uiHealth.status).toBe(200);
    }
    expect(a.listenerUrl).not.toBe(b.listenerUrl);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });

  it('the sandbox listens on this machine only: the 1C API, the window, ReGate and the fakes', async () => {
    const regatePort = await freePort();
    const s = await startServe(['--sandbox', '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', String(regatePort)]);
    const regate = await regateUrl(s);
    expect((await regateHealth(regate)).status).toBe(200); // every listener is up from here on
    const fakes = [...s.stdout().matchAll(/^(?:passteam|paykeeper|docpart): включён \((\S+)\)$/gm)].map((m) => m[1]);
    expect(fakes).toHaveLength(3);
    const addresses = [s.listenerUrl, s.uiLoginUrl, regate.href, ...fakes].map((u) => new URL(u));
    for (const u of addresses) expect(u.hostname).toBe('127.0.0.1');
    const sockets = listeningSockets(s.child.pid!);
    if (sockets) {
      expect(sockets.map((x) => x.port)).toEqual(expect.arrayContaining(addresses.map((u) => Number(u.port))));
      expect(sockets.filter((x) => !x.loopback)).toEqual([]);
    }
    for (const address of NETWORK_ADDRESSES) {
      for (const u of addresses) expect({ address, port: u.port, connects: await connects(address, Number(u.port)) }).toEqual({ address, port: u.port, connects: false });
    }
    s.child.kill('SIGTERM');
    await printed(s, /Спутник остановлен/); // all of its output is in
    expect(s.stdout()).not.toContain('Внимание');
    expect(await s.exited).toBe(0);
  });

  it.skipIf(NETWORK_ADDRESSES.length === 0)('the sandbox opens ReGate to the network only when the config file names the host, and says so', async () => {
    const regatePort = await freePort();
    const file = writeConfig({ regate: { host: '0.0.0.0' } });
    const s = await startServe(['--sandbox', '--config', file, '--data-dir', tempDir(), '--port', '0', '--ui-port', '0', '--regate-port', String(regatePort)]);
    expect((await regateHealth(await regateUrl(s))).status).toBe(200);
    expect(await connects(NETWORK_ADDRESSES[0], regatePort)).toBe(true);
    expect(await connects(NETWORK_ADDRESSES[0], Number(new URL(s.listenerUrl).port))).toBe(false); // the rest stays local
    await printed(s, /Внимание: ReGate песочницы открыт в сеть \(regate\.host 0\.0\.0\.0\)/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('--regate-port takes a port number only: anything else is the usage error', async () => {
    for (const bad of ['70000', 'abc', '-1']) {
      const r = await runCli(['serve', '--sandbox', '--data-dir', tempDir(), '--regate-port', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--regate-port');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('an unopenable data dir: exit 4 with the reason', async () => {
    const notADir = join(tempDir(), 'file');
    writeFileSync(notADir, 'x');
    const r = await runCli(['serve', '--sandbox', '--data-dir', notADir, '--port', '0', '--ui-port', '0']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('хранилище');
  });
});
