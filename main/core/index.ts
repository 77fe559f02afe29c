import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import { CONNECTORS, configSchema, isLoopback, sliceOf } from '../config/schema.ts';
import { applyPatch, secretValues } from '../config/settings-store.ts';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';
import { checkOne } from './check.ts';
import { MemorySettingsStore, type SettingsStore } from '../config/settings-store.ts';
import { SputnikError } from '../errors.ts';
import { errorMessage, isRecord } from '../unknown.ts';
import { createDispatcher, HttpClient } from '../http/client.ts';
import { Journal } from '../journal/index.ts';
import { jobEvent } from '../journal/events.ts';
import { createListenerApp } from '../listener/app.ts';
import type { HealthBody } from '../listener/health.ts';
import { toOnecDateTime } from '../listener/onec-values.ts';
import { createAdminApp } from '../admin/app.ts';
import { createLogger, silentLogger, type Logger } from '../log/logger.ts';
import { openStore, type Store, type StoreOptions } from '../store/index.ts';
import { startCheckpointer, type Checkpointer } from '../store/checkpointer.ts';
import { DB_FILE } from '../store/db.ts';
import { WorkerPool } from '../store/worker-pool.ts';
import { VERSION } from '../version.ts';
import { Refusals } from '../store/refusals.ts';
import { collectAttention, keepingRefusals } from './attention.ts';
import { Housekeeping, type HousekeepingResult } from './housekeeping.ts';
import { Recurring } from './recurring.ts';
import { RECURRING_KIND } from '../store/outbox.ts';
import { listen } from './listen.ts';
import type { CoreModule, ModuleDescriptor, ModuleFactory } from './module.ts';
import { feedsOf, metaOf, moduleMigrations, REGISTRY } from './registry.ts';
import { SettingsService } from './settings.ts';
import { DeliveryWaits } from './wait.ts';

export interface CoreOptions {
  config: Config;
  dataDir: string;
  sandbox?: boolean;
  settingsStore?: SettingsStore;
  fromEnv?: string[];
  /** What runs: registered modules (their code is loaded here) or factories (tests, with their own options). */
  modules?: ReadonlyArray<ModuleFactory | ModuleDescriptor>;
  /** Where the built UI is (out/renderer); defaults to the repo's. */
  rendererDir?: string;
  /** Tests: no log file. */
  quiet?: boolean;
  /**
   * Store and outbox tuning (tests: a short lease, so a killed process's work returns quickly). Its
   * `now` is the store's clock: the outbox, ReGate's kept keys and housekeeping all read it.
   */
  outbox?: StoreOptions;
}

export interface RunningCore {
  listenerUrl: string;
  uiUrl: string;
  /** The UI address with the per-run login token (print once). */
  uiLoginUrl: string;
  uiToken: string;
  listenerToken: string;
}

export type CoreHealth = HealthBody & { listener: { url: string; exposed: boolean } };

export interface Core {
  start(): Promise<RunningCore>;
  /** Stops intake, lets running work finish (at most `graceMs`), closes the store. */
  stop(graceMs?: number): Promise<void>;
  health(detailed?: boolean): CoreHealth;
  readonly store: Store;
  readonly journal: Journal;
  readonly workers: WorkerPool;
  /**
   * Ages out every table that ages (journal, done outbox jobs, each module's hook) as of the store's
   * clock; the core runs it every minute. Tests call it to run one at a moment they choose.
   */
  housekeeping(): Promise<HousekeepingResult>;
}

const HOUSEKEEPING_EVERY_MS = 60_000;

const DEFAULT_RENDERER = fileURLToPath(new URL('../../out/renderer', import.meta.url));

/** No token configured or kept: one is generated and kept, so a fresh install is never open without one. */
function newListenerToken(store: Store): string {
  const token = randomBytes(24).toString('base64url');
  store.meta.set('listener_token', token);
  return token;
}

