import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * Memory under hostile input: `sputnik serve --sandbox` in its own process, then 10 keep-alive
 * connections send malformed and ~1 MiB bodies (JSON that does not parse, 1 MiB strings in a
 * field, windows-1251 bytes, forms with 20,000 keys, deep nesting, unknown charsets, a bad token)
 * for HOSTILE_SECONDS (default 120). Peak RSS is the kernel's high-water mark (VmHWM) of the
 * child; the baseline in the same run is the same process idle after start-up. Target: peak
 * under 300 MiB. Any 5xx answer is counted: hostile input must get a 4xx.
 */
const CLI = fileURLToPath(new URL('../main/cli.ts', import.meta.url));
const CONNECTIONS = 10;
const SECONDS = Number(process.env.HOSTILE_SECONDS ?? 120);
const TARGET_MIB = 300;
const MiB = 1024 * 1024;

interface Case {
  name: string;
  method: 'PUT' | 'POST';
  path: string;
  contentType: string;
  body: Buffer;
  auth?: 'bad';
}

function cases(): Case[] {
  const big = 'я'.repeat(MiB / 2 - 64); // ~1 MiB of UTF-8
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const formKeys = Array.from({ length: 20_000 }, (_, i) => `values[k${i}]=${i}`).join('&');
  return [
    { name: 'truncated JSON, 1 MiB', method: 'PUT', path: '/v1/cards/0001', contentType: 'application/json', body: Buffer.from(`{"holder":{"name":"${big}`) },
    { name: '1 MiB name', method: 'PUT', path: '/v1/cards/0002', contentType: 'application/json', body: json({ holder: { name: big, phone: '+79990000000' } }) },
    { name: 'over the body limit', method: 'POST', path: '/v1/invoices', contentType: 'application/json', body: Buffer.alloc(MiB + 4096, 0x20) },
    { name: 'windows-1251 bytes as UTF-8', method: 'POST', path: '/v1/invoices', contentType: 'application/json; charset=utf-8', body: Buffer.alloc(MiB - 4096, 0xe0) },
    { name: 'form, 20,000 keys', method: 'PUT', path: '/v1/cards/0003', contentType: 'application/x-www-form-urlencoded', body: Buffer.from(formKeys) },
    { name: 'nesting 100,000 deep', method: 'POST', path: '/v1/invoices', contentType: 'application/json', body: Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)) },
    { name: 'charset=constructor', method: 'PUT', path: '/v1/cards/0004', contentType: 'application/json; charset=constructor', body: json({ holder: { phone: '+79990000000' } }) },
    { name: 'batch of 1,000 bad invoices', method: 'POST', path: '/v1/invoices', contentType: 'application/json', body: json({ invoices: Array.from({ length: 1000 }, (_, i) => ({ orderId: `B${i}`, amount: 'много', email: 'нет' })) }) },
    { name: 'bad token, 1 MiB', method: 'PUT', path: '/v1/cards/0005', contentType: 'application/json', body: json({ holder: { name: big } }), auth: 'bad' },
  ];
}

/** Kilobytes from /proc/<pid>/status (VmRSS now, VmHWM the peak). */
function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export async function benchHostileMemory(): Promise<BenchResult> {
  return withTempDir(async (dir) => {
    const child = spawn(process.execPath, [...(process.env.HOSTILE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), CLI, 'serve', '--sandbox', '--data-dir', dir, '--port', '0', '--ui-port', '0', '--regate-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let out = '';
    try {
      const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
        const seen = () => {
          const u = /API для 1С:\s*(http:\/\/\S+)/.exec(out)?.[1];
          const t = /Токен для 1С \(Authorization: Bearer …\): (\S+)/.exec(out)?.[1];
          if (u && t) resolve({ url: u, token: t });
        };
        child.stdout.on('data', (c: Buffer) => ((out += c.toString()), seen()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        if (process.env.HOSTILE_TRACE) child.stdout.on('data', (c: Buffer) => process.stderr.write(c));
        child.once('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}`)));
      });
      const pid = child.pid!;
      const agent = new Agent({ connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000 });
      // Idle baseline: the started process after one ordinary request and a moment's rest.
      await request(`${url}/v1/health`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } }).then((r) => r.body.dump());
      await new Promise((r) => setTimeout(r, Number(process.env.HOSTILE_SETTLE_MS ?? 15_000)));
      const idleKb = procKb(pid, 'VmRSS');
      const idleHwmKb = procKb(pid, 'VmHWM');

      // HOSTILE_ONLY=<part of a case name>: one kind of body alone, to see which one holds the memory.
      const all = cases().filter((c) => !process.env.HOSTILE_ONLY || c.name.includes(process.env.HOSTILE_ONLY));
      const byCase = new Map<string, { sent: number; statuses: Map<number, number> }>(all.map((c) => [c.name, { sent: 0, statuses: new Map() }]));
      const deadline = performance.now() + SECONDS * 1000;
      let transportErrors = 0;
      let sampleMaxKb = 0;
      const sampler = setInterval(() => (sampleMaxKb = Math.max(sampleMaxKb, procKb(pid, 'VmRSS'))), 250);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const c = all[next++ % all.length];
            const stat = byCase.get(c.name)!;
            stat.sent++;
            try {
              const res = await request(`${url}${c.path}`, {
                dispatcher: agent,
                method: c.method,
                headers: { 'content-type': c.contentType, authorization: `Bearer ${c.auth === 'bad' ? 'wrong' : token}` },
                body: c.body,
              });
              await res.body.dump();
              stat.statuses.set(res.statusCode, (stat.statuses.get(res.statusCode) ?? 0) + 1);
            } catch {
              transportErrors++; // a 413 may close the connection mid-upload: undici reports it here
            }
          }
        }),
      );
      clearInterval(sampler);
      const peakKb = procKb(pid, 'VmHWM');
      await agent.close();

      const mib = (kb: number) => fmt(kb / 1024, 0);
      const fiveXx = [...byCase.values()].reduce((n, s) => n + [...s.statuses].filter(([st]) => st >= 500).reduce((m, [, k]) => m + k, 0), 0);
      const rows: Array<Record<string, string | number>> = [
        { variant: 'sandbox idle after start (baseline)', 'RSS MiB': mib(idleKb), 'peak MiB': mib(idleHwmKb), requests: '' },
        { variant: `${CONNECTIONS} connections of hostile bodies, ${SECONDS} s`, 'RSS MiB': mib(sampleMaxKb), 'peak MiB': mib(peakKb), requests: [...byCase.values()].reduce((n, s) => n + s.sent, 0) },
      ];
      const notes = [...byCase].map(([name, s]) => `${name}: ${s.sent} sent, answers ${[...s.statuses].map(([st, n]) => `${st}×${n}`).join(' ') || 'none'}`);
      notes.push(`transport errors (connection closed by a refusal mid-upload): ${transportErrors}; 5xx answers: ${fiveXx}`);
      const met = peakKb / 1024 < TARGET_MIB && fiveXx === 0;
      return {
        id: 'hostile-memory',
        title: `Peak RSS under hostile input (target < ${TARGET_MIB} MiB, no 5xx)`,
        rows,
        notes,
        summary: `peak ${mib(peakKb)} MiB vs ${mib(idleKb)} MiB idle (${fmt(peakKb / idleKb, 2)}×), 5xx ${fiveXx}: ${met ? 'MET' : 'MISSED'}`,
      };
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
}
