import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/store/db.ts';
import { Outbox } from '../../main/store/outbox.ts';
import { tempDir } from '../helpers/tmp.ts';
import { childEnv } from './child.ts';

/**
 * Crash safety (architecture.md "Testing"): a child process under intake load is SIGKILLed at
 * random moments; after reopening, every acknowledged request is stored exactly once and the file
 * is intact. Bounded for `npm test`: RUNS kills, each after 20–300 ms of load and the run's first
 * acknowledgement. Four runs in five are killed once the child holds the answer of a request it has
 * stored (intake-child.ts), so they surely cut off stored, unacknowledged work whatever the
 * machine's speed; the fifth is killed wherever its delay falls.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const INTAKE_CHILD = resolve(ROOT, 'test/crash/intake-child.ts');
const LEASE_CHILD = resolve(ROOT, 'test/crash/lease-child.ts');
const RUNS = 30;
const IN_FLIGHT = 24;
const SPARES = 2;

interface Child {
  proc: ChildProcess;
  exited: Promise<void>;
  line: Record<string, any>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
});

function spawnChild(script: string, args: string[]): { proc: ChildProcess; exited: Promise<void>; stderr: () => string } {
  const proc = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  void exited.then(() => running.delete(proc));
  return { proc, exited, stderr: () => stderr };
}

/** The first JSON line on the child's stdout; the later ones go to `rest`. */
function firstLine(child: ReturnType<typeof spawnChild>, script: string, rest: (line: Record<string, any>) => void = () => {}): Promise<Record<string, any>> {
  return new Promise((ok, fail) => {
    const rl = createInterface({ input: child.proc.stdout! });
    let first = true;
    rl.on('line', (line) => {
      if (!first) return rest(JSON.parse(line));
      first = false;
      clearTimeout(timer);
      ok(JSON.parse(line));
    });
    // A liveness bound with a clear message, far above a start's 0.2–2 s (not a timing assertion).
    const timer = setTimeout(() => fail(new Error(`${script}: no ready line within 30 s\n${child.stderr()}`)), 30_000);
    void child.exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`${script} exited early (${child.proc.exitCode ?? child.proc.signalCode}):\n${child.stderr()}`));
    });
  });
}

/** Spawns a node script and waits for the first JSON line on its stdout. */
async function startChild(script: string, dataDir: string): Promise<Child> {
  const child = spawnChild(script, [dataDir]);
  return { proc: child.proc, exited: child.exited, line: await firstLine(child, script) };
}

interface IntakeChild extends Child {
  /** From now on the child holds every stored request's answer; `onHeld` hears each one's job id. */
  hold(onHeld: (jobId: number | null) => void): void;
}

/**
 * intake-child.ts, loading its modules at once; `open()` lets it open the store and listen. The
 * test keeps SPARES of them loading ahead of the runs, so a run waits for the store's opening and
 * the listener, not for Node to load the core again (~0.8 s at an idle machine, 2–3 s at a load
 * average of 10–15, 30 times over).
 */
