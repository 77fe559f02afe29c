import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/store/db.ts';
import { startFakePayKeeper, type FakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { tempDir } from '../helpers/tmp.ts';
import { armKill, startCoreChild, type CoreChild } from './child.ts';

/**
 * Crash safety of invoice creation (issue: "no duplicate invoice for an orderId even after kill -9
 * mid-create"): the core runs in a child process taking invoices from "1C" while it creates and
 * e-mails them in the fake PayKeeper (20–40 ms latency, now and then a create that PayKeeper
 * processes but whose answer is lost), and is SIGKILLed: every other run while PayKeeper holds one
 * of its calls and the child holds its answer to a 1C request it stored, the others at a random moment.
 * 1C re-sends whatever was not acknowledged (same order, same data). In the end every order has
 * exactly one invoice in PayKeeper, e-mailed, and Sputnik knows its id.
 */
const RUNS = 12;
const SESSIONS = 6;
const USER = 'crash';
const PASSWORD = 'crash-password';

type Child = CoreChild;
const startChild = (dataDir: string, fakeUrl: string) => startCoreChild(dataDir, 'paykeeper', { paykeeper: { enabled: true, baseUrl: fakeUrl, user: USER, password: PASSWORD, concurrency: 4 } });

interface SimOrder {
  orderId: string;
  body: string;
  acked: boolean;
  busy: boolean;
}

const running: Child[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.proc.kill('SIGKILL');
});

describe('SIGKILL during invoice creation', () => {
  let fake: FakePayKeeper | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it(`one invoice per order over ${RUNS} kills`, { timeout: 120_000 }, async () => {
    fake = await startFakePayKeeper({ user: USER, password: PASSWORD, latencyMs: 30 });
    const f = fake;
    const dataDir = tempDir('sputnik-crash-invoices-');
    const orders: SimOrder[] = [];
    const unexpected: string[] = [];
    const inFlight: number[] = [];
    const midCallRuns: Array<{ inFlight: number; cutOff: number }> = [];
    let injected = 0;

    async function drive(child: Child, stop: () => boolean, resendOnly = false, onAck = () => {}) {
      const pool = new Pool(child.url, { connections: SESSIONS });
      let cutOff = 0;
      const pick = (): SimOrder | null => {
        const retry = orders.find((o) => !o.acked && !o.busy);
        if (retry || resendOnly) return retry ?? null;
        const n = orders.length;
        const o: SimOrder = {
          orderId: `КР-${n}`,
          body: JSON.stringify({ orderId: `КР-${n}`, amount: `${100 + n},${String(n % 100).padStart(2, '0')}`, email: `buyer${n}@example.ru`, clientId: 'Покупатель' }),
          acked: false,
          busy: false,
        };
        orders.push(o);
        return o;
      };
      const session = async () => {
        while (!stop() && unexpected.length === 0) {
          const o = pick();
          if (!o) return;
          o.busy = true;
          try {
            const res = await pool.request({ method: 'POST', path: '/v1/invoices?wait=0', headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' }, body: o.body });
            const text = await res.body.text();
            if (res.statusCode === 200 || res.statusCode === 202) {
              o.acked = true;
              onAck();
            } else unexpected.push(`${o.orderId}: ${res.statusCode} ${text}`);
          } catch {
            cutOff++; // cut off by the kill: 1C re-sends it
          }
          o.busy = false;
          if (!stop()) await new Promise((r) => setTimeout(r, resendOnly ? 0 : 15 + Math.random() * 30));
        }
      };
      await Promise.all(Array.from({ length: SESSIONS }, session));
      await pool.destroy().catch(() => {});
      return { cutOff };
    }

    for (let run = 0; run < RUNS; run++) {
      f.setLatency(20 + Math.floor(Math.random() * 21));
      const child = await startChild(dataDir, f.url);
      running.push(child);
      // Every other run is killed while PayKeeper holds a call of it: mid-call whatever the machine's speed.
      const kill = armKill(child, f, run, { midCall: run % 2 === 0 });
      const r = await drive(child, kill.killed, false, kill.acked);
      inFlight.push(kill.inFlight());
      if (kill.midCall) midCallRuns.push({ inFlight: kill.inFlight(), cutOff: r.cutOff });
      if (kill.injected()) injected++;
      await child.exited;
      running.splice(running.indexOf(child), 1);
    }

    f.setLatency(20);
    const child = await startChild(dataDir, f.url);
    running.push(child);
    await drive(child, () => orders.every((o) => o.acked), true);
    expect(unexpected).toEqual([]);
    const got = new Map<string, { state: string; invoiceId: string | null }>();
    const deadline = Date.now() + 40_000;
    for (;;) {
      const pool = new Pool(child.url, { connections: 4 });
      await Promise.all(
        orders.map(async (o) => {
          const res = await pool.request({ method: 'GET', path: `/v1/invoices/${encodeURIComponent(o.orderId)}`, headers: { authorization: `Bearer ${child.token}` } });
          got.set(o.orderId, (await res.body.json()) as never);
        }),
      );
      await pool.destroy();
      const failed = orders.filter((o) => got.get(o.orderId)!.state === 'failed');
      if (failed.length > 0) throw new Error(`${failed.length} invoices failed, e.g. ${JSON.stringify(got.get(failed[0].orderId))}`);
      const pending = orders.filter((o) => got.get(o.orderId)!.state !== 'sent');
      if (pending.length === 0) break;
      if (Date.now() > deadline) throw new Error(`not sent within 40 s: ${pending.length} of ${orders.length}, e.g. ${JSON.stringify(got.get(pending[0].orderId))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    child.proc.kill('SIGTERM');
    await child.exited;
    running.splice(running.indexOf(child), 1);

    const byOrder = new Map<string, string[]>();
    for (const inv of f.invoices()) byOrder.set(inv.orderid ?? '', [...(byOrder.get(inv.orderid ?? '') ?? []), inv.id]);
    const wrong = orders.flatMap((o) => {
      const ids = byOrder.get(o.orderId) ?? [];
      if (ids.length !== 1) return [`${o.orderId}: ${ids.length} invoices in PayKeeper`];
      if (got.get(o.orderId)!.invoiceId !== ids[0]) return [`${o.orderId}: Sputnik says ${got.get(o.orderId)!.invoiceId}, PayKeeper has ${ids[0]}`];
      return [];
    });
    expect(wrong).toEqual([]);
    expect(f.invoices()).toHaveLength(orders.length);
    expect(f.invoices().every((i) => i.status === 'sent')).toBe(true);

    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare(`SELECT COUNT(*) FROM invoices`).pluck().get()).toBe(orders.length);
    } finally {
      db.close();
    }
    const searches = f.requests().filter((r) => r.path.startsWith('/info/invoice/search/')).length;
    console.log(`crash/invoices: ${RUNS} kills, ${orders.length} orders; in flight per kill ${inFlight.join(',')}; lost answers injected ${injected}; lookups ${searches}`);
    // Each kill meant to land mid-call did, with a stored 1C request unanswered (the random ones may too).
    expect(midCallRuns).toHaveLength(RUNS / 2);
    expect(midCallRuns.filter((r) => r.inFlight === 0 || r.cutOff === 0)).toEqual([]);
    expect(inFlight.some((n) => n > 0)).toBe(true);
  });
});
