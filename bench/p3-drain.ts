import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { parseConfig } from '../main/config/load.ts';
import { createCore } from '../main/core/index.ts';
import { passteamModule } from '../main/connectors/passteam/index.ts';
import { startFakePassteam } from '../main/sandbox/passteam/fake.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * P3: drain 10,000 queued card updates against the fake Passteam with 20 ms latency at
 * concurrency 8; ideal 8 / 20 ms = 400 calls/s, target ≥ 90 %.
 *
 * How the backlog is made (all through the public APIs): the fake (its own process, as the real
 * Passteam is remote; latency 0 for the setup) gets 10,000 cards created through
 * `PUT /v1/cards/{code}`; once all are synced the connector is switched off in the settings
 * (admin `PUT /api/settings {passteam:{enabled:false}}` — jobs then pause without any call) and
 * every card gets a new bonus and e-mail by PUT → 10,000 queued updatecard jobs. Measured: from
 * switching the connector back on (latency now 20 ms) until the 10,000th job is done.
 */
const CARDS = 10_000;
const CONCURRENCY = 8;
const LATENCY_MS = 20;
const TOKEN = 'pt-bench-token';

// ---- the fake Passteam in a child process: `node bench/p3-drain.ts --fake-child` ----
if (process.argv[1] === import.meta.filename && process.argv[2] === '--fake-child') {
  const fake = await startFakePassteam({ token: TOKEN });
  process.on('message', (m: { id: number; cmd: string; ms?: number }) => {
    let result: unknown = null;
    if (m.cmd === 'latency') fake.setLatency(m.ms!);
    if (m.cmd === 'clear') fake.clearRequests();
    if (m.cmd === 'stats') {
      const count: Record<string, number> = {};
      for (const r of fake.requests()) {
        const method = r.path.split('/').pop()!;
        count[method] = (count[method] ?? 0) + 1;
      }
      const cards = fake.cards();
      result = { count, cards: cards.length, phones: new Set(cards.map((c) => c.values.PHONE)).size, bonus: cards.filter((c) => c.values.BONUS.startsWith('7')).length };
    }
    if (m.cmd === 'stop') void fake.stop().then(() => process.exit(0));
    process.send!({ id: m.id, result });
  });
  process.send!({ id: 0, result: fake.url });
}

class FakeChild {
  readonly #proc: ChildProcess;
  #next = 1;
  readonly #waiting = new Map<number, (r: unknown) => void>();
  readonly ready: Promise<string>;

  constructor() {
    this.#proc = fork(import.meta.filename, ['--fake-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => this.#waiting.set(0, resolve as (r: unknown) => void));
    this.#proc.on('message', (m: { id: number; result: unknown }) => {
      this.#waiting.get(m.id)?.(m.result);
      this.#waiting.delete(m.id);
    });
  }

  call<T>(cmd: string, extra: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve as (r: unknown) => void);
      this.#proc.send({ id, cmd, ...extra });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.#proc.once('exit', r));
    this.#proc.send({ id: this.#next++, cmd: 'stop' });
    await exited;
  }
}

interface Stats {
  count: Record<string, number>;
  cards: number;
  phones: number;
  bonus: number;
}

const BARE_CALLS = 2000;

/** The same calls without Sputnik: CONCURRENCY loops of updatecard straight to the fake. */
async function bareClient(url: string, cardIds: string[]): Promise<{ seconds: number; meanMs: number }> {
  const pool = new Pool(url, { connections: CONCURRENCY });
  let next = 0;
  let total = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < cardIds.length; i = next++) {
        const body = new URLSearchParams({ cardId: cardIds[i], 'values[%BONUS%]': '8000', 'values[%EMAIL%]': `bare${i}@example.ru`, 'values[%PHONE%]': `+79${String(i).padStart(9, '0')}` });
        const started = performance.now();
        const res = await pool.request({
          method: 'POST',
          path: '/oapi/v1/updatecard',
          headers: { authorization: TOKEN, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body: body.toString(),
        });
        await res.body.text();
        total += performance.now() - started;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { seconds, meanMs: total / cardIds.length };
}

/** Sends one request per card over 10 keep-alive connections. */
async function putAll(url: string, token: string, body: (i: number) => unknown): Promise<Record<string, number>> {
  const pool = new Pool(url, { connections: 10 });
  const statuses: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = next++; i < CARDS; i = next++) {
        const res = await pool.request({
          method: 'PUT',
          path: `/v1/cards/p3-${i}?wait=0`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body(i)),
        });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }
    }),
  );
  await pool.close();
  return statuses;
}

