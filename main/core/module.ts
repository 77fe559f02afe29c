import type { z } from 'zod';
import type { Config } from '../config/schema.ts';
import type { HttpClient } from '../http/client.ts';
import type { Journal } from '../journal/index.ts';
import type { ListenerDomain } from '../listener/app.ts';
import type { AdminDomain } from '../admin/app.ts';
import type { HealthBody } from '../listener/health.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { ModuleMigration } from '../store/migrations.ts';
import type { ConnectorWorkers, WorkerPool } from '../store/worker-pool.ts';
import type { AttentionList, CallSubject, OnecCall } from './attention-shape.ts';
import type { Removed } from './housekeeping.ts';
import type { RecurringJob, RecurringSpec } from './recurring.ts';
import type { DeliveryWaits } from './wait.ts';
import type { ModuleUi } from './meta-shape.ts';

export type { ModuleUi, SettingsField } from './meta-shape.ts';

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
  /** Its outbox lane and health entry (its descriptor's `name` when it declares `connector`). */
  connector?: string;
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

/**
 * What a module is before it runs: everything the rest of Sputnik reads about it without loading
 * its code (the config, the secrets, the store's tables, the journal's words, the window's menu and
 * settings). Declared once in the module's folder (`module.ts`) and registered with one line in
 * main/connectors/index.ts; the root config schema, the secrets' handling (redaction, environment
 * variables, the desktop's safeStorage), the migrations, the change feeds, the health's connector
 * list, `/api/meta` and the journal's wording are all assembled from the registered descriptors.
 */
export interface ModuleDescriptor<N extends string = string, S extends z.ZodType = z.ZodType> {
  /** Its key everywhere: `config[name]`, the journal's system, the outbox lane, `#/settings/<name>`. */
  name: N;
  /** How staff call it: «Passteam». */
  title: string;
  /**
   * Its slice of the config, at `config[name]`: a strict object with defaults (`.prefault({})`).
   * A secret field says so itself: `.meta({ secret: true, env: 'SPUTNIK_…' })` (env optional); a
   * list whose items hold secrets names the item's key field: `.meta({ itemKey: 'id' })`.
   */
  config: S;
  /** Fields that must be set while `enabled` is on, each with a hint (a secret's default hint names its env variable). */
  requiredWhenEnabled?: ReadonlyArray<readonly [field: string, hint?: string]>;
  /** Checks across its fields; paths are inside its slice. */
  refine?(slice: z.output<S>, issue: (path: ReadonlyArray<string | number>, message: string) => void): void;
  /**
   * It delivers or pulls through the outbox under its name: it has a connector state in the health,
   * «Проверить соединение» (`testable`) and, for a sender, «Приостановить отправку» (`pausable`).
   */
  connector?: { pausable?: boolean; testable?: boolean };
  /** Its settings are built once at start: a change applies after a restart (the window says so). */
  restart?: boolean;
  /** Its own tables: applied once each, in order, after the core's; ids `<name>:<n>`, never reused. */
  migrations?: readonly ModuleMigration[];
  /** Change feeds the window follows: a `change` event of `kind` when MAX(seq) of `table` moves. */
  feeds?: ReadonlyArray<{ kind: string; table: string }>;
  /** How the journal words its events (main/journal/wording.ts). */
  journal?: ModuleWording;
  /** Its sections of the 1C API's OpenAPI document (/v1/openapi.json, Swagger UI). */
  docs?: { tags: ReadonlyArray<{ name: string; description: string }> };
  /** What the window shows of it (served at /api/meta). */
  ui?: ModuleUi;
  /** Its code: the factory the core runs, and the check `sputnik check` / «Проверить соединение» make. */
  load(): Promise<ModuleCode>;
}

/** Protocol-level checks a connector adds (token, login, check_connection); falls back to reachability. */
export type ConnectorCheck = (config: Config, http: HttpClient) => Promise<{ ok: boolean; message: string }>;

export interface ModuleCode {
  module: ModuleFactory;
  check?: ConnectorCheck;
}

/** A descriptor with its name and config slice kept as literal types (they type `Config`). */
export function defineModule<const N extends string, S extends z.ZodType>(descriptor: ModuleDescriptor<N, S>): ModuleDescriptor<N, S> {
  return descriptor;
}

export interface ModuleWording {
  /**
   * The entity kinds its events are about (`card:0000103`): how one reads («Карта 0000103») and what
   * a delivered one is called («отправлена»). `retry`: its outbox jobs are keyed by the entity (a
   * delivery run's event is about it) and a failed one offers «Повторить», which the module's
   * `retry` takes. `failed`: what «Требует внимания» calls its items of this kind (its `attention`
   * hook lists them with this kind); each links to the entity on the module's page.
   */
  subjects?: Readonly<Record<string, { title: (id: string) => string; delivered?: string; retry?: boolean; failed?: string }>>;
  /** Its 1C paths: the entity a path names (`/v1/cards/7` → `card:7`) or what a call to it is (`/v1/cards` → «Карты»). */
  paths?: ReadonlyArray<{ match: RegExp; entity?: (m: RegExpExecArray) => string | null; noun?: string }>;
  /** Systems `<name>:<part>` (one per ReGate base) file under it, titled «<title> (<part>)»; their outgoing calls go to `calls`. */
  subsystems?: { calls: string };
  /** A queued job of its lane, when the default «<subject> → <title>» does not fit. */
  jobTitle?: (key: string, systemTitle: (system: string) => string) => string;
}
