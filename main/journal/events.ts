import { AsyncLocalStorage } from 'node:async_hooks';
import { z } from 'zod';
import type { Sql } from '../store/index.ts';
import { DeliveryError, SputnikError } from '../errors.ts';
import { SEARCH_TEXT } from '../store/search-text.ts';
import { deliveredSummary, jobTitle, RETRY_KINDS, systemKey } from './wording.ts';

/**
 * The journal's events: one row per thing that happened (a card delivered, an invoice refused, a
 * Docpart pull with its counts, a 1C call), its HTTP exchanges folded under it. An exchange made
 * inside `Journal.within` belongs to that run's event; any other exchange is an event by itself.
 */

/** `interrupted`: a run Sputnik's own stop cut short; it goes again after the start (not a failure). */
export type Outcome = 'running' | 'ok' | 'failed' | 'interrupted';
/** How a failed run failed (DeliveryError's outcome, or a fault of Sputnik's own). */
export type Cause = 'refused' | 'retry' | 'auth' | 'internal';

export interface EventStart {
  system: string;
  direction?: 'in' | 'out';
  /** `card:0000103`, `invoice:ЗК-1`, `docpart:pull`: what the event is about. */
  entity?: string | null;
  /** «Карта 0000103 → Passteam». */
  title: string;
}

export interface EventEnd {
  summary?: string;
  counts?: Record<string, number>;
}

/** An event as it is written (and rewritten while it runs). */
export interface EventState {
  id: number;
  at: number;
  endedAt: number | null;
  direction: 'in' | 'out';
  system: string;
  entity: string | null;
  title: string;
  outcome: Outcome;
  summary: string | null;
  error: string | null;
  cause: Cause | null;
  counts: Record<string, number> | null;
  exchanges: number;
  /** Its last exchange, for a glance at the row. */
  method: string | null;
  url: string | null;
  status: number | null;
  durationMs: number;
}

/** An event as the window reads it (GET /api/journal). */
export interface JournalEvent {
  id: number;
  at: string;
  endedAt: string | null;
  direction: 'in' | 'out';
  system: string;
  entity: string | null;
  title: string;
  outcome: Outcome;
  summary: string | null;
  error: string | null;
  /** «Повторить» can work: a passing failure or Sputnik's own, of a card or invoice, with nothing newer about it. */
  retry: boolean;
  counts: Record<string, number> | null;
  exchanges: number;
  durationMs: number;
  method: string | null;
  url: string | null;
  status: number | null;
}

/** A run of `Journal.within` in progress: its event exists from its first exchange on. */
export interface Scope {
  start: EventStart;
  at: number;
  event: EventState | null;
}

export const scopes = new AsyncLocalStorage<Scope>();

/** A delivery run of an outbox job as an event: what it is about, and its line when it went through. */
export function jobEvent(job: { connector: string; key: string }): { start: EventStart; end: () => EventEnd } {
  const entity = RETRY_KINDS.some((kind) => job.key.startsWith(`${kind}:`)) ? job.key : null;
  return { start: { system: job.connector, entity, title: jobTitle(job.connector, job.key) }, end: () => ({ summary: entity ? deliveredSummary(entity) : 'выполнено' }) };
}

/** What a thrown error means for the event: its staff sentence, and how it failed. */
export function failureOf(e: unknown): { error: string; cause: Cause } {
  if (e instanceof DeliveryError) return { error: e.message, cause: e.outcome };
  if (e instanceof SputnikError) return { error: e.message, cause: 'internal' };
  return { error: 'Внутренняя ошибка Спутника (подробности — в его логе). Спутник повторит сам', cause: 'internal' };
}

export function newEvent(id: number, start: EventStart, at: number): EventState {
  return {
    id,
    at,
    endedAt: null,
    direction: start.direction ?? 'out',
    system: systemKey(start.system),
    entity: start.entity ?? null,
    title: start.title,
    outcome: 'running',
    summary: null,
    error: null,
    cause: null,
    counts: null,
    exchanges: 0,
    method: null,
    url: null,
    status: null,
    durationMs: 0,
  };
}

interface EventRow {
  id: number;
  at: number;
  ended_at: number | null;
  direction: 'in' | 'out';
  system: string;
  entity: string | null;
  title: string;
  outcome: Outcome;
  summary: string | null;
  error: string | null;
  counts: string | null;
  exchanges: number;
  duration_ms: number;
  method: string | null;
  url: string | null;
  status: number | null;
  retry: number;
}

export interface EventFilters {
  before?: number;
  from?: number;
  to?: number;
  system?: string;
  direction?: 'in' | 'out';
  entity?: string;
  failedOnly?: boolean;
}

// «Повторить» is offered where it can work (see JournalEvent.retry): a refusal of the data fails
// again as it is, a paused connector waits for its settings, and a newer event supersedes this one.
// The kinds are the registered modules' (RETRY_KINDS: lower-case words, so they are safe in the text).
const RETRY = `(e.outcome = 'failed' AND e.cause IN ('retry', 'internal') AND (${RETRY_KINDS.map((kind) => `e.entity LIKE '${kind}:%'`).join(' OR ') || '0'})
  AND NOT EXISTS (SELECT 1 FROM journal_events n WHERE n.entity = e.entity AND n.at > e.at)) AS retry`;
