import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startFake1C, type Fake1C, type Fake1CRequest } from '../../main/sandbox/onec/fake.ts';
import { openDatabase } from '../../main/store/db.ts';
import { regateConfig } from '../helpers/regate-cluster.ts';
import { tempDir } from '../helpers/tmp.ts';
import { selfSigned } from '../helpers/tls.ts';
import { startCoreChild, type CoreChild } from './child.ts';

/**
 * Crash safety of ReGate writes (issue: "idempotency … no duplicate order after a timeout-then-retry,
 * even across kill -9 of Sputnik"): the core with ReGate runs in a child process while SESSIONS
 * "Richest.store" sessions create bookings (POST /regate/v1/orders, a unique richestOrderId and an
 * Idempotency-Key each) against the fake 1C (20–40 ms per call, request-id register on), and is
 * SIGKILLed at random moments with calls in flight; now and then 1C processes a write whose answer
 * is lost. A session re-sends whatever got no final answer (cut off, 202, 409, 5xx) with the same key
 * and the same body. In the end every booking is exactly one order in 1C, and every key's final
 * answer names it.
 *
 * The second case turns 1C's register off: then a duplicate may appear, but only where the gateway
 * re-sent a write whose answer was lost (same request id, an earlier call with no answer).
 */
const SESSIONS = 6;
/** Unfinished bookings a session (one customer) may have before it books again. */
const MAX_OPEN = 3;
const AUTH = `Basic ${Buffer.from('richest:sandbox').toString('base64')}`;

interface Booking {
  richestOrderId: string;
  key: string;
  body: string;
  /** The final answer (201 or the replay of it). */
  final: { status: number; orderId: string } | null;
  /** Answers that were not final, by status ('cut' = no answer at all). */
  tries: string[];
  busy: boolean;
  /** Not re-sent before this (ms epoch). */
  nextAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const running: CoreChild[] = [];
let fake: Fake1C | undefined;
afterEach(async () => {
  for (const c of running.splice(0)) c.proc.kill('SIGKILL');
  await fake?.stop();
  fake = undefined;
});

async function scenario(opts: { register: boolean; runs: number; injectEvery: number; finalDeadlineMs: number }) {
  fake = await startFake1C({ latencyScale: 0, fixedLatencyMs: 30, items: 300, requestIdRegister: opts.register });
  const f = fake;
  const dataDir = tempDir('sputnik-crash-regate-');
  const config = { regate: regateConfig({ tls: selfSigned(dataDir), baseUrl: f.baseUrl, password: 'sandbox', onecUser: f.user, onecPassword: f.password }) };
  const startChild = async () => {
    const child = await startCoreChild(dataDir, 'regate', config);
    running.push(child);
    return child;
  };
  const stopChild = async (child: CoreChild, signal: 'SIGKILL' | 'SIGTERM') => {
    child.proc.kill(signal);
    await child.exited;
    running.splice(running.indexOf(child), 1);
  };

  // Stock: a few items of the first store sold without limit, so no booking is refused whenever it runs.
  const company = f.company();
  const storeId = company.stores[0].id;
  const items = Object.keys(company.stock[storeId])
    .slice(0, 8)
    .map((id) => {
      const it = company.items.find((x) => x.id === id)!;
      f.setStock(storeId, id, null);
      return { id, qty: Math.max(1, Number(it.minQty ?? 1), Number(it.qtyStep ?? 1)) };
    });
  const tag = randomUUID().slice(0, 8);
  const clientId = (s: number) => `rs-${tag}-client-${s}`;
  const bookings: Booking[] = [];
  const sessionsOf: Booking[][] = Array.from({ length: SESSIONS }, () => []);
  const unexpected: string[] = [];

  const call = async (agent: Agent, url: string, method: 'PUT' | 'POST', path: string, key: string, body: string) => {
    const res = await request(`${url}${path}`, { method, dispatcher: agent, headers: { authorization: AUTH, 'content-type': 'application/json', 'idempotency-key': key }, body });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };

  // Clients first (no kills): a booking needs its client in 1C.
  {
    const child = await startChild();
    const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: SESSIONS });
    for (let s = 0; s < SESSIONS; s++) {
      const r = await call(agent, child.gatewayUrl!, 'PUT', `/regate/v1/clients/${clientId(s)}`, `client-${tag}-${s}`, JSON.stringify({ name: `Покупатель ${s}`, phone: `+7999000${String(s).padStart(4, '0')}` }));
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await agent.close();
    await stopChild(child, 'SIGTERM');
  }

