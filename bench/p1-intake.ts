import type { AddressInfo } from 'node:net';
import { parseConfig } from '../main/config/load.ts';
import { createCore } from '../main/core/index.ts';
import { probeModule } from '../test/fixtures/probe-domain.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';
import { echoServer, load as runLoad, P1_CONNECTIONS as CONNECTIONS, P1_SECONDS as SECONDS, P1_WARMUP as WARMUP, row, type Load } from './http-load.ts';

/**
 * P1 durable ack: PUT → 202 only after the commit, at 10 keep-alive connections, against a
 * node:http JSON echo in this same process (baseline). The load comes from a separate process.
 * The probe route /v1/_probe/items/:key goes through the same listener and intake path (group
 * commit + outbox) as PUT /v1/cards, without the card domain's work: bench/p1-cards.ts has that.
 */
// ~340 bytes of JSON, the size the architecture's prototype measured.
const BODY = JSON.stringify({ value: `Иванов Иван Иванович, карта 2000000012345, бонусы 1250.50; ${'x'.repeat(240)}` });


function intake(journal: boolean): Promise<Load & { commits: number }> {
  return withTempDir(async (dataDir) => {
    const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 } }, {});
    const core = await createCore({ config, dataDir, modules: [probeModule], quiet: true });
    if (!journal) Object.assign(core.journal, { record: async () => null });
    const running = await core.start();
    try {
      const l = await runLoad({ url: running.listenerUrl, method: 'PUT', path: '/v1/_probe/items/k{i}', token: running.listenerToken, body: BODY });
      return { ...l, commits: core.store.commit.batches };
    } finally {
      await core.stop(1000);
    }
  });
}

export async function benchP1(): Promise<BenchResult> {
  const echo = await echoServer();
  const base = await runLoad({ url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`, method: 'POST', path: '/echo', body: BODY });
  await new Promise((r) => echo.close(r));

  const probe = await intake(true);
  // Diagnostic, not P1: the same with the listener's per-request journal row stubbed out, to show
  // what the journal costs on the intake path (the architecture's prototype had no journal).
  const bare = await intake(false);

  const ratio = probe.requests / base.requests;
  const p99 = probe.latenciesMs[1];
  return {
    id: 'p1',
    title: `P1 durable ack: ${CONNECTIONS} keep-alive connections, ${SECONDS} s (+${WARMUP} s warm-up), ${Buffer.byteLength(BODY)}-byte JSON`,
    rows: [
      row('node:http JSON echo (baseline)', base, base),
      row('PUT /v1/_probe/items/:key → 202', probe, base),
      row('  same, journal stubbed (diagnostic)', bare, base),
    ],
    notes: [
      'The probe route: the same listener, group commit and outbox enqueue as PUT /v1/cards, without the work of the card domain (see p1-cards).',
      `Group commits (incl. warm-up): ${fmt(probe.commits)} with journal, ${fmt(bare.commits)} without.`,
    ],
    summary: `P1 ratio ${fmt(ratio, 2)} (target ≥ 0.33) ${ratio >= 1 / 3 ? 'MET' : 'MISSED'}; p99 ${fmt(p99, 2)} ms (target ≤ 5) ${p99 <= 5 ? 'MET' : 'MISSED'}`,
  };
}
