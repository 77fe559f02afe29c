import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/store/db.ts';
import { startFakePassteam, type FakePassteam } from '../../main/sandbox/passteam/fake.ts';
import { tempDir } from '../helpers/tmp.ts';
import { armKill, startCoreChild, type CoreChild } from './child.ts';

/**
 * Crash safety of card delivery (architecture.md "Testing", listener-api.md "Loyalty cards"):
 * the core runs in a child process that takes card PUTs and bonus changes from "1C" while it
 * delivers them to the fake Passteam (20–40 ms latency, now and then a create that Passteam
 * processes but whose answer is lost), and is SIGKILLed: every other run while Passteam holds one
 * of its calls (every fourth a createcard) and the child holds its answer to a 1C write it stored,
 * the others at a random moment. 1C re-sends whatever was not acknowledged. In the end every acknowledged card is one Wallet card per phone with the latest
 * acknowledged balance, and the store file is intact.
 */
const RUNS = 18;
const CLIENTS = 8;
const TOKEN = 'pt-crash-token';

type Child = CoreChild;
const startChild = (dataDir: string, fakeUrl: string) => startCoreChild(dataDir, 'passteam', { passteam: { enabled: true, baseUrl: fakeUrl, token: TOKEN, templateId: 'tpl-loyalty' } });

type Op = { kind: 'put'; body: string; balance: number } | { kind: 'bonus'; body: string; balance: number };

interface SimCard {
  code: string;
  phone: string; // normalised, as Passteam must get it
  /** Balance of the latest acknowledged request; null until the PUT was acknowledged. */
  ackedBalance: number | null;
  /** Sent and not acknowledged: 1C re-sends it before anything newer for this card. */
  pending: Op | null;
  busy: boolean;
}

const NAMES = ['Иванов Иван Иванович', 'Петрова Мария Сергеевна', 'Кузнецов Пётр Ильич', 'Смирнова Анна-Мария', "О'Коннор Ольга"];

/** A card save as 1C writes it: holder spelled the 1C way (phone in any spelling, dd.MM.yyyy or 1C's date-time). */
function putBody(n: number, ten: string, balance: number): string {
  const spellings = [`+7 (${ten.slice(0, 3)}) ${ten.slice(3, 6)}-${ten.slice(6, 8)}-${ten.slice(8)}`, `8${ten}`, ten];
  const day = String(1 + (n % 28)).padStart(2, '0');
  const birthday = n % 2 ? `${day}.05.1990` : `1985-03-${day}T00:00:00`;
  return JSON.stringify({
    holder: { name: NAMES[n % NAMES.length], birthday, phone: spellings[n % spellings.length], email: `client${n}@example.ru` },
    bonus: n % 3 ? balance : String(balance),
    values: { DISCOUNT: String(n % 10) },
  });
}

const running: Child[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.proc.kill('SIGKILL');
});

