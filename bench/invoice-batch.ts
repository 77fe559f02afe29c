import { parseConfig } from '../main/config/load.ts';
import { createCore } from '../main/core/index.ts';
import { paykeeperModule } from '../main/connectors/paykeeper/index.ts';
import { startFakePayKeeper } from '../main/sandbox/paykeeper/fake.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * One `POST /v1/invoices` with 1000 invoices (e-mailed: preview + send = 2 PayKeeper calls each)
 * against the fake PayKeeper at 50 ms latency, at the connector's configured concurrency.
 * Baseline: the ideal wall time, 1000 × 2 calls × 50 ms / concurrency (plus one token fetch).
 * Measured: from the POST until every invoice is `sent` (the POST itself answers 202 at once).
 */
const N = 1000;
const LATENCY_MS = 50;
const CONCURRENCY = 8;

export async function benchInvoiceBatch(): Promise<BenchResult> {
  const fake = await startFakePayKeeper({ user: 'bench', password: 'bench-pass', latencyMs: LATENCY_MS });
  try {
    return await withTempDir(async (dataDir) => {
      const { config } = parseConfig(
        { listener: { port: 0 }, ui: { port: 0 }, paykeeper: { enabled: true, baseUrl: fake.url, user: 'bench', password: 'bench-pass', concurrency: CONCURRENCY } },
        {},
      );
      const core = await createCore({ config, dataDir, modules: [paykeeperModule], quiet: true });
      const running = await core.start();
      try {
        const invoices = Array.from({ length: N }, (_, i) => ({ orderId: `BENCH-${i}`, amount: `${100 + i}.50`, email: `buyer${i}@example.ru`, clientId: 'Покупатель', serviceName: `Заказ ${i}` }));
        const t0 = performance.now();
        const res = await fetch(new URL('/v1/invoices?wait=0', running.listenerUrl), {
          method: 'POST',
          headers: { authorization: `Bearer ${running.listenerToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ invoices }),
        });
        const accepted = performance.now() - t0;
        if (res.status !== 202) throw new Error(`batch: HTTP ${res.status} ${await res.text()}`);
        const sent = () => core.store.sql.value<number>(`SELECT COUNT(*) FROM invoices WHERE state = 'sent'`) ?? 0;
        while (sent() < N) {
          if (performance.now() - t0 > 120_000) throw new Error(`batch: only ${sent()} of ${N} sent within 120 s`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const seconds = (performance.now() - t0) / 1000;
        const calls = fake.requests().length;
        const ideal = (N * 2 * LATENCY_MS) / CONCURRENCY / 1000 + LATENCY_MS / 1000;
        const ratio = ideal / seconds;
        const rows: BenchResult['rows'] = [
          { variant: `ideal ${fmt(N * 2)} calls × ${LATENCY_MS} ms / ${CONCURRENCY} (baseline)`, seconds: fmt(ideal, 2), 'calls/s': fmt((N * 2 + 1) / ideal), ratio: '1.00' },
          { variant: 'Sputnik: POST → every invoice sent', seconds: fmt(seconds, 2), 'calls/s': fmt(calls / seconds), ratio: fmt(ratio, 2), 'POST answered (ms)': fmt(accepted), 'PayKeeper calls': fmt(calls) },
        ];
        return {
          id: 'invoice-batch',
          title: `Batch of ${fmt(N)} invoices (preview + send each), fake PayKeeper ${LATENCY_MS} ms latency, concurrency ${CONCURRENCY}`,
          rows,
          notes: [`The POST stores all ${fmt(N)} invoices in one commit and answers 202; the rest is the outbox at concurrency ${CONCURRENCY}. The fake runs in this process.`],
          summary: `invoice batch ${fmt(seconds, 1)} s for ${fmt(N)} = ${fmt(ratio * 100)} % of the ideal ${fmt(ideal, 1)} s`,
        };
      } finally {
        await core.stop(1000);
      }
    });
  } finally {
    await fake.stop();
  }
}
