import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/store/db.ts';
import { Outbox } from '../../main/store/outbox.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Crash safety (architecture.md "Testing"): a child process under intake load is SIGKILLed at
 * random moments; after reopening, every acknowledged request is stored exactly once and the file
 * is intact. Bounded for `npm test`: RUNS kills, each after 20–300 ms of load.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const PROBE_SERVER = resolve(ROOT, 'test/fixtures/probe-server.ts');
const LEASE_CHILD = resolve(ROOT, 'test/crash/lease-child.ts');
const RUNS = 30;
const IN_FLIGHT = 24;

interface Child {
  proc: ChildProcess;
  exited: Promise<void>;
  line: Record<string, any>;
}

/** Spawns a node script and waits for the first JSON line on its stdout. */
async function startChild(script: string, dataDir: string): Promise<Child> {
  const proc = spawn(process.execPath, [script, dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const first = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', ok);
    const timer = setTimeout(() => fail(new Error(`${script}: no ready line within 15 s\n${stderr}`)), 15_000);
    proc.once('exit', (code, signal) => fail(new Error(`${script} exited early (${code ?? signal}):\n${stderr}`)));
    rl.once('line', () => clearTimeout(timer));
  });
  return { proc, exited, line: JSON.parse(first) };
}

async function kill9(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

function putItem(pool: Pool, token: string, key: string) {
  return pool.request({
    method: 'PUT',
    path: `/v1/_probe/items/${key}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value: `value of ${key}` }),
  });
}

describe('SIGKILL under load', () => {
  it(`loses no acknowledged intake and duplicates nothing over ${RUNS} kills`, { timeout: 120_000 }, async () => {
    const dataDir = tempDir('sputnik-crash-');
    const acked = new Set<string>();
    /** Sent but not acknowledged: 1C would retry these, so they are re-sent after the restart. */
    let unacked: string[] = [];
    const killedMidLoad: boolean[] = [];
    let committedNotAcked = 0; // re-sent keys the store already had (answered with jobId null)
    const unexpectedStatuses: number[] = [];
    let next = 0;

    /** Drives IN_FLIGHT concurrent PUTs until `stop()` says so; returns acks and connection errors. */
    async function drive(child: Child, stop: () => boolean, resend: string[], live = { ok: 0 }) {
      const pool = new Pool(child.line.url, { connections: IN_FLIGHT });
      let ok = 0;
      let connErrors = 0;
      const worker = async () => {
        while (!stop()) {
          const retried = resend.length > 0;
          const key = resend.pop() ?? `k${next++}`;
          try {
            const res = await putItem(pool, child.line.token, key);
            const body = (await res.body.json()) as { jobId: number | null };
            if (res.statusCode === 202) {
              acked.add(key);
              ok++;
              live.ok++;
              if (retried && body.jobId === null) committedNotAcked++;
            } else {
              unexpectedStatuses.push(res.statusCode);
              unacked.push(key);
            }
          } catch {
            connErrors++;
            unacked.push(key);
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      await pool.destroy().catch(() => {});
      return { ok, connErrors };
    }

    for (let run = 0; run < RUNS; run++) {
      const child = await startChild(PROBE_SERVER, dataDir);
      const resend = unacked;
      unacked = [];
      let killed = false;
      const live = { ok: 0 };
      const delay = 20 + Math.random() * 280;
      // After its random delay the kill waits for the run's first acknowledgement, so a kill mid-load
      // (acknowledged and cut off) does not depend on how fast this machine starts the child.
      let timer: NodeJS.Timeout = setTimeout(function killOnceAcked() {
        if (live.ok === 0) return void (timer = setTimeout(killOnceAcked, 1));
        killed = true;
        child.proc.kill('SIGKILL');
      }, delay);
      const r = await drive(child, () => killed, resend, live);
      clearTimeout(timer);
      await child.exited;
      unacked.push(...resend); // whatever the run did not get to
      killedMidLoad.push(r.ok > 0 && r.connErrors > 0);
    }

    // Final run: every key still unacknowledged is re-sent until acknowledged, then a clean stop.
    const child = await startChild(PROBE_SERVER, dataDir);
    const resend = unacked;
    unacked = [];
    await drive(child, () => resend.length === 0, resend);
    expect(unacked).toEqual([]);
    child.proc.kill('SIGTERM');
    await child.exited;

    // Not vacuous: most runs were killed with requests both acknowledged and cut off.
    expect(killedMidLoad.filter(Boolean).length).toBeGreaterThanOrEqual(Math.ceil(RUNS * 0.7));
    expect(unexpectedStatuses).toEqual([]);

    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      // The intake's jobs (the core's scheduled housekeeping is a recurring job of its own).
      const rows = db.prepare(`SELECT key, COUNT(*) AS n FROM jobs WHERE kind <> 'recurring' GROUP BY key`).all() as Array<{ key: string; n: number }>;
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const stored = new Set(rows.map((r) => r.key));
      const missing = [...acked].filter((k) => !stored.has(`item:${k}`));
      expect(missing).toEqual([]);
      // Every key ever sent was finally acknowledged, so the store holds exactly those.
      expect(stored.size).toBe(next);
      expect(acked.size).toBe(next);
    } finally {
      db.close();
    }
    console.log(`crash: ${RUNS} kills, ${next} keys, ${killedMidLoad.filter(Boolean).length} kills mid-load, ${committedNotAcked} committed but not acknowledged before a kill`);
  });

  it('jobs leased by a killed worker are recovered once their lease runs out', { timeout: 30_000 }, async () => {
    const dataDir = tempDir('sputnik-crash-lease-');
    const setup = openDatabase(dataDir);
    const ids = setup.transaction(() =>
      Array.from({ length: 40 }, (_, i) => new Outbox(setup).enqueue({ connector: 'probe', kind: 'probe.item', key: `item:${i}`, payload: { i } })!.id),
    )();
    setup.close();

    const child = await startChild(LEASE_CHILD, dataDir);
    const { held, done } = child.line as { held: number[]; done: number[] };
    expect(held.length + done.length).toBe(ids.length);
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80)); // let it be mid-renewal
    await kill9(child);

    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      let now = Date.now();
      const outbox = new Outbox(db, { now: () => now });
      // Leases still valid: nothing recovered, nothing claimable.
      expect(outbox.recoverExpired()).toBe(0);
      expect(outbox.claim('probe', 100, 'survivor')).toEqual([]);
      // Past the lease (30 s, renewed by the child until it died).
      now += outbox.leaseMs + 60_000;
      expect(outbox.recoverExpired()).toBe(held.length);
      const again = outbox.claim('probe', 100, 'survivor');
      expect(again.map((j) => j.id).sort((a, b) => a - b)).toEqual([...held].sort((a, b) => a - b));
      expect(again.every((j) => j.state === 'running' && j.leaseOwner === 'survivor')).toBe(true);
      for (const id of done) expect(outbox.get(id)?.state).toBe('done');
    } finally {
      db.close();
    }
  });
});
