import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startPostgres, type PrivatePostgres } from './postgres.ts';
import { spawnCli, type CliProcess } from './spawn-cli.ts';
import { selfSigned } from './tls.ts';

/**
 * A ReGate cluster on one machine, as an operator would run it: `sputnik serve` processes sharing
 * one PostgreSQL (the private server of test/helpers/postgres.ts) in front of one fake 1C run by
 * `sputnik sandbox 1c`. Everything goes over real sockets: TLS to the gateways, HTTP to the fake.
 */

// Nothing here registers vitest hooks (not ./cli.ts, not ./tmp.ts): the benchmark (bench/regate-cluster.ts) uses this file too.
const children = new Set<ChildProcess>();
const track = (child: ChildProcess) => void children.add(child);

const dirs: string[] = [];
/** A temp dir removed by killAll. */
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Kills every process this helper started and removes their dirs (afterAll / afterEach). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Fake1CProcess extends CliProcess {
  port: number;
  /** http://127.0.0.1:PORT/hs/regate/v1 */
  baseUrl: string;
  statsUrl: string;
}

export interface Fake1CStats {
  maxConcurrent: number;
  calls: number;
  orders: number;
  duplicateOrders: number;
}

/** What `sputnik sandbox 1c` prints once it listens: its base and stats addresses (undefined before). */
export function fake1CAddresses(out: string): { port: number; baseUrl: string; statsUrl: string } | undefined {
  const base = /1С \(ReGate\): (http:\/\/\S+)/.exec(out);
  const stats = /Счётчики: (http:\/\/\S+)/.exec(out);
  return base && stats ? { port: Number(new URL(base[1]).port), baseUrl: base[1], statsUrl: stats[1] } : undefined;
}

/** `sputnik sandbox 1c --port N --pool P --latency-ms L`; resolves once it printed its addresses. */
export function startFake1C(opts: { port?: number; pool?: number; latencyMs?: number } = {}): Promise<Fake1CProcess> {
  const args = ['sandbox', '1c', '--port', String(opts.port ?? 0), '--pool', String(opts.pool ?? 10), '--latency-ms', String(opts.latencyMs ?? 30)];
  return spawnCli(args, { ready: fake1CAddresses, spawned: track });
}

export async function fakeStats(fake: Fake1CProcess): Promise<Fake1CStats> {
  const res = await fetch(fake.statsUrl);
  return (await res.json()) as Fake1CStats;
}

/** Stops the fake (SIGTERM) and waits for it to be gone. */
export async function stopFake1C(fake: Fake1CProcess): Promise<void> {
  fake.child.kill('SIGTERM');
  await fake.exited;
  children.delete(fake.child);
}

export const TENANT = 'shop';
export const USER = 'richest';
export const PASSWORD = 'cluster-secret';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

export interface ClusterSetup {
  /** The config file every instance reads (one file, as copied to every machine). */
  configFile: string;
  /** The environment every instance gets (the PostgreSQL password as SPUTNIK_REGATE_PG_PASSWORD). */
  env: NodeJS.ProcessEnv;
}

/**
 * ReGate's config slice as a gateway on one machine runs it: on loopback, any free port, this
 * certificate, one base (`shop`; the technical user regate/regate unless given, pool 10 unless given).
 */
export function regateConfig(opts: {
  tls: { keyFile: string; certFile: string };
  baseUrl: string;
  password: string;
  onecUser?: string;
  onecPassword?: string;
  poolSize?: number;
}) {
  const tenant = { id: TENANT, user: USER, password: opts.password, baseUrl: opts.baseUrl, onecUser: opts.onecUser ?? 'regate', onecPassword: opts.onecPassword ?? 'regate', poolSize: opts.poolSize ?? 10 };
  return { enabled: true, host: '127.0.0.1', port: 0, tls: opts.tls, tenants: [tenant] };
}

/** The config of a cluster's instance: ReGate on a free port with a self-signed certificate, one base, the shared PostgreSQL. */
export function clusterConfig(opts: { pgUrl: string; pg: PrivatePostgres; baseUrl: string; poolSize?: number; leaseSeconds?: number; sqlite?: boolean }): ClusterSetup {
  const dir = tempDir('sputnik-cluster-');
  // `sqlite`: one gateway on its own store (the benchmark's comparison).
  const store = opts.sqlite ? { kind: 'sqlite' } : { kind: 'postgres', url: opts.pgUrl, leaseSeconds: opts.leaseSeconds ?? 30 };
  const config = { regate: { ...regateConfig({ tls: selfSigned(dir), baseUrl: opts.baseUrl, password: PASSWORD, poolSize: opts.poolSize }), store } };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return { configFile, env: { SPUTNIK_REGATE_PG_PASSWORD: opts.pg.password } };
}

export interface Instance extends CliProcess {
  pid: number;
  /** https://127.0.0.1:PORT */
  url: string;
}

/** `sputnik serve --config …` with its own data dir and free ports; resolves once ReGate printed its address. */
export function startInstance(setup: ClusterSetup): Promise<Instance> {
  const args = ['serve', '--config', setup.configFile, '--data-dir', tempDir('sputnik-node-'), '--port', '0', '--ui-port', '0', '--regate-port', '0'];
  let pid = 0;
  const spawned = (child: ChildProcess) => {
    track(child);
    pid = child.pid!;
  };
  const ready = (out: string) => {
    const m = /ReGate \(HTTPS для Richest\.store\): (https:\/\/\S+?)\/regate\/v1/.exec(out);
    return m ? { pid, url: m[1] } : undefined;
  };
  return spawnCli(args, { env: setup.env, spawned, ready });
}

