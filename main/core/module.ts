import type { Config, ConnectorName } from '../config/schema.ts';
import type { HttpClient } from '../http/client.ts';
import type { Journal } from '../journal/index.ts';
import type { ListenerDomain } from '../listener/app.ts';
import type { AdminDomain } from '../admin/app.ts';
import type { HealthBody } from '../listener/health.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorWorkers, WorkerPool } from '../store/worker-pool.ts';
import type { AttentionList, CallSubject, OnecCall } from './attention.ts';
import type { Removed } from './housekeeping.ts';
import type { RecurringJob, RecurringSpec } from './recurring.ts';
import type { DeliveryWaits } from './wait.ts';

/** What the core hands each domain module. */
export interface ModuleContext {
  store: Store;
  journal: Journal;
  http: HttpClient;
  workers: WorkerPool;
  /** Bounded waits for a delivery (`?wait=`). */
  waits: DeliveryWaits;
  config: () => Config;
  log: Logger;
  /**
   * Declares work on a schedule (a pull, tracking): an outbox job of its connector that runs
   * `every` ms after the last run ended, survives restarts and kills, backs off when it fails and
   * is its connector's health like a delivery (main/core/recurring.ts). Call it in the factory.
   */
  recurring<T>(spec: RecurringSpec<T>): RecurringJob<T>;
}

/**
 * A domain (Passteam cards, PayKeeper invoices, Docpart orders, later ReGate): its 1C routes,
 * its outbox workers and its schedules (`ctx.recurring`), all on the one store and journal.
 */
export interface CoreModule {
  name: string;
  connector?: ConnectorName;
  routes?: ListenerDomain;
  /** Its routes on the admin API (the tray window): under /api/, behind the UI login. */
  admin?: AdminDomain;
  workers?: ConnectorWorkers;
  /**
   * Starts schedules and listeners; returns a stop function. A promise makes the core's start wait
   * for it, so a listener that cannot bind fails the start (exit 3) instead of only being logged.
   */
  start?: () => ModuleStop | void | Promise<ModuleStop | void>;
  /**
   * The operator's «Повторить» for one of its entities (`card:…`, `invoice:…`): queue it again now.
   * Returns its state after, or null when the entity is not this module's or unknown.
   */
  retry?: (entity: string) => { state: string } | null;
  /**
   * What needs the operator in this module as of `now` (the store's clock): failed entities, each
   * with its reason and one action that can work (see attention.ts). `items` may be capped; `total` is not.
   */
  attention?: (now: number) => AttentionList;
  /**
   * Which of its entities a 1C write call answered 2xx or 4xx was about, and for a refusal at the
   * door what 1C was told and what to fix there. The core keeps such refusals for «Требует внимания»
   * until a later call for the same entity is accepted.
   */
  callSubjects?: (call: OnecCall) => CallSubject[];
  /** What it adds to the detailed health (the window's overview). */
  health?: () => Partial<Pick<HealthBody, 'regate'>>;
  /** Settings of its connector changed. */
  reconfigure?: (config: Config) => void;
  /**
   * Ages out its tables that grow (caches, kept keys; not business data) as of `now`, the store's
   * clock. The core runs it on its one housekeeping schedule, with the journal's and the outbox's;
   * returns the rows removed per table, for the log.
   */
  housekeeping?: (now: number) => Removed | void | Promise<Removed | void>;
}

export type ModuleStop = () => Promise<void> | void;

export type ModuleFactory = (ctx: ModuleContext) => CoreModule;