/** The Sputnik core: store, journal, outbox workers, 1C listener and admin API. Never imports electron. */
export async function createCore(opts: CoreOptions): Promise<Core> {
  const factories = await Promise.all((opts.modules ?? []).map(async (m) => (typeof m === 'function' ? m : (await m.load()).module)));
  let store: Store;
  try {
    // Every registered module's tables, whichever of them run: the store is one file for all.
    store = openStore(opts.dataDir, { ...opts.outbox, migrations: moduleMigrations(REGISTRY) });
  } catch (error) {
    throw new SputnikError(503, 'store_unavailable', `Не удалось открыть хранилище в ${opts.dataDir}: ${errorMessage(error)}`, { cause: error });
  }
  const log: Logger = opts.quiet ? silentLogger() : await createLogger(opts.dataDir, opts.config.log);
  const logFn = (msg: string, extra?: object) => log.warn(extra ?? {}, msg);

  const configuredToken = opts.config.listener.token ?? store.meta.get('listener_token');
  const listenerToken = configuredToken || newListenerToken(store);
  const uiToken = randomBytes(24).toString('base64url');
  // The window's session (its cookie) outlives a restart, so an open window reconnects by itself;
  // the printed login token stays per run.
  const keptSession = store.meta.get('ui_session');
  const uiSession = keptSession ?? randomBytes(24).toString('base64url');
  if (!keptSession) store.meta.set('ui_session', uiSession);

  const settings = new SettingsService(opts.config, opts.settingsStore ?? new MemorySettingsStore(), opts.fromEnv ?? [], (next, changed) => {
    for (const c of changed) store.outbox.resume(c);
    for (const m of modules) if (m.connector && changed.includes(m.connector)) m.reconfigure?.(next);
  });
  const secrets = () => {
    const c = settings.config;
    return [listenerToken, uiToken, uiSession, ...secretValues(c)];
  };
  const journal = new Journal(store, { ...opts.config.journal, secrets });
  const http = new HttpClient(createDispatcher(opts.config.http), journal);
  const workers = new WorkerPool(store.outbox, {
    log: logFn,
    // Each delivery run is one journal event: «Карта 0000103 → Passteam: отправлена», or why not.
    // A recurring run journals itself (a Docpart pull is one event with its counts; housekeeping none).
    // A run a stop cut short is no failure: its event says it was interrupted and goes again.
    around: (job, run, how) => {
      if (job.kind === RECURRING_KIND) return run();
      const { start, end } = jobEvent(job);
      return journal.within(start, run, end, how);
    },
  });
  const waits = new DeliveryWaits(workers, store.outbox);
  const recurring = new Recurring(store, { log: logFn });
  const modules: CoreModule[] = factories.map((f) =>
    f({ store, journal, http, workers, waits, config: () => settings.config, log, recurring: (spec) => recurring.add(spec) }),
  );
  const refusals = new Refusals(store);
  const housekeeping = new Housekeeping(
    [
      { name: 'journal', run: (now) => ({ journal: journal.prune(now) }) },
      { name: 'outbox', run: (now) => ({ jobs: store.outbox.pruneDone(now - settings.config.journal.retentionDays * 86_400_000) }) },
      { name: 'refusals', run: async (now) => ({ refusals: await refusals.prune(now - settings.config.journal.retentionDays * 86_400_000) }) },
      ...modules.flatMap((m) => (m.housekeeping ? [{ name: m.name, run: m.housekeeping }] : [])),
    ],
    store.outbox.now,
    log,
  );
  // On the outbox like every recurring job: the first run a minute after the first start, then a
  // minute after each run ends (a restart keeps the plan).
  recurring.add({ connector: 'core', key: 'core:housekeeping', every: HOUSEKEEPING_EVERY_MS, firstAt: (now) => now + HOUSEKEEPING_EVERY_MS, run: () => housekeeping.run() });
  for (const lane of recurring.lanes(modules.flatMap((m) => (m.workers ? [m.workers] : [])))) workers.register(lane);

  let listenerUrl = '';
  // The registered modules' change feeds (their tables' newest seq), by kind: the window's `change` events.
  const feeds = feedsOf(REGISTRY).map((f) => ({ kind: f.kind, text: `SELECT COALESCE(MAX(seq), 0) FROM ${f.table}` }));
  const feedSeqs = () => Object.fromEntries(feeds.map((f) => [f.kind, store.sql.value<number>(f.text) ?? 0]));
  const meta = metaOf(REGISTRY, configSchema);
  const health = (detailed = true): CoreHealth => {
    const cfg = settings.config;
    const ok = store.writable();
    const base: CoreHealth = {
      status: ok ? 'ok' : 'degraded',
      version: VERSION,
      listener: { url: listenerUrl, exposed: !isLoopback(cfg.listener.host) },
    };
    if (!detailed) return base;
    const connectors: NonNullable<HealthBody['connectors']> = {};
    for (const name of CONNECTORS) {
      const enabled = sliceOf(cfg, name).enabled === true;
      const s = ok ? store.outbox.connectorStatus(name) : null;
      connectors[name] = {
        state: !enabled ? 'disabled' : (s?.state ?? 'ok'),
        lastError: enabled ? (s?.lastError ?? null) : null,
        since: enabled && s?.since ? toOnecDateTime(s.since) : null,
      };
    }
    const depth = ok ? store.outbox.depth() : [];
    const oldest = depth.length ? Math.min(...depth.map((d) => d.oldest)) : null;
    return {
      ...base,
      sandbox: Boolean(opts.sandbox),
      connectors,
      queue: { depth: depth.reduce((a, d) => a + d.queued, 0), oldestAgeSeconds: oldest === null ? null : Math.round((Date.now() - oldest) / 1000) },
      store: { ok },
      ...Object.assign({}, ...modules.map((m) => m.health?.() ?? {})),
    };
  };

  let listener: FastifyInstance | undefined;
  let admin: FastifyInstance | undefined;
  const moduleStops: Array<() => Promise<void> | void> = [];
  let stopped = false;
  let checkpointer: Checkpointer | undefined;


  return {
    store,
    journal,
    workers,
    health,
    housekeeping: () => housekeeping.run(),
    async start() {
      const cfg = settings.config;
      checkpointer = startCheckpointer(join(opts.dataDir, DB_FILE));
      listener = await createListenerApp({
        config: cfg.listener,
        token: () => listenerToken,
        health: (d) => {
          // 1C sees exactly the documented body: without a token only status and version.
          const { listener: _listener, ...body } = health(d);
          return d ? body : { status: body.status, version: body.version };
        },
        journal,
        domains: modules.flatMap((m) => (m.routes ? [m.callSubjects ? keepingRefusals(m.routes, m.callSubjects, refusals, store.outbox.now, logFn) : m.routes] : [])),
        log: logFn,
      });
      admin = await createAdminApp({
        domains: modules.flatMap((m) => (m.admin ? [m.admin] : [])),
        token: uiToken,
        session: uiSession,
        rendererDir: opts.rendererDir ?? DEFAULT_RENDERER,
        health: () => health(true),
        meta,
        journal,
        settings,
        log: logFn,
        ops: {
          listener: () => ({ url: listenerUrl, port: Number(new URL(listenerUrl).port), token: listenerToken }),
          retry: (entity) => {
            for (const m of modules) {
              const r = m.retry?.(entity);
              if (r) {
                // The operator asked for it now: a connector waiting out a backoff tries at once.
                if (m.connector && store.outbox.connectorStatus(m.connector).state === 'failing') store.outbox.resume(m.connector);
                return r;
              }
            }
            return null;
          },
          pause: (c) => store.outbox.pauseConnector(c),
          resume: (c) => store.outbox.resume(c),
          testConnection: async (connector, patch) => {
            const merged = configSchema.safeParse(applyPatch(settings.config, { [connector]: { ...(isRecord(patch) ? patch : {}), enabled: true } }), INPUT_IN_ISSUES);
            if (!merged.success) {
              const [first] = describeZodError(merged.error);
              throw new SputnikError(422, 'invalid_value', `Настройка «${first.field}»: ${first.message}`, { field: first.field });
            }
            return checkOne(merged.data, http, connector);
          },
          changes: () => ({ journal: journal.lastId(), ...feedSeqs() }),
          // A committed write, and a job's outcome (a connector failing or ok again, written by the outbox itself).
          onChange: (listener) => {
            const off = store.onChange(listener);
            workers.on('settled', listener);
            return () => {
              off();
              workers.off('settled', listener);
            };
          },
          attention: (limit) =>
            collectAttention({ modules, outbox: store.outbox, refusals, now: store.outbox.now(), limit, enabled: (c) => sliceOf(settings.config, c).enabled !== false }),
          dismiss: (ref) => {
            const key = ref.slice('refusal:'.length);
            if (!ref.startsWith('refusal:') || !refusals.has(key)) return false;
            // Relaxed: the row is gone before this returns; a failed commit is only logged (the note comes back).
            refusals.remove([key]).catch((e: unknown) => logFn('refusal not dismissed', { err: errorMessage(e) }));
            return true;
          },
        },
      });
      try {
        const l = await listen(listener, cfg.listener.host, cfg.listener.port, 'API для 1С', 'listener.port');
        listenerUrl = `http://${l.family === 'IPv6' ? `[${l.address}]` : l.address}:${l.port}`;
        const a = await listen(admin, '127.0.0.1', cfg.ui.port, 'окно Спутника', 'ui.port');
        await recurring.start();
        workers.start();
        for (const m of modules) {
          const stop = await m.start?.();
          if (stop) moduleStops.push(stop);
        }
        journal.index.start();
        const uiUrl = `http://127.0.0.1:${a.port}/`;
        log.info({ listenerUrl, uiUrl, sandbox: Boolean(opts.sandbox) }, 'sputnik started');
        return { listenerUrl, uiUrl, uiLoginUrl: `${uiUrl}?token=${uiToken}`, uiToken, listenerToken };
      } catch (error) {
        await Promise.allSettled([listener.close(), admin.close(), ...moduleStops.map((s) => s())]);
        throw error;
      }
    },
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      const deadline = Date.now() + graceMs;
      // Intake first: no new work is accepted while the rest winds down; waiting callers get 202 now.
      waits.close();
      listener?.server.closeIdleConnections?.();
      await Promise.allSettled([listener?.close(), admin?.close()]);
      // No job starts from here: a run a module's stop cuts short (a Docpart pull) goes back to the
      // queue as interrupted and must not be claimed again before the pool stops.
      workers.quiesce();
      await Promise.allSettled(moduleStops.map((s) => s()));
      await workers.stop(Math.max(0, deadline - Date.now()));
      await housekeeping.stop();
      journal.index.stop();
      await http.destroy().catch(() => {}); // running work had its grace period; the rest is requeued
      journal.flush();
      await checkpointer?.stop();
      store.close();
      log.info('sputnik stopped');
      await new Promise<void>((r) => log.flush(() => r()));
    },
  };
}

export type { ConnectorName } from '../config/schema.ts';
