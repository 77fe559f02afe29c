import { fork } from 'node:child_process';
import { parseConfig } from '../main/config/load.ts';
import { createCore } from '../main/core/index.ts';
import { docpartModule } from '../main/connectors/docpart/index.ts';
import { startFakeDocpart } from '../main/sandbox/docpart/fake.ts';
import { generateDocpartData } from '../main/sandbox/docpart/seed.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';

/**
 * P4: the first pull of 20,000 orders / ~60,000 lines from the fake Docpart, then a second pull with
 * no change (0 changed orders expected). The core runs in its own process so its peak RSS is its
 * own (`maxRSS`); the fake answers from this process. Baseline row: the fake's bare answers to the
 * same requests (one get_orders + the items in chunks of 200), fetched without Sputnik.
 */
const ORDERS = 20_000;
const KEY = 'bench-key';

interface CoreReport {
  first: { seconds: number; orders: number; changed: number; items: number };
  second: { seconds: number; changed: number };
  maxRssMb: number;
}

// ---- the core side: `node bench/p4-docpart.ts --core <fakeUrl>` ----
if (process.argv[1] === import.meta.filename && process.argv[2] === '--core') {
  const report = await withTempDir(async (dataDir) => {
    const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 }, docpart: { enabled: true, baseUrl: process.argv[3], techKey: KEY, everySeconds: 86_400 } }, {});
    const core = await createCore({ config, dataDir, modules: [docpartModule], quiet: true });
    const running = await core.start();
    const pull = async () => {
      const t0 = performance.now();
      const res = await fetch(new URL('/v1/docpart/sync?wait=120', running.listenerUrl), { method: 'POST', headers: { authorization: `Bearer ${running.listenerToken}` } });
      const body = (await res.json()) as { orders: number; changed: number };
      if (res.status !== 200) throw new Error(`sync: HTTP ${res.status} ${JSON.stringify(body)}`);
      return { seconds: (performance.now() - t0) / 1000, ...body };
    };
    try {
      // With no previous pull the schedule starts one at once; this POST joins it, so the time is the whole first pull.
      const first = await pull();
      const items = core.store.sql.value<number>(`SELECT SUM(json_array_length(doc, '$.items')) FROM docpart_orders`) ?? 0;
      const second = await pull();
      return { first: { ...first, items }, second, maxRssMb: process.resourceUsage().maxRSS / 1024 };
    } finally {
      await core.stop(1000);
    }
  });
  process.send!(report);
  process.exit(0);
}

export async function benchP4(): Promise<BenchResult> {
  const t0 = performance.now();
  const data = generateDocpartData({ orders: ORDERS, linesPerOrder: 3, seed: 4 });
  const genSeconds = (performance.now() - t0) / 1000;
  const fake = await startFakeDocpart({ techKey: KEY, data });
  try {
    // Baseline: the same requests without Sputnik (what the fake and the wire cost).
    const b0 = performance.now();
    const post = (body: URLSearchParams) => fetch(`${fake.url}/api/agent_1c/execute.php`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then((r) => r.text());
    const ordersText = await post(new URLSearchParams({ task: 'get_orders', tech_key: KEY, time_from: '01.01.2000' }));
    const ids = data.orders.map((o) => o.order_id);
    for (let i = 0; i < ids.length; i += 200) {
      const f = new URLSearchParams({ task: 'get_orders_items', tech_key: KEY });
      for (const id of ids.slice(i, i + 200)) f.append('order_id[]', String(id));
      await post(f);
    }
    const baseSeconds = (performance.now() - b0) / 1000;
    fake.clearRequests();

    const child = fork(import.meta.filename, ['--core', fake.url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const report = await new Promise<CoreReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as CoreReport));
      child.once('exit', (code) => reject(new Error(`p4 core exited with ${code}`)));
    });
    const requests = fake.requests().length;
    const met = report.first.seconds <= 30 && report.maxRssMb <= 300 && report.second.changed === 0;
    return {
      id: 'p4',
      title: `P4 Docpart first pull: ${fmt(ORDERS)} orders / ${fmt(data.items.length)} lines (+ users, payments) from the fake, then a pull with no change`,
      rows: [
        { variant: 'bare fetch of get_orders + lines, chunks of 200 (baseline)', seconds: fmt(baseSeconds, 2), 'orders JSON MB': fmt(ordersText.length / 1e6, 1) },
        { variant: 'Sputnik first pull (POST /v1/docpart/sync)', seconds: fmt(report.first.seconds, 2), ratio: fmt(report.first.seconds / baseSeconds, 1) + '×', changed: fmt(report.first.changed), lines: fmt(report.first.items), 'peak RSS MB': fmt(report.maxRssMb) },
        { variant: 'second pull, nothing changed', seconds: fmt(report.second.seconds, 2), changed: fmt(report.second.changed) },
      ],
      notes: [`Data generated in ${fmt(genSeconds, 1)} s; ${fmt(requests)} requests to the fake for both pulls; peak RSS is the core process's own (maxRSS).`],
      summary: `P4 first pull ${fmt(report.first.seconds, 1)} s (target ≤ 30), peak RSS ${fmt(report.maxRssMb)} MB (≤ 300), second pull ${fmt(report.second.seconds, 1)} s with ${report.second.changed} changed ${met ? 'MET' : 'MISSED'}`,
    };
  } finally {
    await fake.stop();
  }
}