/** kill -9, and wait for the process to be gone. */
export async function kill9(i: Instance): Promise<void> {
  i.child.kill('SIGKILL');
  await i.exited;
  children.delete(i.child);
}

/** One TLS client for all the calls of a test (self-signed certificates; many connections per instance). */
export const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 128, pipelining: 1 });

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A call to a gateway; a connection that breaks (a killed instance) rejects. */
export async function call(base: string, method: string, path: string, opts: { body?: unknown; key?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: AUTH, accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.key) headers['idempotency-key'] = opts.key;
  const res = await request(new URL(path, base), {
    method: method as 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    dispatcher: agent,
    headersTimeout: opts.timeoutMs ?? 60_000,
    bodyTimeout: opts.timeoutMs ?? 60_000,
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.statusCode, headers: res.headers, body };
}

/** The gateway's own health (open): the store's state and each base's figures. */
export async function gatewayHealth(base: string): Promise<{ gateway: string; store?: { kind: string; state: string; since: string | null; reason: string | null }; tenants: Record<string, { queuedWrites: number }> }> {
  const a = await call(base, 'GET', '/regate/v1/health');
  return a.body as never;
}

export interface Catalogue {
  stores: string[];
  /** Items sold without a stock limit in every store listed (a booking of them is never refused for stock), with their base price. */
  items: Array<{ id: string; price: number }>;
  /** Items with a stock count (a booking takes from it), qty 1 allowed. */
  limited: Array<{ id: string; price: number }>;
  clients: string[];
}

/** Reads through a gateway what a booking needs: a store, unlimited items with their price (qty 1), and seeded clients' ids. */
export async function catalogue(base: string, clients: string[]): Promise<Catalogue> {
  const cities = (await call(base, 'GET', '/regate/v1/cities')).body as { items: Array<{ id: string }> };
  const stores = (await call(base, 'GET', `/regate/v1/cities/${cities.items[0].id}/stores`)).body as { items: Array<{ id: string }> };
  const store = stores.items[0].id;
  const page = (await call(base, 'GET', `/regate/v1/stores/${store}/assortment?limit=500`)).body as {
    items: Array<{ id: string; minQty: number; qtyStep: number; stock: { unlimited: boolean; qty: number | null }; prices: Array<{ fromQty: number; price: number }> }>;
  };
  const single = page.items.filter((i) => i.minQty <= 1 && i.qtyStep === 1);
  const items = single.filter((i) => i.stock.unlimited).map((i) => ({ id: i.id, price: i.prices[0].price }));
  const limited = single.filter((i) => !i.stock.unlimited && (i.stock.qty ?? 0) >= 5).map((i) => ({ id: i.id, price: i.prices[0].price }));
  if (items.length === 0) throw new Error('no unlimited item in the first assortment page');
  return { stores: [store], items, limited, clients };
}

/** A booking body for `client` (a unique richestOrderId): one unlimited item, qty 1, at its price. */
export function booking(cat: Catalogue, client: string, richestOrderId: string, n: number) {
  const item = cat.items[n % cat.items.length];
  return { richestOrderId, client: { externalId: client }, storeId: cat.stores[0], delivery: { address: 'Москва, ул. Ленина, 1' }, lines: [{ itemId: item.id, qty: 1, price: item.price }] };
}

/** The seeded company's client ids (the fake 1C's own seed, as `sputnik sandbox 1c` makes it): bookings need a client 1C knows, also after a restart of the fake. */
export async function seededClients(): Promise<string[]> {
  const { generateCompany } = await import('../../main/sandbox/onec/seed.ts');
  return generateCompany({ seed: 1 }).clients.map((c) => c.externalId);
}

export interface Cluster {
  pg: PrivatePostgres;
  /** The fake 1C (a test that starts it again puts the new one here). */
  fake: Fake1CProcess;
  setup: ClusterSetup;
  /** The live instances, in the balancer's rotation (a test that kills one puts its successor here). */
  nodes: Instance[];
  /** The fake company's seeded clients. */
  clients: string[];
  cat: Catalogue;
  /** The next instance, round robin (the balancer). */
  next(): Instance;
  /** Kills every process this helper started, removes their dirs and destroys PostgreSQL. */
  stop(): void;
}

/**
 * A private PostgreSQL, one fake 1C (pool 10, 30 ms a call unless given) and `instances` gateways
 * sharing them, started one at a time (the first migrates, the others find the schema in place); the
 * seeded clients and the catalogue read through the first. If a part does not start, what did is stopped.
 */
export async function startCluster(opts: { instances: number; leaseSeconds?: number; pool?: number; latencyMs?: number }): Promise<Cluster> {
  const pg = await startPostgres();
  const stop = () => {
    killAll();
    pg.destroy();
  };
  try {
    const pool = opts.pool ?? 10;
    const fake = await startFake1C({ pool, latencyMs: opts.latencyMs ?? 30 });
    const setup = clusterConfig({ pgUrl: pg.url, pg, baseUrl: fake.baseUrl, poolSize: pool, leaseSeconds: opts.leaseSeconds });
    const nodes: Instance[] = [];
    for (let i = 0; i < opts.instances; i++) nodes.push(await startInstance(setup));
    const clients = await seededClients();
    const cat = await catalogue(nodes[0].url, clients);
    let turn = 0;
    const cluster: Cluster = { pg, fake, setup, nodes, clients, cat, next: () => cluster.nodes[turn++ % cluster.nodes.length], stop };
    return cluster;
  } catch (e) {
    stop();
    throw e;
  }
}
