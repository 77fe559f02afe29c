/**
 * Diagnostic: the PostgreSQL statements ReGate instances send per uncached read and per
 * `PUT /clients/{id}` (pg_stat_statements on a private server), with 1, and with 3 instances under
 * the cluster bench's mix (reads that each miss the cache and client writes in turn, callers spread
 * over the instances). Not part of `bench/run.ts`: it restarts its PostgreSQL with
 * pg_stat_statements preloaded. The callers run in this process (counts, not speed).
 *
 *   node bench/regate-pg-statements.ts [callers=300] [seconds=8]
 */
import pg from 'pg';
import { agent, call, catalogue, clusterConfig, killAll, seededClients, startFake1C, startInstance, type Instance } from '../test/helpers/regate-cluster.ts';
import { startPostgres, withPassword } from '../test/helpers/postgres.ts';

const CALLERS = Number(process.argv[2] ?? 300);
const SECONDS = Number(process.argv[3] ?? 8);

const pgsrv = await startPostgres();
try {
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: withPassword(pgsrv.url, pgsrv.password) });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  await admin(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  pgsrv.stop();
  pgsrv.start();
  await admin('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const fake = await startFake1C({ pool: 10, latencyMs: 30 });
  const setup = clusterConfig({ pgUrl: pgsrv.url, pg: pgsrv, baseUrl: fake.baseUrl, poolSize: 10 });
  const nodes: Instance[] = [];
  for (let i = 0; i < 3; i++) nodes.push(await startInstance(setup));
  const cat = await catalogue(nodes[0].url, await seededClients());
  let n = 0;
  /** `callers` loops over `targets` for `seconds`: a read with its own cursor, then a PUT with its own key, in turn. */
  const run = async (targets: Instance[], callers: number, seconds: number, kinds: Array<'read' | 'put'>) => {
    const end = performance.now() + seconds * 1000;
    const counts = { read: 0, put: 0 } as Record<'read' | 'put', number>;
    const statuses: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        const node = targets[c % targets.length];
        for (let k = c; performance.now() < end; k++) {
          const i = n++;
          const kind = kinds[k % kinds.length];
          const a =
            kind === 'read'
              ? await call(node.url, 'GET', `/regate/v1/stores/${cat.stores[0]}/assortment?limit=20&cursor=${Buffer.from(`${cat.stores[0]}:${i}`).toString('base64')}`)
              : await call(node.url, 'PUT', `/regate/v1/clients/diag-${i}`, { key: `diag-${i}`, body: { name: `Клиент ${i}`, phone: `+7999${i}` } });
          counts[kind]++;
          statuses[`${kind} ${a.status}`] = (statuses[`${kind} ${a.status}`] ?? 0) + 1;
        }
      }),
    );
    return { counts, statuses };
  };
  const report = async (title: string, r: Awaited<ReturnType<typeof run>>) => {
    const rows = (await admin(
      `SELECT calls, round(total_exec_time::numeric, 1) AS ms, regexp_replace(query, '\\s+', ' ', 'g') AS q FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY calls DESC`,
    )) as Array<{ calls: string; ms: string; q: string }>;
    const requests = r.counts.read + r.counts.put;
    const total = rows.reduce((a, x) => a + Number(x.calls), 0);
    console.log(`\n== ${title}: ${JSON.stringify(r.statuses)}; ${total} statements = ${(total / requests).toFixed(2)} per request`);
    for (const x of rows.filter((x) => Number(x.calls) >= 3)) console.log(`  ${(Number(x.calls) / requests).toFixed(3).padStart(7)}/req ${String(x.calls).padStart(6)} ${String(x.ms).padStart(8)} ms  ${x.q.slice(0, 150)}`);
  };
  const phases: Array<[string, Instance[], Array<'read' | 'put'>]> = [
    ['1 instance, reads', nodes.slice(0, 1), ['read']],
    ['1 instance, PUTs', nodes.slice(0, 1), ['put']],
    ['3 instances, reads', nodes, ['read']],
    ['3 instances, PUTs', nodes, ['put']],
    ['3 instances, the bench mix', nodes, ['read', 'put']],
  ];
  for (const [title, targets, kinds] of phases) {
    await run(targets, CALLERS, 2, kinds); // warm
    await new Promise((r) => setTimeout(r, 500));
    await admin('SELECT pg_stat_statements_reset()');
    const r = await run(targets, CALLERS, SECONDS, kinds);
    await report(`${title}, ${CALLERS} callers, ${SECONDS} s`, r);
  }
} finally {
  killAll();
  pgsrv.destroy();
  await agent.close().catch(() => {});
}
