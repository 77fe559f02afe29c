import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import { errorMessage } from '../../unknown.ts';
import { DeliveryError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import type { Store } from '../../store/index.ts';
import { releaseMemory } from '../../core/memory.ts';
import type { DocpartClient } from './client.ts';
import type { DocpartRepo } from './repo.ts';
import type { Journal } from '../../journal/index.ts';
import type { ModuleContext } from '../../core/module.ts';
import type { RecurringJob } from '../../core/recurring.ts';
import { abortForStop, stoppedBy } from '../../store/worker-pool.ts';

export type SyncStage = 'items' | 'payments';

export interface SyncResult {
  orders: number;
  /** New and changed orders (`created` of them new). */
  changed: number;
  created?: number;
  /** Lines of the orders pulled. */
  items?: number;
  payments: number;
  paymentsChanged: number;
  users: number;
  startedAt: number;
  finishedAt: number;
}

export interface SyncProgress {
  running: boolean;
  stage: SyncStage | null;
  /** What the running pull has found so far (`saved`: orders stored with their lines and users). */
  counts: { orders: number; items: number; users: number; payments: number; saved: number };
  startedAt: number | null;
  last: SyncResult | null;
  lastError: { code: string; message: string; at: number } | null;
  nextAt: number | null;
}

const LAST_SYNC_KEY = 'docpart_last_sync';
/** The last pull's result as stored under LAST_SYNC_KEY (`created`, `items` came later: absent in older ones). */
const storedResult = z.object({
  orders: z.number(),
  changed: z.number(),
  created: z.number().optional(),
  items: z.number().optional(),
  payments: z.number(),
  paymentsChanged: z.number(),
  users: z.number(),
  startedAt: z.number(),
  finishedAt: z.number(),
}) satisfies z.ZodType<SyncResult>;
const SAVE_CHUNK = 500;
const DAY_MS = 86_400_000;

/**
 * Pulls the shop on a schedule and keeps what changed. One pull at a time: "sync now" during a
 * scheduled pull waits for that pull. The schedule is the recurring outbox job `docpart:pull`
 * (main/core/recurring.ts): the next pull is planned an interval after the last one ended, in the
 * store, so after the PC slept or Sputnik was off it runs once, not once per missed interval; a
 * failed pull is retried with the outbox's backoff and is the connector's health. The API filters
 * orders by creation time only, so status changes of orders older than the look-back window are
 * not seen (documented in README).
 */
export class DocpartSync {
  readonly #store: Store;
  readonly #repo: DocpartRepo;
  readonly #client: DocpartClient;
  readonly #config: () => Config['docpart'];
  readonly #log: Logger;
  readonly #journal: Journal | undefined;
  /** The store's clock unless given: the look-back window and the day windows are measured on it. */
  readonly #now: () => number;
  readonly #job: RecurringJob<SyncResult>;
  #abort: AbortController | null = null;
  #progress: Omit<SyncProgress, 'nextAt'> = { running: false, stage: null, counts: zero(), startedAt: null, last: null, lastError: null };

  constructor(deps: {
    store: Store;
    repo: DocpartRepo;
    client: DocpartClient;
    config: () => Config['docpart'];
    log: Logger;
    recurring: ModuleContext['recurring'];
    journal?: Journal;
    now?: () => number;
  }) {
    this.#store = deps.store;
    this.#repo = deps.repo;
    this.#client = deps.client;
    this.#config = deps.config;
    this.#log = deps.log;
    this.#journal = deps.journal;
    this.#now = deps.now ?? deps.store.outbox.now;
    const last = deps.store.meta.get(LAST_SYNC_KEY);
    // A value of another shape (a damaged store) counts as no pull yet: the next one is due at once.
    if (last) this.#progress.last = storedResult.safeParse(JSON.parse(last)).data ?? null;
    const every = () => this.#config().everySeconds * 1000;
    this.#job = deps.recurring<SyncResult>({
      connector: 'docpart',
      key: 'docpart:pull',
      enabled: () => this.#config().enabled,
      every,
      // No job yet (the first start, or switched on again): an interval after the last pull ended.
      firstAt: () => Math.max(this.#progress.last?.finishedAt ?? 0, this.#progress.lastError?.at ?? 0) + every(),
      run: ({ signal }) => this.#journaled(signal),
    });
  }

  progress(): SyncProgress {
    return { ...structuredClone(this.#progress), nextAt: this.#job.nextAt() };
  }

  /** Pulls now, or joins the pull already running. */
  run(): Promise<SyncResult> {
    return this.#job.runNow();
  }

  /**
   * Sputnik stops: the pull under way is cut short as the worker pool's stop would cut it (the core
   * stops the modules first), so it is «прервано», not a failure, and runs again after the start.
   */
  async stop(): Promise<void> {
    if (this.#abort) abortForStop(this.#abort);
    if (this.#job.running()) await this.#job.runNow().catch(() => {});
  }

  /** Settings changed: the next pull is planned from the new interval (now, when it is overdue). */
  reschedule(): void {
    this.#job.reschedule();
  }

  /**
   * One journal event per pull, its ~44 exchanges folded under it, with what it found; «прервано»
   * when a stop cut it short. Then it throws the stop's reason, so the worker pool puts the job back
   * as it was (no failure) though its own signal was not the one aborted (the module's stop was).
   */
  async #journaled(stopping: AbortSignal): Promise<SyncResult> {
    const own = new AbortController();
    this.#abort = own;
    // Cut short by the module's stop or by the worker's (a stop whose grace ran out): both abort with the stop's reason.
    const signal = AbortSignal.any([stopping, own.signal]);
    const interrupted = (error: unknown) => stoppedBy(signal, error);
    const pull = () => this.#pull(signal, interrupted);
    try {
      return await (this.#journal
        ? this.#journal.within({ system: 'docpart', entity: 'docpart:pull', title: 'Загрузка заказов Docpart' }, pull, pullSummary, { interrupted })
        : pull());
    } catch (e) {
      throw interrupted(e) ? signal.reason : e;
    } finally {
      this.#abort = null;
    }
  }

  async #pull(signal: AbortSignal, interrupted: (error: unknown) => boolean): Promise<SyncResult> {
    const cfg = this.#config();
    if (!cfg.enabled) throw new DeliveryError('auth', 'docpart_disabled', 'Docpart выключен в настройках');
    const startedAt = this.#now();
    const counts = zero();
    Object.assign(this.#progress, { running: true, stage: 'items', counts, startedAt });
    const stage = (s: SyncStage) => (this.#progress.stage = s);
    try {
      const from = startedAt - cfg.lookbackDays * DAY_MS;
      // A day of orders per request, each saved with its lines and users before the next: memory
      // holds one day of the shop, not the whole window. `time_to` may be inclusive on some
      // installations, so an order on a boundary can come twice: it is counted and saved once.
      stage('items');
      let changed = 0;
      let created = 0;
      const ordersSeen = new Set<number>();
      const usersSeen = new Set<number>();
      for (let day = from; day <= startedAt; day += DAY_MS) {
        const orders = (await this.#client.orders(day, signal, day + DAY_MS)).filter((o) => !ordersSeen.has(o.orderId));
        for (const o of orders) ordersSeen.add(o.orderId);
        counts.orders = ordersSeen.size;
        for (let i = 0; i < orders.length; i += SAVE_CHUNK) {
          const chunk = orders.slice(i, i + SAVE_CHUNK);
          const items = await this.#client.items(chunk.map((o) => o.orderId), signal);
          for (const lines of items.values()) counts.items += lines.length;
          const newUsers = [...new Set(chunk.map((o) => o.userId))].filter((id) => id > 0 && !usersSeen.has(id));
          for (const id of newUsers) usersSeen.add(id);
          const users = newUsers.length ? await this.#client.users(newUsers, signal) : new Map();
          counts.users += users.size;
          const now = this.#now();
          // Each chunk is one durable commit: 1C may read its seqs as soon as it is there.
          await this.#store.write(
            () => {
              for (const u of users.values()) this.#repo.putUser(u, now);
              for (const o of chunk) {
                const put = this.#repo.putOrder({ ...o, items: items.get(o.orderId) ?? [] }, now);
                if (put) changed++;
                if (put === 'new') created++;
              }
            },
            { durability: 'durable' },
          );
          counts.saved += chunk.length;
          releaseMemory();
        }
      }
      stage('payments');
      const payments = await this.#client.payments(from, signal);
      counts.payments = payments.length;
      let paymentsChanged = 0;
      const now = this.#now();
      const result = await this.#store.write(
        () => {
          for (const p of payments) if (this.#repo.putPayment(p, now)) paymentsChanged++;
          const r: SyncResult = { orders: ordersSeen.size, changed, created, items: counts.items, payments: payments.length, paymentsChanged, users: counts.users, startedAt, finishedAt: this.#now() };
          this.#store.meta.set(LAST_SYNC_KEY, JSON.stringify(r));
          return r;
        },
        { durability: 'durable' },
      );
      this.#progress.last = result;
      this.#progress.lastError = null;
      return result;
    } catch (e) {
      if (interrupted(e)) {
        // Not the shop's doing: the last error and the health stay as they were.
        this.#log.info('docpart sync interrupted by the stop');
        throw e;
      }
      const err = e instanceof DeliveryError ? { code: e.code, message: e.message } : { code: 'internal_error', message: errorMessage(e) };
      // The connector's health is the outbox's: the job goes back with its backoff.
      this.#progress.lastError = { ...err, at: this.#now() };
      this.#log.warn({ err: err.message }, 'docpart sync failed');
      throw e;
    } finally {
      this.#progress.running = false;
      this.#progress.stage = null;
    }
  }
}

/** A pull's line in the journal: «заказов 44 (новых 3, изменённых 2), строк 120, платежей 10 (новых или изменённых 2)». */
export function pullSummary(r: SyncResult): { summary: string; counts: Record<string, number> } {
  const created = r.created ?? 0;
  const changed = r.changed - created;
  const news = [created ? `новых ${created}` : '', changed ? `изменённых ${changed}` : ''].filter(Boolean).join(', ');
  const summary =
    `загружено: заказов ${r.orders}${news ? ` (${news})` : ''}, строк ${r.items ?? 0}, ` +
    `платежей ${r.payments}${r.paymentsChanged ? ` (новых или изменённых ${r.paymentsChanged})` : ''}`;
  return { summary, counts: { orders: r.orders, newOrders: created, changedOrders: changed, items: r.items ?? 0, payments: r.payments, paymentsChanged: r.paymentsChanged, users: r.users } };
}

function zero() {
  return { orders: 0, items: 0, users: 0, payments: 0, saved: 0 };
}