export async function benchP3(): Promise<BenchResult> {
  const fake = new FakeChild();
  const fakeUrl = await fake.ready;
  try {
    return await withTempDir(async (dataDir) => {
      const { config } = parseConfig(
        { listener: { port: 0 }, ui: { port: 0 }, passteam: { enabled: true, baseUrl: fakeUrl, token: TOKEN, templateId: 'tpl-loyalty', concurrency: CONCURRENCY } },
        {},
      );
      const core = await createCore({ config, dataDir, modules: [passteamModule], quiet: true });
      const running = await core.start();
      const { sql } = core.store;
      const count = (where: string) => sql.value<number>(`SELECT COUNT(*) FROM cards WHERE ${where}`) ?? 0;
      const until = async (what: string, ok: () => boolean, timeoutMs: number) => {
        for (const deadline = Date.now() + timeoutMs; !ok(); await new Promise((r) => setTimeout(r, 100))) {
          if (Date.now() > deadline) throw new Error(`P3 setup: ${what} not reached within ${timeoutMs / 1000} s`);
        }
      };
      const settings = async (patch: unknown) => {
        const res = await fetch(`${running.uiUrl}api/settings`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${running.uiToken}`, 'x-sputnik-ui': '1', 'content-type': 'application/json' },
          body: JSON.stringify(patch),
        });
        if (res.status !== 200) throw new Error(`settings: ${res.status} ${await res.text()}`);
      };
      try {
        // Setup 1: 10,000 cards created in Passteam (latency 0).
        const holder = (i: number) => ({ name: `Клиент ${i}`, birthday: '17.05.1990', phone: `+7 9${String(i).padStart(9, '0')}`, email: `c${i}@example.ru` });
        const setupStart = performance.now();
        const created = await putAll(running.listenerUrl, running.listenerToken, (i) => ({ holder: holder(i), bonus: 100 }));
        await until('10,000 cards synced', () => count(`state = 'synced'`) === CARDS, 120_000);
        const createSeconds = (performance.now() - setupStart) / 1000;

        // Setup 2: connector off, 10,000 updates queued.
        await settings({ passteam: { enabled: false } });
        const updated = await putAll(running.listenerUrl, running.listenerToken, (i) => ({ bonus: 7000 + (i % 1000), holder: { email: `new${i}@example.ru` } }));
        await until('connector paused with every job queued', () => {
          const q = sql.all<{ state: string; n: number }>(`SELECT state, COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running') AND kind <> 'recurring' GROUP BY state`);
          return core.workers.runningCount('passteam') === 0 && q.length === 1 && q[0].state === 'queued' && q[0].n === CARDS;
        }, 30_000);
        const queued = count(`state = 'queued'`);

        // Measured: the drain.
        await fake.call('latency', { ms: LATENCY_MS });
        await fake.call('clear');
        let done = 0;
        let lastDone = 0;
        let finished!: () => void;
        const allDone = new Promise<void>((r) => (finished = r));
        core.workers.on('settled', (s) => {
          if (s.outcome !== 'done') return;
          done++;
          lastDone = performance.now();
          if (done === CARDS) finished();
        });
        let samples = 0;
        let busy = 0;
        const sampler = setInterval(() => {
          samples++;
          busy += core.workers.runningCount('passteam');
        }, 5);
        const elu0 = performance.eventLoopUtilization();
        const wallStart = Date.now();
        const t0 = performance.now();
        await settings({ passteam: { enabled: true } });
        const timeout = setTimeout(finished, 120_000);
        await allDone;
        clearTimeout(timeout);
        clearInterval(sampler);
        const elu = performance.eventLoopUtilization(elu0).utilization;
        const seconds = (lastDone - t0) / 1000;
        const stats = await fake.call<Stats>('stats');
        const synced = count(`state = 'synced'`);
        core.journal.flush();
        // Each call as Sputnik saw it (journal duration: request sent → answer read), vs. the whole job.
        const callMs = sql.value<number | null>(`SELECT AVG(duration_ms) FROM journal WHERE direction = 'out' AND url LIKE '%/updatecard' AND at >= ?`, wallStart) ?? null;

        // Diagnostic: what a bare HTTP client gets from the same fake at the same concurrency (no store, no journal).
        const bare = await bareClient(fakeUrl, sql.column<string>(`SELECT card_id FROM cards LIMIT ${BARE_CALLS}`));

        const ideal = CONCURRENCY / (LATENCY_MS / 1000);
        const rate = done / seconds;
        const ratio = rate / ideal;
        const rows: BenchResult['rows'] = [
          { variant: `ideal ${CONCURRENCY} / ${LATENCY_MS} ms (baseline)`, jobs: fmt(CARDS), seconds: fmt(CARDS / ideal, 2), 'calls/s': fmt(ideal), ratio: '1.00' },
          {
            variant: `bare undici client, ${fmt(BARE_CALLS)} updatecard (diagnostic)`,
            jobs: fmt(BARE_CALLS),
            seconds: fmt(bare.seconds, 2),
            'calls/s': fmt(BARE_CALLS / bare.seconds),
            ratio: fmt(BARE_CALLS / bare.seconds / ideal, 2),
            'ms per call (journal)': fmt(bare.meanMs, 1),
          },
          {
            variant: 'Sputnik drain',
            jobs: fmt(done),
            seconds: fmt(seconds, 2),
            'calls/s': fmt(rate),
            ratio: fmt(ratio, 2),
            'mean in flight': fmt(busy / Math.max(1, samples), 2),
            'ms per job': fmt((busy / Math.max(1, samples) / rate) * 1000, 1),
            'ms per call (journal)': callMs === null ? '?' : fmt(callMs, 1),
            'main thread busy': `${fmt(elu * 100)} %`,
            updatecard: fmt(stats.count.updatecard ?? 0),
            'other calls': fmt(Object.entries(stats.count).filter(([m]) => m !== 'updatecard').reduce((a, [, n]) => a + n, 0)),
          },
        ];
        return {
          id: 'p3',
          title: `P3 drain: ${fmt(CARDS)} queued card updates, fake Passteam ${LATENCY_MS} ms latency (own process), concurrency ${CONCURRENCY}`,
          rows,
          notes: [
            `Backlog made through the API: ${fmt(CARDS)} PUTs created the cards (${Object.entries(created).map(([s, n]) => `${s}×${n}`).join(' ')}; all synced after ${fmt(createSeconds, 1)} s at latency 0), ` +
              `then the connector was switched off in the settings and ${fmt(CARDS)} PUTs changed bonus and e-mail (${Object.entries(updated).map(([s, n]) => `${s}×${n}`).join(' ')}); ${fmt(queued)} cards queued.`,
            `Clock starts at PUT /api/settings {passteam:{enabled:true}} and stops at the ${fmt(CARDS)}th done job; after it: ${fmt(synced)} cards synced; ` +
              `Passteam has ${fmt(stats.cards)} cards (${fmt(stats.phones)} distinct phones), ${fmt(stats.bonus)} with the new bonus.`,
          ],
          summary: `P3 ${fmt(rate)} calls/s = ${fmt(ratio * 100)} % of ideal ${fmt(ideal)}/s (target ≥ 90 %) ${ratio >= 0.9 && synced === CARDS ? 'MET' : 'MISSED'}`,
        };
      } finally {
        await core.stop(1000);
      }
    });
  } finally {
    await fake.stop();
  }
}