const COLUMNS = `e.id, e.at, e.ended_at, e.direction, e.system, e.entity, e.title, e.outcome, e.summary, e.error, e.counts, e.exchanges, e.duration_ms, e.method, e.url, e.status, ${RETRY}`;

const BY_ID = `SELECT ${COLUMNS} FROM journal_events e WHERE e.id = ?`;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The counts column as `insert` writes it (JSON of a run's counts); anything else reads as none. */
const COUNTS_COLUMN = z.record(z.string(), z.number());

function countsOf(column: string): Record<string, number> | null {
  const parsed = COUNTS_COLUMN.safeParse(JSON.parse(column));
  return parsed.success ? parsed.data : null;
}

const toEvent = (r: EventRow): JournalEvent => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  endedAt: iso(r.ended_at),
  direction: r.direction,
  system: r.system,
  entity: r.entity,
  title: r.title,
  outcome: r.outcome,
  summary: r.summary,
  error: r.error,
  retry: r.retry === 1,
  counts: r.counts ? countsOf(r.counts) : null,
  exchanges: r.exchanges,
  durationMs: Math.round(r.duration_ms * 10) / 10,
  method: r.method,
  url: r.url,
  status: r.status,
});

/** The events table (migration 10): writes, pages of the list, pruning. */
export class EventRows {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  maxId(): number {
    return this.#sql.number(`SELECT COALESCE(MAX(id), 0) FROM journal_events`);
  }

  /** At start, before any run: events left running by the last process (a crash or kill cut them short). */
  closeInterrupted(): void {
    this.#sql.run(`UPDATE journal_events SET outcome = 'failed', cause = 'internal', summary = 'прервано',
        error = 'Прервано: Спутник был остановлен посреди обмена. Следующий обмен пройдёт заново', ended_at = at WHERE outcome = 'running'`);
  }

  write(e: EventState): void {
    // Only a failed event's own words are searched (Journal.events): the rest skip making them.
    const search = e.outcome === 'failed' ? SEARCH_TEXT.journalEvent(e) : '';
    this.#sql.run(
      `INSERT INTO journal_events (id, at, ended_at, direction, system, entity, title, outcome, summary, error, cause, counts, exchanges, duration_ms, method, url, status, search)
        VALUES (@id, @at, @endedAt, @direction, @system, @entity, @title, @outcome, @summary, @error, @cause, @counts, @exchanges, @durationMs, @method, @url, @status, @search)
        ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, title = excluded.title, outcome = excluded.outcome, summary = excluded.summary, error = excluded.error,
          cause = excluded.cause, counts = excluded.counts, exchanges = excluded.exchanges, duration_ms = excluded.duration_ms, method = excluded.method, url = excluded.url,
          status = excluded.status, search = excluded.search`,
      { ...e, counts: e.counts ? JSON.stringify(e.counts) : null, search },
    );
  }

  get(id: number): JournalEvent | undefined {
    const r = this.#sql.get<EventRow>(BY_ID, id);
    return r && toEvent(r);
  }

  /** Newest first, up to `limit`, optionally only those in `ids` or whose own text contains the `like` pattern. */
  page(f: EventFilters, limit: number, match: { ids?: readonly number[]; like?: string } = {}): JournalEvent[] {
    const w = EventRows.where(f);
    const params: Record<string, unknown> = { ...f, limit };
    if (match.ids) {
      w.push('e.id IN (SELECT value FROM json_each(@ids))');
      params.ids = JSON.stringify(match.ids);
    }
    if (match.like) {
      w.push(`e.search LIKE @like ESCAPE '\\'`);
      params.like = match.like;
    }
    const sql = `SELECT ${COLUMNS} FROM journal_events e ${w.length ? 'WHERE ' + w.join(' AND ') : ''} ORDER BY e.id DESC LIMIT @limit`;
    // The text is one of a bounded set (the filters' combinations); values are parameters.
    return this.#sql.all<EventRow>(sql, params).map(toEvent);
  }

  /** The filters as SQL over `journal_events e`, for joins from the exchanges. */
  static where(f: EventFilters): string[] {
    const w: string[] = [];
    if (f.before) w.push('e.id < @before');
    if (f.from !== undefined) w.push('e.at >= @from');
    if (f.to !== undefined) w.push('e.at < @to');
    if (f.system) w.push('e.system = @system');
    if (f.direction) w.push('e.direction = @direction');
    if (f.entity) w.push('e.entity = @entity');
    if (f.failedOnly) w.push(`e.outcome = 'failed'`);
    return w;
  }

  /** Inside the prune's transaction: events whose every exchange is gone, and old ones that never had any. */
  pruned(eventIds: Iterable<number>, cutoff: number, batch: number): void {
    for (const id of new Set(eventIds)) this.#sql.run(`DELETE FROM journal_events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM journal WHERE event_id = ?)`, id, id);
    this.#sql.run(`DELETE FROM journal_events WHERE id IN (SELECT id FROM journal_events WHERE exchanges = 0 AND at < ? LIMIT ?)`, cutoff, batch);
  }
}
