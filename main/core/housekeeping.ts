import type { Logger } from '../log/logger.ts';
import { errorMessage } from '../unknown.ts';

/** Rows removed per table by one run. */
export type Removed = Record<string, number>;

/** One table that ages: the journal, the outbox's done jobs, or a module's `housekeeping` hook. */
export interface HousekeepingTask {
  name: string;
  run: (now: number) => Removed | void | Promise<Removed | void>;
}

export interface HousekeepingResult {
  removed: Removed;
  /** Tasks that threw (each logged); the others ran anyway. */
  failed: string[];
}

/**
 * Everything that ages out of the store, run as one job on one schedule, so a new table cannot be
 * forgotten: a module declares its hook and the core runs it. A task that throws is logged and
 * the rest still run. Runs never overlap: a run asked for while one is under way follows it.
 * The schedule is the core's recurring job `core:housekeeping` (main/core/recurring.ts).
 */
export class Housekeeping {
  readonly #tasks: HousekeepingTask[];
  readonly #now: () => number;
  readonly #log: Logger;
  #last: Promise<unknown> = Promise.resolve();

  constructor(tasks: HousekeepingTask[], now: () => number, log: Logger) {
    this.#tasks = tasks;
    this.#now = now;
    this.#log = log;
  }

  /** One run over every task, as of the clock when it starts. */
  run(): Promise<HousekeepingResult> {
    const next = this.#last.then(() => this.#runAll());
    this.#last = next;
    return next;
  }

  /** Resolves once a run under way has finished (the store can then close). */
  async stop(): Promise<void> {
    await this.#last;
  }

  async #runAll(): Promise<HousekeepingResult> {
    const now = this.#now();
    const result: HousekeepingResult = { removed: {}, failed: [] };
    for (const task of this.#tasks) {
      try {
        Object.assign(result.removed, (await task.run(now)) ?? {});
      } catch (error) {
        result.failed.push(task.name);
        this.#log.warn({ task: task.name, err: errorMessage(error) }, 'housekeeping task failed');
      }
    }
    if (Object.values(result.removed).some((n) => n > 0)) this.#log.info({ removed: result.removed }, 'housekeeping removed aged rows');
    return result;
  }
}
