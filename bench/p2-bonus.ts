import { Pool } from 'undici';
import { startFakePassteam, type FakePassteam } from '../main/sandbox/passteam/fake.ts';
import { BONUS_SETTLE_MS } from '../main/connectors/passteam/routes.ts';
import { fmt, type BenchResult } from './common.ts';
import { PT_TOKEN, withCardsCore } from './p1-cards.ts';

/**
 * P2: 1000 bonus changes (`POST /v1/cards/{code}/bonus`, balances 1..1000 in order, one keep-alive
 * connection, as one 1C session posting a register, ~1 s) to one already-synced card →
 * how many updatecard calls the fake Passteam (20 ms latency, this process) receives until the
 * card is synced again (target ≤ 2), and the last balance there must be exactly 1000. Baseline:
 * the number of changes (1000); the figure is "changes per call". A second row sends 1..999 over
 * 10 connections (a few hundred ms) and 1000 after they were acknowledged.
 */
const CHANGES = 1000;
const LATENCY_MS = 20;
const CODE = '2000000099999';
const PHONE = '+79876500000';

interface Outcome {
  spanMs: number;
  statuses: Record<string, number>;
  callsAtSynced: number;
  callsAfterGrace: number;
  balances: string[];
  finalBonus: string;
  sputnikBonus: number | null;
  syncedAfterLastMs: number;
  /** Set when the card was not synced within 15 s of the last change: what the store looked like. */
  stuck: string | null;
}

const updateCalls = (fake: FakePassteam) => fake.requests().filter((r) => r.path.endsWith('/updatecard'));

async function burst(connections: number): Promise<Outcome> {
  const fake = await startFakePassteam({ token: PT_TOKEN, latencyMs: LATENCY_MS });
  try {
    return await withCardsCore(fake, {}, async (core, running) => {
      const pool = new Pool(running.listenerUrl, { connections });
      const headers = { authorization: `Bearer ${running.listenerToken}`, 'content-type': 'application/json' };
      const call = async (method: 'PUT' | 'POST' | 'GET', path: string, body?: unknown) => {
        const res = await pool.request({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.statusCode, body: (await res.body.json()) as { state: string; bonus: number | null } };
      };
      const created = await call('PUT', `/v1/cards/${CODE}?wait=10`, {
        holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: PHONE, email: 'ivanov@example.ru' },
        bonus: 0,
      });
      if (created.status !== 200 || created.body.state !== 'synced') throw new Error(`setup: card not synced (${created.status} ${JSON.stringify(created.body)})`);
      fake.clearRequests();

      const statuses: Record<string, number> = {};
      const post = async (balance: number) => {
        const r = await call('POST', `/v1/cards/${CODE}/bonus`, { balance });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      };
      const t0 = performance.now();
      if (connections === 1) {
        for (let balance = 1; balance <= CHANGES; balance++) await post(balance);
      } else {
        // 1..999 in any order over `connections` sessions, then 1000 once those are acknowledged.
        let next = 1;
        await Promise.all(Array.from({ length: connections }, async () => {
          while (next < CHANGES) await post(next++);
        }));
        await post(CHANGES);
      }
      const last = performance.now();

      let synced: { state: string; bonus: number | null } | undefined;
      for (const deadline = last + 15_000; performance.now() < deadline; await new Promise((r) => setTimeout(r, 5))) {
        const got = await call('GET', `/v1/cards/${CODE}`);
        if (got.body.state === 'synced' && got.body.bonus === CHANGES) {
          synced = got.body;
          break;
        }
      }
      let stuck: string | null = null;
      if (!synced) {
        const { sql } = core.store;
        const state = {
          card: (await call('GET', `/v1/cards/${CODE}`)).body,
          jobs: sql.all(`SELECT id, state, attempts, next_run_at - ? AS due_in_ms, retry_wait, last_error FROM jobs ORDER BY id`, Date.now()),
          connector: core.health().connectors?.passteam,
          running: core.workers.runningCount('passteam'),
          updatecard: updateCalls(fake).length,
        };
        stuck = JSON.stringify(state);
      }
      const syncedAt = performance.now();
      const callsAtSynced = updateCalls(fake).length;
      await new Promise((r) => setTimeout(r, BONUS_SETTLE_MS + 500)); // nothing may trail behind
      const calls = updateCalls(fake);
      await pool.close();
      const wallet = fake.cards().filter((c) => c.values.PHONE === PHONE);
      if (wallet.length !== 1) throw new Error(`expected one Wallet card, found ${wallet.length}`);
      return {
        spanMs: last - t0,
        statuses,
        callsAtSynced,
        callsAfterGrace: calls.length,
        balances: calls.map((r) => String((r.form as { values?: Record<string, string> }).values?.['%BONUS%'])),
        finalBonus: wallet[0].values.BONUS,
        sputnikBonus: synced?.bonus ?? null,
        stuck,
        syncedAfterLastMs: syncedAt - last,
      };
    });
  } finally {
    await fake.stop();
  }
}

export async function benchP2(): Promise<BenchResult> {
  const seq = await burst(1);
  const par = await burst(10);
  const row = (name: string, o: Outcome) => ({
    burst: name,
    changes: CHANGES,
    'span ms': fmt(o.spanMs),
    statuses: Object.entries(o.statuses).map(([s, n]) => `${s}×${n}`).join(' '),
    'updatecard calls': o.callsAfterGrace,
    'changes/call': fmt(CHANGES / Math.max(1, o.callsAfterGrace), 0),
    'balances sent': o.balances.join(','),
    'Passteam bonus': o.finalBonus,
    'synced after last ms': o.stuck ? 'NOT within 15 s' : fmt(o.syncedAfterLastMs),
  });
  const worst = Math.max(seq.callsAfterGrace, par.callsAfterGrace);
  const stuck = seq.stuck !== null || par.stuck !== null;
  const exact = !stuck && seq.finalBonus === String(CHANGES) && par.finalBonus === String(CHANGES) && seq.sputnikBonus === CHANGES && par.sputnikBonus === CHANGES;
  const trailing = seq.callsAfterGrace !== seq.callsAtSynced || par.callsAfterGrace !== par.callsAtSynced;
  return {
    id: 'p2',
    title: `P2 bonus burst: ${CHANGES} balances (1..${CHANGES}) to one synced card; fake Passteam ${LATENCY_MS} ms latency; settle ${BONUS_SETTLE_MS} ms`,
    rows: [row('1 connection, in order', seq), row('10 connections, 1000 last', par)],
    notes: [
      'Baseline = the number of changes; "changes/call" is the coalescing ratio. Calls counted until GET shows synced with bonus 1000, then again after a further settle + 0.5 s (must not grow).',
      trailing ? 'WARNING: updatecard calls arrived after the card was reported synced.' : 'No call arrived after the card was reported synced.',
      ...[seq, par].flatMap((o, i) => (o.stuck ? [`STUCK (${i ? 'second' : 'first'} row): card still queued 15 s after the last change: ${o.stuck}`] : [])),
    ],
    summary: stuck
      ? `P2 MISSED: the card was not synced within 15 s of the last change (job queued and due, never run; see note)`
      : `P2 ${worst} updatecard calls for ${CHANGES} changes (target ≤ 2) ${worst <= 2 ? 'MET' : 'MISSED'}; last balance ${exact ? 'exact (1000)' : 'WRONG'}`,
  };
}