function prepareIntakeChild(dataDir: string): { open(): Promise<IntakeChild> } {
  const child = spawnChild(INTAKE_CHILD, [dataDir]);
  let heard: (jobId: number | null) => void = () => {};
  return {
    async open() {
      child.proc.stdin!.write('open\n');
      const line = await firstLine(child, INTAKE_CHILD, (l) => heard(l.held));
      return {
        proc: child.proc,
        exited: child.exited,
        line,
        hold(onHeld) {
          heard = onHeld;
          child.proc.stdin!.write('hold\n');
        },
      };
    },
  };
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
  // RUNS short runs: each waits for a child's store and listener to open (its modules loaded ahead),
  // 20–300 ms of load and events, no fixed sleeps. 13 s at a load average of 2–4 on this 2-core VM,
  // 43–47 s at 11–15 (starting each child anew took it to 106 s there); the timeout is about four
  // times the busy figure, so only a hang fails it.
  it(`loses no acknowledged intake and duplicates nothing over ${RUNS} kills`, { timeout: 180_000 }, async () => {
    const dataDir = tempDir('sputnik-crash-');
    const acked = new Set<string>();
    /** Sent but not acknowledged: 1C would retry these, so they are re-sent after the restart. */
    let unacked: string[] = [];
    const killedMidLoad: boolean[] = [];
    /** Jobs of requests stored and never answered when a child was killed (held by it). */
    const heldJobs = new Set<number>();
    /** Re-sent keys the store already had (answered with jobId null): committed, not acknowledged before a kill. */
    const committedNotAcked = new Set<string>();
    const unexpectedStatuses: number[] = [];
    let next = 0;

    /** Drives IN_FLIGHT concurrent PUTs until `stop()` says so; returns acks and connection errors. */
    async function drive(child: Child, stop: () => boolean, resend: string[], onAck = () => {}) {
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
              onAck();
              if (retried && body.jobId === null) committedNotAcked.add(key);
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

    // Children loading ahead (SPARES of them: a run is shorter than a load), each opened in turn after the kill of the one before.
    const spares = Array.from({ length: SPARES }, () => prepareIntakeChild(dataDir));
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      const child = await spares.shift()!.open();
      const t1 = performance.now();
      if (run + SPARES < RUNS + 1) spares.push(prepareIntakeChild(dataDir)); // the final run's child is the last one
      const resend = unacked;
      unacked = [];
      let killed = false;
      const kill = () => {
        killed = true;
        child.proc.kill('SIGKILL');
      };
      // After its random delay the kill waits for the run's first acknowledgement (a run that starts
      // slowly still takes work), then, in a held run, for the child to hold a stored request's answer.
      const heldRun = run % 5 !== 4;
      let due = false;
      let acks = 0;
      let armed = false;
      const fire = () => {
        if (!due || acks === 0 || armed) return;
        armed = true;
        if (!heldRun) return kill();
        child.hold((jobId) => {
          if (jobId !== null) heldJobs.add(jobId);
          if (!killed) kill();
        });
      };
      const timer = setTimeout(() => {
        due = true;
        fire();
      }, 20 + Math.random() * 280);
      const r = await drive(child, () => killed, resend, () => {
        acks++;
        fire();
      });
      clearTimeout(timer);
      await child.exited;
      unacked.push(...resend); // whatever the run did not get to
      killedMidLoad.push(r.ok > 0 && r.connErrors > 0);
      if (process.env.CRASH_DEBUG) console.error('run', run, Math.round(t1 - t0), Math.round(performance.now() - t1), r.ok, r.connErrors);
    }

    // Final run: every key still unacknowledged is re-sent until acknowledged, then a clean stop.
    const child = await spares.shift()!.open();
    const resend = unacked;
    unacked = [];
    await drive(child, () => resend.length === 0, resend);
    expect(unacked).toEqual([]);
    child.proc.kill('SIGTERM');
    await child.exited;

    // Not vacuous: every held run was killed with requests both acknowledged and cut off.
    const heldRuns = killedMidLoad.filter((_, run) => run % 5 !== 4);
    expect(heldRuns).toEqual(Array.from({ length: RUNS - RUNS / 5 }, () => true));
    expect(killedMidLoad.filter(Boolean).length).toBeGreaterThanOrEqual(Math.ceil(RUNS * 0.7));
    expect(heldJobs.size).toBeGreaterThanOrEqual(heldRuns.length);
    expect(unexpectedStatuses).toEqual([]);

    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      // The intake's jobs (the core's scheduled housekeeping is a recurring job of its own).
      const rows = db.prepare(`SELECT key, COUNT(*) AS n FROM jobs WHERE kind <> 'recurring' GROUP BY key`).all() as Array<{ key: string; n: number }>;
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      // The requests the killed children held (stored, never answered) were re-sent and found already stored.
      const held = db.prepare(`SELECT key FROM jobs WHERE id IN (SELECT value FROM json_each(?))`).pluck().all(JSON.stringify([...heldJobs])) as string[];
      expect(held).toHaveLength(heldJobs.size);
      expect(held.map((k) => k.replace(/^item:/, '')).filter((k) => !committedNotAcked.has(k))).toEqual([]);
      const stored = new Set(rows.map((r) => r.key));
      const missing = [...acked].filter((k) => !stored.has(`item:${k}`));
      expect(missing).toEqual([]);
      // Every key ever sent was finally acknowledged, so the store holds exactly those.
      expect(stored.size).toBe(next);
      expect(acked.size).toBe(next);
    } finally {
      db.close();
    }
    console.log(
      `crash: ${RUNS} kills, ${next} keys, ${killedMidLoad.filter(Boolean).length} kills mid-load (${heldRuns.length} while holding a stored request's answer), ` +
        `${heldJobs.size} stored requests held at a kill, ${committedNotAcked.size} committed but not acknowledged before a kill`,
    );
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