  /** SESSIONS concurrent "Richest.store" sessions: each re-sends its own unfinished bookings first, then books anew. */
  let sent = 0; // booking calls made, first tries and re-sends
  async function drive(child: CoreChild, stop: () => boolean, resendOnly = false) {
    const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: SESSIONS });
    const session = async (s: number) => {
      const mine = sessionsOf[s];
      let n = mine.length;
      while (!stop() && unexpected.length === 0) {
        // Its own unfinished bookings first, once their retry is due; meanwhile the shop keeps booking.
        let b = mine.find((x) => !x.final && !x.busy && x.nextAt <= Date.now());
        if (!b && resendOnly) {
          if (mine.every((x) => x.final)) return;
          await sleep(20);
          continue;
        }
        if (!b && mine.filter((x) => !x.final).length >= MAX_OPEN) {
          // A shop books a customer's next order when the last ones are through, not a dozen a second
          // while they wait in the queue (which would keep that customer's writes queued for good).
          await sleep(20);
          continue;
        }
        if (!b) {
          const item = items[(s + n) % items.length];
          const richestOrderId = `RS-${tag}-${s}-${n++}`;
          b = {
            richestOrderId,
            key: randomUUID(),
            body: JSON.stringify({
              richestOrderId,
              client: { externalId: clientId(s) },
              storeId,
              delivery: { address: 'Москва, ул. Ленина, 1', from: '2026-11-24T10:00:00+03:00', to: '2026-11-24T14:00:00+03:00' },
              lines: [{ itemId: item.id, qty: item.qty }],
            }),
            final: null,
            tries: [],
            busy: false,
            nextAt: 0,
          };
          mine.push(b);
          bookings.push(b);
        }
        b.busy = true;
        sent++;
        let settled = false;
        try {
          const r = await call(agent, child.gatewayUrl!, 'POST', '/regate/v1/orders', b.key, b.body);
          if (r.status === 201 && typeof r.body?.orderId === 'string') {
            b.final = { status: r.status, orderId: r.body.orderId };
            settled = true;
          } else if (r.status === 202 || r.status === 409 || r.status === 502 || r.status === 503 || r.status === 504) {
            b.tries.push(String(r.status)); // not done yet, or outcome unknown: the same key again a little later
            b.nextAt = Date.now() + (resendOnly ? 100 : 150 + Math.random() * 250);
          } else {
            unexpected.push(`${b.richestOrderId}: ${r.status} ${JSON.stringify(r.body)}`);
          }
        } catch {
          b.tries.push('cut'); // cut off by the kill
        }
        b.busy = false;
        if (!stop()) await sleep(resendOnly ? 0 : 20 + Math.random() * 40);
      }
    };
    await Promise.all(Array.from({ length: SESSIONS }, (_, s) => session(s)));
    await agent.destroy().catch(() => {});
  }

  const resets = new Set<Fake1CRequest>(); // the calls 1C processed but whose answer it dropped
  const cutByKill = new Set<Fake1CRequest>(); // the calls 1C was running when the gateway died
  let injectAt = -1;
  const settleInjection = () => {
    const log = f.requests();
    if (injectAt >= 0 && log.length > injectAt) {
      resets.add(log[injectAt]);
      injectAt = -1;
    }
  };
  const runs: Array<{ midCallRun: boolean; inFlightAtKill: number; delayMs: number; created: number; sent: number; injected: boolean }> = [];
  for (let run = 0; run < opts.runs; run++) {
    f.configure({ fixedLatencyMs: 20 + Math.floor(Math.random() * 21) });
    const child = await startChild();
    const startIndex = f.requests().length;
    const before = bookings.length;
    const sentBefore = sent;
    const delayMs = 250 + Math.random() * 600;
    let killed = false;
    let inFlightAtKill = 0;
    let injected = false;
    const timers: NodeJS.Timeout[] = [];
    if (run % opts.injectEvery === opts.injectEvery - 1 && injectAt < 0) {
      timers.push(
        setTimeout(() => {
          injectAt = f.requests().length;
          f.failNext(1, 'processed-then-reset');
          injected = true;
        }, Math.random() * delayMs * 0.7),
      );
    }
    // Calls 1C has received and not answered yet (the injected lost answer aside): in flight at the kill.
    const inFlightNow = () => {
      settleInjection();
      return f.requests().slice(startIndex).filter((e) => e.status === null && !resets.has(e));
    };
    const kill = () => {
      settleInjection();
      const inFlight = inFlightNow();
      for (const e of inFlight) cutByKill.add(e);
      inFlightAtKill = inFlight.length;
      killed = true;
      child.proc.kill('SIGKILL');
    };
    // Every other run waits, after its delay, for a call to be in 1C, so kills mid-call do not depend
    // on the machine's speed; the others kill wherever the delay falls (between calls too).
    const midCallRun = run % 2 === 0;
    timers.push(
      setTimeout(() => {
        if (!midCallRun || inFlightNow().length > 0) return kill();
        const watch = setInterval(() => {
          if (inFlightNow().length === 0) return;
          clearInterval(watch);
          kill();
        }, 1);
        timers.push(watch);
      }, delayMs),
    );
    await drive(child, () => killed);
    await child.exited;
    running.splice(running.indexOf(child), 1);
    runs.push({ midCallRun, inFlightAtKill, delayMs: Math.round(delayMs), created: bookings.length - before, sent: sent - sentBefore, injected });
  }

  // Last run, no kill: re-send every unfinished booking (same key, same body) until it has its 201.
  f.configure({ fixedLatencyMs: 20 });
  const child = await startChild();
  const deadline = Date.now() + opts.finalDeadlineMs;
  await drive(child, () => bookings.every((b) => b.final) || Date.now() > deadline, true);
  settleInjection();
  const finalTries = new Map(bookings.filter((b) => !b.final).map((b) => [b.richestOrderId, b.tries.slice(-3)]));
  await stopChild(child, 'SIGTERM');

  const db = openDatabase(dataDir);
  let integrity: unknown;
  let unfinishedRows: unknown[];
  try {
    integrity = db.pragma('integrity_check', { simple: true });
    unfinishedRows = db.prepare(`SELECT state, COUNT(*) AS n FROM regate_requests WHERE state NOT IN ('done', 'failed') GROUP BY state`).all();
  } finally {
    db.close();
  }

  const ours = f.orders().filter((o) => o.richestOrderId.startsWith(`RS-${tag}-`)); // the seed has orders of its own
  const ordersByRid = new Map<string, Array<{ id: string; requestId: string | null }>>();
  for (const o of ours) ordersByRid.set(o.richestOrderId, [...(ordersByRid.get(o.richestOrderId) ?? []), { id: o.id, requestId: o.requestId ?? null }]);
  // Every call whose answer never reached the gateway (dropped by 1C, or the gateway killed while it ran), by request id.
  const lostByKey = new Map<string, number>();
  for (const e of f.requests()) {
    const id = e.headers['x-regate-request-id'];
    if ((e.status === null || cutByKill.has(e)) && typeof id === 'string') lostByKey.set(id, (lostByKey.get(id) ?? 0) + 1);
  }
  const postsByKey = new Map<string, number>();
  for (const e of f.requests()) {
    const id = e.headers['x-regate-request-id'];
    if (e.method === 'POST' && typeof id === 'string') postsByKey.set(id, (postsByKey.get(id) ?? 0) + 1);
  }
  const midCall = runs.filter((r) => r.inFlightAtKill > 0).length;
  const cutOff = bookings.reduce((a, b) => a + b.tries.filter((t) => t === 'cut').length, 0);
  const statuses = bookings.flatMap((b) => b.tries).reduce<Record<string, number>>((a, t) => ({ ...a, [t]: (a[t] ?? 0) + 1 }), {});
  const duplicates = [...ordersByRid.values()].reduce((a, os) => a + os.length - 1, 0);
  console.log(
    `crash/regate (register ${opts.register ? 'on' : 'off'}): ${opts.runs} kills, ${bookings.length} bookings, ${ours.length} orders in 1C, duplicates ${duplicates}; ` +
      `kills with calls in flight ${midCall}/${opts.runs} (in flight per kill: ${runs.map((r) => r.inFlightAtKill).join(',')}); bookings per run ${runs.map((r) => r.created).join(',')} (calls ${runs.map((r) => r.sent).join(',')}); ` +
      `lost answers injected ${resets.size}, answers lost ${[...lostByKey.values()].reduce((a, n) => a + n, 0)}, 1C replays ${f.stats().replays}; ` +
      `requests cut off ${cutOff}; non-final answers ${JSON.stringify(statuses)}; unfinished after ${opts.finalDeadlineMs / 1000} s: ${finalTries.size}${finalTries.size ? ` e.g. ${JSON.stringify([...finalTries].slice(0, 3))}` : ''}; ` +
      `store rows not done: ${JSON.stringify(unfinishedRows)}`,
  );

  expect(unexpected).toEqual([]);
  expect(integrity).toBe('ok');
  // Not vacuous: each kill meant to land mid-call did (the others may too).
  const midCallRuns = runs.filter((r) => r.midCallRun);
  expect(midCallRuns).toHaveLength(Math.ceil(opts.runs / 2));
  expect(midCallRuns.filter((r) => r.inFlightAtKill === 0)).toEqual([]);
  expect(midCall).toBeGreaterThanOrEqual(midCallRuns.length);
  // And the shop kept booking in every run. Counted as calls, not new bookings: a client whose writes
  // are queued stays queued while it books faster than 1C drains them (its order is kept), and in a
  // short run it may only re-send bookings still waiting.
  expect(runs.filter((r) => r.sent === 0)).toEqual([]);
  // Every order in 1C is one of ours, made with that booking's key.
  const byRid = new Map(bookings.map((b) => [b.richestOrderId, b]));
  const stray = ours.filter((o) => !byRid.has(o.richestOrderId) || o.requestId !== byRid.get(o.richestOrderId)!.key);
  expect(stray.map((o) => o.richestOrderId)).toEqual([]);
  return { bookings, ordersByRid, lostByKey, postsByKey, finalTries, unfinishedRows: unfinishedRows!, resets, duplicates };
}

describe('SIGKILL during ReGate bookings', () => {
  it('one order per richestOrderId over 10 kills; every key answers with that order', { timeout: 150_000 }, async () => {
    const r = await scenario({ register: true, runs: 10, injectEvery: 3, finalDeadlineMs: 30_000 });
    const wrong = r.bookings.flatMap((b) => {
      const os = r.ordersByRid.get(b.richestOrderId) ?? [];
      if (os.length !== 1) return [`${b.richestOrderId}: ${os.length} orders in 1C`];
      if (!b.final) return [`${b.richestOrderId}: no final answer (last answers ${b.tries.slice(-3).join(',')}), 1C has ${os[0].id}`];
      if (b.final.orderId !== os[0].id) return [`${b.richestOrderId}: the key answers ${b.final.orderId}, 1C has ${os[0].id}`];
      return [];
    });
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(r.unfinishedRows).toEqual([]);
  });
  // Without 1C's request-id register a write whose answer was lost can be booked twice when the
  // gateway re-sends it: exactly-once needs the register (onec/regate). A kill-based demonstration of
  // that proved too timing-dependent to assert, so only the supported set-up is tested here.
});