describe('SIGKILL during card delivery', () => {
  let fake: FakePassteam | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it(`one Wallet card per phone with the latest acknowledged balance over ${RUNS} kills`, { timeout: 120_000 }, async () => {
    fake = await startFakePassteam({ token: TOKEN, latencyMs: 30 });
    const f = fake;
    const dataDir = tempDir('sputnik-crash-cards-');
    const cards: SimCard[] = [];
    const phoneBase = Math.floor(Math.random() * 1_000_000_000);
    const unexpected: string[] = [];
    const runs: Array<{ midCall: boolean; fakeRequests: number; inFlightAtKill: number; acked: number; cutOff: number; delayMs: number }> = [];
    let injected = 0;

    const acks = async (child: Child, pool: Pool, card: SimCard, op: Op): Promise<boolean> => {
      const path = op.kind === 'put' ? `/v1/cards/${card.code}?wait=0` : `/v1/cards/${card.code}/bonus`;
      try {
        const res = await pool.request({
          method: op.kind === 'put' ? 'PUT' : 'POST',
          path,
          headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' },
          body: op.body,
        });
        const text = await res.body.text();
        if (res.statusCode === 200 || res.statusCode === 202) return true;
        unexpected.push(`${op.kind} ${card.code}: ${res.statusCode} ${text}`);
        return false;
      } catch {
        return false; // cut off by the kill: 1C retries later
      }
    };

    /** CLIENTS concurrent "1C sessions": re-sends first, then new cards and bonus changes, until `stop()`. */
    async function drive(child: Child, stop: () => boolean, resendOnly = false, onAck = () => {}) {
      const pool = new Pool(child.url, { connections: CLIENTS });
      let acked = 0;
      let cutOff = 0;
      const pick = (): { card: SimCard; op: Op } | null => {
        const retry = cards.find((c) => c.pending && !c.busy);
        if (retry) return { card: retry, op: retry.pending! };
        if (resendOnly) return null;
        const ready = cards.filter((c) => c.ackedBalance !== null && !c.busy);
        if (ready.length > 0 && Math.random() < 0.55) {
          const card = ready[Math.floor(Math.random() * ready.length)];
          const balance = card.ackedBalance! + 1 + Math.floor(Math.random() * 300);
          // 1C writes numbers either way: 1234 or "1 234".
          const body = JSON.stringify({ balance: balance >= 1000 && balance % 2 ? `${Math.floor(balance / 1000)} ${String(balance % 1000).padStart(3, '0')}` : balance });
          return { card, op: { kind: 'bonus', body, balance } };
        }
        const n = cards.length;
        const ten = `9${String((phoneBase + n) % 1_000_000_000).padStart(9, '0')}`;
        const card: SimCard = { code: `20000${String(n).padStart(8, '0')}`, phone: `+7${ten}`, ackedBalance: null, pending: null, busy: false };
        cards.push(card);
        const balance = Math.floor(Math.random() * 500);
        return { card, op: { kind: 'put', body: putBody(n, ten, balance), balance } };
      };
      const session = async () => {
        while (!stop() && unexpected.length === 0) {
          const next = pick();
          if (!next) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const { card, op } = next;
          card.busy = true;
          card.pending = op;
          if (await acks(child, pool, card, op)) {
            card.pending = null;
            card.ackedBalance = op.balance;
            acked++;
            onAck();
          } else {
            cutOff++;
          }
          card.busy = false;
          // An operator's pace, not a flood: intake would otherwise outrun delivery many times over.
          if (!stop()) await new Promise((r) => setTimeout(r, resendOnly ? 0 : 20 + Math.random() * 40));
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, session));
      await pool.destroy().catch(() => {});
      return { acked, cutOff };
    }

    for (let run = 0; run < RUNS; run++) {
      f.setLatency(20 + Math.floor(Math.random() * 21));
      const child = await startChild(dataDir, f.url);
      running.push(child);
      const before = f.requests().length;
      // Every other run is killed while Passteam holds a call of it; every fourth waits for a createcard,
      // so some create's answer is surely lost to a kill and must be recovered by a lookup.
      const midCall = run % 2 === 0;
      const kill = armKill(child, f, run, { midCall, match: run % 4 === 0 ? (req) => req.path.endsWith('/createcard') : undefined });
      const r = await drive(child, kill.killed, false, kill.acked);
      if (kill.injected()) injected++;
      await child.exited;
      running.splice(running.indexOf(child), 1);
      if (process.env.CRASH_DEBUG) console.error('run', run, JSON.stringify({ unexpected: unexpected.slice(-3), cards: cards.length, pending: cards.filter((c) => c.pending).length }));
      runs.push({ midCall, fakeRequests: f.requests().length - before, inFlightAtKill: kill.inFlight(), acked: r.acked, cutOff: r.cutOff, delayMs: Math.round(kill.delayMs) });
    }

    // Last run: re-send until everything is acknowledged, wait until every card is synced, stop cleanly.
    f.setLatency(20);
    const child = await startChild(dataDir, f.url);
    running.push(child);
    await drive(child, () => cards.every((c) => !c.pending && !c.busy), true);
    expect(unexpected).toEqual([]);
    expect(cards.every((c) => c.ackedBalance !== null)).toBe(true);
    const got = new Map<string, { state: string; cardId: string | null; bonus: number | null; lastError: unknown }>();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pool = new Pool(child.url, { connections: 4 });
      await Promise.all(
        cards.map(async (c) => {
          const res = await pool.request({ method: 'GET', path: `/v1/cards/${c.code}`, headers: { authorization: `Bearer ${child.token}` } });
          got.set(c.code, (await res.body.json()) as never);
        }),
      );
      await pool.destroy();
      const failed = cards.filter((c) => got.get(c.code)!.state === 'failed');
      if (failed.length > 0) throw new Error(`${failed.length} cards failed, e.g. ${JSON.stringify(got.get(failed[0].code))}`);
      const notSynced = cards.filter((c) => got.get(c.code)!.state !== 'synced');
      if (notSynced.length === 0) break;
      if (process.env.CRASH_DEBUG) console.error('not synced', notSynced.length, JSON.stringify(got.get(notSynced[0].code)));
      if (Date.now() > deadline) {
        throw new Error(`not synced within 30 s: ${notSynced.length} of ${cards.length}, e.g. ${JSON.stringify(got.get(notSynced[0].code))}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    child.proc.kill('SIGTERM');
    await child.exited;
    running.splice(running.indexOf(child), 1);

    // Every acknowledged card: exactly one Wallet card for its phone, with the latest acknowledged balance.
    const wallet = f.cards();
    const byPhone = new Map<string, typeof wallet>();
    for (const w of wallet) byPhone.set(w.values.PHONE, [...(byPhone.get(w.values.PHONE) ?? []), w]);
    const wrong = cards.flatMap((c) => {
      const mine = byPhone.get(c.phone) ?? [];
      const view = got.get(c.code)!;
      if (mine.length !== 1) return [`${c.code}: ${mine.length} Wallet cards for ${c.phone}`];
      if (mine[0].values.BONUS !== String(c.ackedBalance)) return [`${c.code}: Passteam has bonus ${mine[0].values.BONUS}, last acknowledged ${c.ackedBalance}`];
      if (view.cardId !== mine[0].cardId || view.bonus !== c.ackedBalance) return [`${c.code}: Sputnik says ${JSON.stringify(view)}, Passteam has ${mine[0].cardId}`];
      return [];
    });
    expect(wrong).toEqual([]);
    expect(wallet).toHaveLength(cards.length); // no stray Wallet cards either

    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare(`SELECT COUNT(*) FROM cards`).pluck().get()).toBe(cards.length);
      expect(db.prepare(`SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running', 'failed') AND kind <> 'recurring'`).pluck().get()).toBe(0);
    } finally {
      db.close();
    }

    // Not vacuous: kills landed while Passteam calls were in flight, and lost answers were recovered by lookup.
    const requests = f.requests();
    const method = (m: string) => requests.filter((r) => r.path.endsWith(`/${m}`)).length;
    const midDelivery = runs.filter((r) => r.inFlightAtKill > 0).length;
    const midCallRuns = runs.filter((r) => r.midCall);
    console.log(
      `crash/cards: ${RUNS} kills, ${cards.length} cards; kills with calls in flight ${midDelivery}/${RUNS} ` +
        `(in flight per kill: ${runs.map((r) => r.inFlightAtKill).join(',')}); fake requests per run: ${runs.map((r) => r.fakeRequests).join(',')}; ` +
        `createcard ${method('createcard')}, updatecard ${method('updatecard')}, lookups ${method('getcardswithpagination')}; lost answers injected ${injected}; ` +
        `requests cut off by kills ${runs.reduce((a, r) => a + r.cutOff, 0)}`,
    );
    // Each kill meant to land mid-delivery did, with Passteam holding a call and a stored 1C write
    // unanswered (the random ones may too).
    expect(midCallRuns).toHaveLength(RUNS / 2);
    expect(midCallRuns.filter((r) => r.inFlightAtKill === 0 || r.fakeRequests === 0 || r.cutOff === 0)).toEqual([]);
    expect(midDelivery).toBeGreaterThanOrEqual(midCallRuns.length);
    expect(runs.filter((r) => r.acked === 0)).toEqual([]); // intake never stops, whatever delivery does
    // Delivery ran in most runs (after an injected failure the connector may still be waiting for its probe).
    expect(runs.filter((r) => r.fakeRequests > 0).length).toBeGreaterThanOrEqual(Math.ceil(RUNS / 2));
    expect(runs.reduce((a, r) => a + r.cutOff, 0)).toBeGreaterThan(0); // some 1C requests were cut off and re-sent
    expect(method('getcardswithpagination')).toBeGreaterThan(0);
    expect(method('createcard')).toBe(cards.length); // every create whose answer was lost was adopted, never sent again
  });
});
