import type { Store } from '../store/index.ts';
import { redactText, redactUrl } from './redact.ts';
import { likeContains, searchKey, SEARCH_TEXT } from '../store/search-text.ts';
import { eventTags, INDEXED_TEXT, isShortKey, JournalSearchIndex } from './search-index.ts';
import { EventRows, failureOf, newEvent, scopes, type EventEnd, type EventFilters, type EventStart, type EventState, type JournalEvent, type Scope } from './events.ts';
import { writeNow } from '../store/write-now.ts';
import { exchangeTitle, exchangeVerdict, failureSummary, formFields, inboundEntity, interruptedSummary, systemKey } from './wording.ts';

export type { EventStart, JournalEvent } from './events.ts';

/** Who an exchange was with: '1c', 'admin', or a registered module's name (`regate:<base>` for a ReGate base's 1C). */
export type System = string;

export interface ExchangeInput {
  direction: 'in' | 'out';
  system: System;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  requestBody?: string | null;
  responseBody?: string | null;
  /** Keeps less of the response body than the configured limit (bulky answers that are easy to fetch again). */
  responseLimitBytes?: number;
  /** A staff sentence for a failure (what happened and what to do). */
  error?: string | null;
  /** The raw technical text of a failure (code, host), for «Подробнее». */
  detail?: string | null;
  /** Judged by what the answer means; when absent: no answer, 4xx/5xx or an error. */
  failed?: boolean;
  entity?: string | null;
  jobId?: number | null;
  at?: number;
}

export interface JournalEntry {
  id: number;
  at: string;
  direction: 'in' | 'out';
  system: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  entity: string | null;
  jobId: number | null;
  error: string | null;
  /** Judged by what the answer means (a refusal in a 200 answer is failed). */
  failed: boolean;
  detail: string | null;
  eventId: number | null;
}

export interface JournalEntryFull extends JournalEntry {
  requestBody: string | null;
  responseBody: string | null;
  /** The request body's fields, decoded, when it is a form. */
  requestForm: Array<{ name: string; value: string }> | null;
}

/** An event with its exchanges (without their bodies: GET /api/journal/exchanges/:id has them). */
export interface JournalEventFull extends JournalEvent {
  exchanges: number;
  items: JournalEntry[];
}

export interface JournalQuery {
  q?: string;
  system?: string;
  direction?: 'in' | 'out';
  entity?: string;
  failedOnly?: boolean;
  before?: number;
  limit?: number;
  /** ms epoch range of `at`: from inclusive, to exclusive. */
  from?: number;
  to?: number;
  /** Search every row however long it takes (the CSV export), instead of at most SCAN_ROWS not indexed yet. */
  complete?: boolean;
}

/**
 * A page of the journal. `unsearched`: about how many rows, older than the page's newest, this
 * search has not looked at because the background indexing has not reached them yet (right after
 * an upgrade, or after a burst); absent when it looked at every row it needed.
 */
export interface JournalPage<T> {
  entries: T[];
  next: string | null;
  unsearched?: number;
}

export interface JournalOptions {
  bodyLimitBytes: number;
  retentionDays: number;
  maxMegabytes: number;
  /** Secret values (tokens, passwords) to mask wherever they appear verbatim. */
  secrets?: () => string[];
  flushMs?: number;
  /** A search's budget for rows not indexed yet (SCAN_ROWS; tests make it small). */
  scanRows?: number;
}

/** A recorded exchange waiting for the next journal write. */
interface BufferedRow {
  at: number;
  direction: 'in' | 'out';
  system: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  req: string | null;
  res: string | null;
  error: string | null;
  detail: string | null;
  failed: 0 | 1;
  entity: string | null;
  jobId: number | null;
  /** The event it belongs to: its run's (written with it) or its own (made from it when written). */
  eventId: number;
  own: boolean;
  size: number;
}

interface Row {
  id: number;
  at: number;
  direction: 'in' | 'out';
  system: string;
  method: string;
  url: string;
  status: number | null;
  duration_ms: number;
  entity: string | null;
  job_id: number | null;
  error: string | null;
  failed: number;
  detail: string | null;
  event_id: number | null;
  req_body?: string | null;
  res_body?: string | null;
}

/** One journal transaction per event-loop turn holds at most this many rows or bytes (a 1C page is ~20 KB). */
const JOURNAL_CHUNK = 200;
const JOURNAL_CHUNK_BYTES = 256 * 1024;

function nextChunk<T extends { size: number }>(buffer: T[]): T[] {
  let n = 0;
  for (let bytes = 0; n < buffer.length && n < JOURNAL_CHUNK && (n === 0 || bytes + buffer[n].size <= JOURNAL_CHUNK_BYTES); n++) bytes += buffer[n].size;
  return buffer.splice(0, n);
}

const toEntry = (r: Row): JournalEntry => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  direction: r.direction,
  system: r.system,
  method: r.method,
  url: r.url,
  status: r.status,
  durationMs: Math.round(r.duration_ms * 10) / 10,
  entity: r.entity,
  jobId: r.job_id,
  error: r.error,
  failed: r.failed === 1,
  detail: r.detail,
  eventId: r.event_id,
});

/**
 * A search matches at most this many of the newest rows not indexed yet one by one (~10–25 µs
 * each, more for big bodies: their search text is made here), and says how many older ones it left
 * (`unsearched`): right after an upgrade 100,000 rows can wait 15–50 s for the background indexing.
 */
const SCAN_ROWS = 1000;
/** …and at most this many characters of bodies per row of that budget (a shop's rows average ~1,000; a Docpart page 16,384). */
const SCAN_CHARS_PER_ROW = 1024;
/** For 1–2 character keys, rows indexed before their block filters were (migration 11) are read by LIKE, 2–5 µs each, at most this many per SCAN_ROWS. */
const TEXT_ROWS_PER_SCAN_ROW = 4;

/** A search's SQL around `journal j`: the columns it yields, an optional join, the filters and their parameters. */
interface HitQuery {
  columns: string;
  join: string;
  where: string[];
  params: Record<string, unknown>;
  /** The newest exchange id to look at. */
  last: number;
  complete: boolean;
  /** The events' system and direction `where` requires (Journal.events, as eventTags): the blocks' filters know each row's. */
  tags?: readonly string[];
  /** Only the rows not indexed yet (the caller reads the indexed ones its own way). */
  unindexedOnly?: boolean;
}

/**
 * «Only errors», a period, an entity: when the events passing the filters have at most this many
 * exchanges, a search reads those (2–5 µs each) instead of every row holding the key, which may be
 * all 100,000 when the key is common and no filtered row has it.
 */
const FEW_EXCHANGES = 10_000;

/** A filtered search's indexed rows, by the few events' exchanges (Journal.#exchangeHits). */
const FEW_EVENTS_TEXT = `SELECT j.event_id FROM json_each(@events) x CROSS JOIN journal j ON j.event_id = x.value CROSS JOIN ${INDEXED_TEXT} f ON f.id = j.id
       WHERE j.id <= @indexed AND f.c0 LIKE @like ESCAPE '\\' ORDER BY x.key`;

/** What an event row costs the journal's size cap beyond its exchanges. */
const EVENT_BYTES = 200;

/**
 * Every exchange, in and out: redacted, truncated, with its duration and status, judged by what
 * its answer means, searchable, pruned by age and total size; each belongs to an event (events.ts),
 * which is what the window lists. Writes ride the group commit and never delay an answer.
 */
export class Journal {
  readonly #store: Store;
  readonly #opts: JournalOptions;
  readonly #buffer: BufferedRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #events: EventRows;
  /** Ids are given out here, as exchanges are recorded, so an exchange knows its event before either is written. */
  #lastEventId: number;
  /** Events of runs that changed since the last write. */
  readonly #dirty = new Set<EventState>();
  /** Moves when a run's event changes without a new exchange (a pull that ended). */
  #changes = 0;
  /** The trigram index over the rows' search text; the core starts its background indexing. */
  readonly index: JournalSearchIndex;

  constructor(store: Store, opts: JournalOptions) {
    this.#store = store;
    this.#opts = opts;
    this.index = new JournalSearchIndex(store);
    this.#events = new EventRows(store.sql);
    this.#events.closeInterrupted();
    this.#lastEventId = this.#events.maxId();
  }

  /** One chunk of buffered rows, their events and the bytes they add (one relaxed write). */
  #insertAll(rows: BufferedRow[]): void {
    const sql = this.#store.sql;
    let bytes = 0;
    for (const row of rows) {
      sql.run(
        `INSERT INTO journal (at, direction, system, method, url, status, duration_ms, req_body, res_body, error, detail, failed, entity, job_id, event_id, size)
        VALUES (@at, @direction, @system, @method, @url, @status, @durationMs, @req, @res, @error, @detail, @failed, @entity, @jobId, @eventId, @size)`,
        row,
      );
      if (row.own) this.#events.write(ownEvent(row));
      bytes += row.size;
    }
    for (const e of this.#dirty) this.#events.write(e);
    this.#dirty.clear();
    this.#addBytes(bytes);
  }

  #addBytes(bytes: number): void {
    this.#store.sql.run(`UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'journal_bytes'`, bytes);
  }

  #bytes(): number {
    return this.#store.sql.number(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_bytes'`);
  }

  /**
   * Records an exchange after the fact. Rows are buffered and written in one transaction every
   * `flushMs` (and before any read), so the journal never adds pages to the fsync of a 1C
   * request's own commit; a crash loses at most that moment of journal, never accepted work.
   */
  record(e: ExchangeInput): void {
    const secrets = this.#opts.secrets?.() ?? [];
    const limit = this.#opts.bodyLimitBytes;
    const req = redactText(e.requestBody, limit, secrets);
    const res = redactText(e.responseBody, Math.min(limit, e.responseLimitBytes ?? limit), secrets);
    const failed = e.failed ?? (e.status === null || e.status >= 400 || !!e.error);
    // Inside a run (Journal.within) the exchange joins the run's event; otherwise it is one itself.
    const scope = scopes.getStore();
    let size = 200 + Buffer.byteLength(req ?? '') + Buffer.byteLength(res ?? '');
    let eventId: number;
    if (scope) {
      const isNew = !scope.event;
      const event = this.#open(scope);
      event.exchanges++;
      event.method = e.method;
      event.url = redactUrl(e.url, secrets);
      event.status = e.status;
      this.#dirty.add(event);
      eventId = event.id;
      if (isNew) size += EVENT_BYTES;
    } else {
      eventId = ++this.#lastEventId;
      size += EVENT_BYTES;
    }
    this.#buffer.push({
      at: e.at ?? Date.now(),
      direction: e.direction,
      system: e.system,
      method: e.method,
      url: redactUrl(e.url, secrets),
      status: e.status,
      durationMs: e.durationMs,
      req,
      res,
      error: e.error ? redactText(e.error, 2000, secrets) : null,
      detail: e.detail ? redactText(e.detail, 2000, secrets) : null,
      failed: failed ? 1 : 0,
      entity: e.entity ?? null,
      jobId: e.jobId ?? null,
      eventId,
      own: !scope,
      size,
    });
    this.#flushSoon();
  }

  #flushSoon(): void {
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(false), this.#opts.flushMs ?? 250);
      this.#timer.unref();
    }
  }

  /** The run's event, made at its first exchange (or at its end, for a run that failed before any). */
  #open(scope: Scope): EventState {
    scope.event ??= newEvent(++this.#lastEventId, scope.start, scope.at);
    return scope.event;
  }

  /**
   * Runs `fn` as one journal event: every exchange it makes (in its async context) is folded under
   * it. It ends ok with `end(result)`'s summary and counts, or failed with the thrown error's staff
   * sentence, which is then rethrown. A run that made no exchange and did not fail leaves no event.
   * What `interrupted` says is a stop's end of the run (main/store/worker-pool.ts `stoppedBy`) is no
   * failure: the event, if it has one, ends `interrupted`, saying the run goes again after the start.
   */
  async within<T>(start: EventStart, fn: () => Promise<T>, end?: (result: T) => EventEnd, opts: { interrupted?: (error: unknown) => boolean } = {}): Promise<T> {
    const scope: Scope = { start, at: Date.now(), event: null };
    let result: T;
    try {
      result = await scopes.run(scope, fn);
    } catch (e) {
      if (opts.interrupted?.(e)) {
        if (scope.event) this.#end(scope.event, { outcome: 'interrupted', summary: interruptedSummary(start.entity) });
        throw e;
      }
      const { error, cause } = failureOf(e);
      const secrets = this.#opts.secrets?.() ?? [];
      this.#end(this.#open(scope), { outcome: 'failed', summary: failureSummary(cause), error: redactText(error, 2000, secrets), cause });
      throw e;
    }
    if (scope.event) {
      const done = end?.(result) ?? {};
      this.#end(scope.event, { outcome: 'ok', summary: done.summary ?? null, counts: done.counts ?? null });
    }
    return result;
  }

  #end(event: EventState, patch: Partial<EventState>): void {
    Object.assign(event, patch);
    event.endedAt = Date.now();
    event.durationMs = event.endedAt - event.at;
    this.#dirty.add(event);
    this.#changes++;
    this.#flushSoon();
  }

  /**
   * Writes buffered rows: all of them now when `all` (before a read or on stop), otherwise in
   * chunks, one per event-loop turn, so a burst of journal rows never stalls a 1C request.
   * Failures are swallowed: the exchange itself already happened.
   */
  flush(all = true): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#buffer.length > 0) {
      const rows = nextChunk(this.#buffer);
      // Relaxed: no fsync of its own (synchronous=NORMAL for just this transaction), so the journal
      // never adds to a 1C request's fsync; the next durable commit's makes it durable too, since the
      // WAL is written in order. It runs before `write` returns, so a read after flush() sees it.
      try {
        this.#store.write(() => this.#insertAll(rows), { durability: 'relaxed' }).catch(() => {
          /* store unavailable: the journal is best-effort */
        });
      } catch {
        /* a store-level failure inside a group-committed write this one joined */
      }
      if (!all && this.#buffer.length > 0) {
        this.#timer = setTimeout(() => this.flush(false), 0);
        this.#timer.unref();
        return;
      }
    }
  }

  /** Moves whenever a row is recorded (written or still buffered) or a run's event ends: the window's live-update signal. */
  lastId(): number {
    return this.#maxId() + this.#buffer.length + this.#changes;
  }

  list(q: JournalQuery = {}): JournalPage<JournalEntry> {
    this.flush();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const { before, from, to, system, direction, entity } = q;
    const params: Record<string, unknown> = { limit: limit + 1, before, from, to, system, direction, entity };
    const where: string[] = [];
    if (q.before) where.push(`j.id < @before`);
    if (q.from !== undefined) where.push(`j.at >= @from`);
    if (q.to !== undefined) where.push(`j.at < @to`);
    if (q.system) where.push(`j.system = @system`);
    if (q.direction) where.push(`j.direction = @direction`);
    if (q.entity) where.push(`j.entity = @entity`);
    if (q.failedOnly) where.push(`j.failed = 1`);
    const columns = `j.id, j.at, j.direction, j.system, j.method, j.url, j.status, j.duration_ms, j.entity, j.job_id, j.error, j.failed, j.detail, j.event_id`;
    const key = q.q ? searchKey(q.q) : '';
    const out = { unsearched: 0 };
    let rows: Row[];
    // The statement's text is one of a bounded set (the filters' combinations); values are parameters.
    if (!key) rows = this.#store.sql.all<Row>(`SELECT ${columns} FROM journal j ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY j.id DESC LIMIT @limit`, params);
    else {
      rows = [];
      const last = q.before ? Math.min(q.before - 1, this.#maxId()) : this.#maxId();
      for (const r of this.#hits<Row>(key, { columns, join: '', where, params, last, complete: !!q.complete }, out)) if (rows.push(r) > limit) break;
    }
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { entries: page.map(toEntry), next: more ? String(page[page.length - 1].id) : null, ...(out.unsearched > 0 ? { unsearched: out.unsearched } : {}) };
  }

  #maxId(): number {
    return this.#store.sql.value<number | null>(`SELECT MAX(id) FROM journal`) ?? 0;
  }

  /**
   * Journal rows (`q.columns`, passing `q.where`) whose search text (SEARCH_TEXT.journal: url,
   * entity, bodies, error in any case, ё as е) contains `key`, newest first, from `q.last` down,
   * read as they are taken:
   * 1. rows the background indexing has not reached yet: the newest SCAN_ROWS of them, matched
   *    here one by one; `out.unsearched` counts the older ones left, once the search goes past them;
   * 2. the index: the trigrams for keys of 3+ characters; for shorter ones, which no trigram holds,
   *    and for any key with a system or direction to match (the trigrams of a common word would
   *    bring up every row of the others to be passed over), the text of the rows in the blocks
   *    whose filter may hold the key (and for short keys of the rows indexed before the filters
   *    existed, up to a budget too).
   */
  *#hits<R>(key: string, q: HitQuery, out: { unsearched: number }): Generator<R> {
    // Statement texts vary only by the filters' combinations and the two column sets (a bounded set,
    // kept by store.sql); the key and every filter value are parameters.
    const sql = this.#store.sql;
    const and = q.where.map((c) => ' AND ' + c).join('');
    const budget = q.complete ? Infinity : this.#opts.scanRows ?? SCAN_ROWS;
    const indexed = this.index.indexed();
    let last = q.last;
    if (last > indexed) {
      let first = Math.max(indexed, last - budget); // exclusive
      const newer = `SELECT ${q.columns}, j.id AS t_id, j.url AS t_url, j.entity AS t_entity, j.req_body AS t_req, j.res_body AS t_res, j.error AS t_error
         FROM journal j ${q.join} WHERE j.id > @first AND j.id <= @last ${and} ORDER BY j.id DESC`;
      type Text = { t_id: number; t_url: string; t_entity: string | null; t_req: string | null; t_res: string | null; t_error: string | null };
      // Bodies cost by their size (a Docpart page is 16 KB): a row's worth of them per row of the budget.
      let chars = budget * SCAN_CHARS_PER_ROW;
      for (const r of sql.iterate<R & Text>(newer, { ...q.params, first, last })) {
        if (chars <= 0) {
          first = r.t_id;
          break;
        }
        chars -= (r.t_req?.length ?? 0) + (r.t_res?.length ?? 0);
        if (SEARCH_TEXT.journal({ url: r.t_url, entity: r.t_entity, req_body: r.t_req, res_body: r.t_res, error: r.t_error }).includes(key)) yield r;
      }
      out.unsearched += first - indexed;
      last = indexed;
    }
    if (last <= 0 || q.unindexedOnly) return;

    const short = isShortKey(key);
    const match = `"${key.replace(/"/g, '""')}"`;
    const trigrams = `SELECT ${q.columns} FROM journal_fts f JOIN journal j ON j.id = f.rowid ${q.join} WHERE journal_fts MATCH @match AND f.rowid > @first AND f.rowid <= @last ${and} ORDER BY f.rowid DESC`;
    const tags = q.tags ?? [];
    if (!short && !tags.length) {
      yield* sql.iterate<R>(trigrams, { ...q.params, match, first: 0, last });
      return;
    }
    // The blocks whose filter may hold the key (for a system: in a row of that system), and in
    // them the rows' text: the journal row first (its filters are cheap), then its text.
    const text = `SELECT ${q.columns} FROM journal j ${q.join} CROSS JOIN ${INDEXED_TEXT} f ON f.id = j.id
       WHERE j.id >= @first AND j.id <= @last ${and} AND f.c0 LIKE @like ESCAPE '\\' ORDER BY j.id DESC`;
    const params = { ...q.params, like: likeContains(key) };
    const grams = this.index.gramsIndexed();
    if (last > grams) {
      // Rows indexed before their filters were (migration 11): the trigrams, or their text up to a budget.
      if (!short) yield* sql.iterate<R>(trigrams, { ...q.params, match, first: grams, last });
      else {
        const first = Math.max(grams, last - budget * TEXT_ROWS_PER_SCAN_ROW); // exclusive
        yield* sql.iterate<R>(text, { ...params, first: first + 1, last });
        out.unsearched += first - grams;
      }
      last = grams;
    }
    for (const [first, to] of this.index.candidates(key, last, tags)) yield* sql.iterate<R>(text, { ...params, first, last: to });
  }

  /** One exchange with its bodies (a form body also as its decoded fields). */
  get(id: number): JournalEntryFull | undefined {
    this.flush();
    const r = this.#store.sql.get<Row>(`SELECT * FROM journal WHERE id = ?`, id);
    return r && { ...toEntry(r), requestBody: r.req_body ?? null, responseBody: r.res_body ?? null, requestForm: formFields(r.req_body) };
  }

  /**
   * The events, newest first, filtered; `q` finds an event by its own words (title, summary, error)
   * or by any of its exchanges (address, bodies, error: the exchanges' search, see #hits).
   */
  events(q: JournalQuery = {}): JournalPage<JournalEvent> {
    this.flush();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const f: EventFilters = { before: q.before, from: q.from, to: q.to, system: q.system ? systemKey(q.system) : undefined, direction: q.direction, entity: q.entity, failedOnly: q.failedOnly };
    const key = q.q ? searchKey(q.q) : '';
    const out = { unsearched: 0 };
    let rows: JournalEvent[];
    if (!key) rows = this.#events.page(f, limit + 1);
    else {
      // An event's own words (title, entity, summary) come from its exchanges, which the index holds;
      // what only the event says is why it failed: that is matched on failed events alone, which
      // an index lists (a scan of every event's text took 30-60 ms at 100,000).
      const own = this.#events.page({ ...f, failedOnly: true }, limit + 1, { like: likeContains(key) });
      const ids = this.#exchangeHits(key, f, limit + 1, !!q.complete, out);
      const viaExchanges = ids.length ? this.#events.page(f, limit + 1, { ids }) : [];
      const byId = new Map([...own, ...viaExchanges].map((e) => [e.id, e]));
      rows = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, limit + 1);
    }
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { entries: page, next: more ? String(page[page.length - 1].id) : null, ...(out.unsearched > 0 ? { unsearched: out.unsearched } : {}) };
  }

  /** One event with its exchanges (oldest first, at most 1000, bodies left out). */
  event(id: number): JournalEventFull | undefined {
    this.flush();
    const e = this.#events.get(id);
    return e && { ...e, items: this.#store.sql
        .all<Row>(`SELECT id, at, direction, system, method, url, status, duration_ms, entity, job_id, error, failed, detail, event_id FROM journal WHERE event_id = ? ORDER BY id LIMIT 1000`, id)
        .map(toEntry) };
  }

  /**
   * Events (passing `f`) with an exchange whose search text contains `key`, in the order of their
   * newest matching exchange, until `need` of them (#hits: the unindexed newest rows matched here,
   * then the index). An event whose matches are all older than another event's can come a page late.
   */
  #exchangeHits(key: string, f: EventFilters, need: number, complete: boolean, out: { unsearched: number }): number[] {
    const where = EventRows.where(f);
    // The event is joined only when a filter needs it.
    const join = where.length ? 'JOIN journal_events e ON e.id = j.event_id' : '';
    const ids = new Set<number>();
    const take = (rows: Iterable<{ event_id: number }>) => {
      for (const r of rows) if (ids.add(r.event_id).size >= need) return true;
      return false;
    };
    // `before` is an event id: the exchanges are looked at from the newest one down.
    const q: HitQuery = { columns: 'j.event_id', join, where, params: { ...f }, last: this.#maxId(), complete, tags: eventTags(f) };
    const selective = f.failedOnly || f.from !== undefined || f.to !== undefined || !!f.entity;
    const few = selective && !complete ? this.#fewEvents(f) : null;
    if (!few) {
      take(this.#hits(key, q, out));
      return [...ids];
    }
    // Those events' exchanges: the ones not indexed yet as always, then the indexed ones by their text.
    if (take(this.#hits(key, { ...q, unindexedOnly: true }, out))) return [...ids];
    take(
      this.#store.sql.iterate<{ event_id: number }>(FEW_EVENTS_TEXT, { events: JSON.stringify(few), indexed: this.index.indexed(), like: likeContains(key) }),
    );
    return [...ids];
  }

  /** The events passing `f` (an index lists them), newest first, when they have at most FEW_EXCHANGES exchanges; null when more. */
  #fewEvents(f: EventFilters): number[] | null {
    // `+e.id`: an index of the other filters (failed, a period, an entity), not the id's.
    const where = EventRows.where(f).map((c) => c.replace(/^e\.id </, '+e.id <'));
    let rows = 0;
    const ids: number[] = [];
    for (const e of this.#store.sql.iterate<{ id: number; exchanges: number }>(`SELECT e.id, e.exchanges FROM journal_events e WHERE ${where.join(' AND ')}`, { ...f })) {
      rows += e.exchanges;
      if (rows > FEW_EXCHANGES) return null;
      ids.push(e.id);
    }
    return ids.sort((a, b) => b - a);
  }

  /** One bounded pruning step (age, then size); call it on a timer so a huge journal never blocks. */
  prune(now = Date.now(), batch = 2000): number {
    this.flush();
    const sql = this.#store.sql;
    return writeNow(this.#store, () => {
      const cutoff = now - this.#opts.retentionDays * 86_400_000;
      const gone = sql.all<{ id: number; size: number; event_id: number | null }>(
        `DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE at < ? ORDER BY id LIMIT ?) RETURNING id, size, event_id`,
        cutoff,
        batch,
      );
      const sizeOf = (rows: Array<{ size: number }>) => rows.reduce((a, r) => a + r.size, 0);
      const max = this.#opts.maxMegabytes * 1024 * 1024;
      if (this.#bytes() - sizeOf(gone) > max)
        gone.push(...sql.all<{ id: number; size: number; event_id: number | null }>(`DELETE FROM journal WHERE id IN (SELECT id FROM journal ORDER BY id LIMIT ?) RETURNING id, size, event_id`, batch));
      if (gone.length) this.index.pruned(gone.map((r) => r.id));
      this.#events.pruned(
        gone.flatMap((r) => (r.event_id === null ? [] : [r.event_id])),
        cutoff,
        batch,
      );
      const freed = sizeOf(gone);
      if (freed) this.#addBytes(-freed);
      return gone.length;
    });
  }

  totalBytes(): number {
    this.flush();
    return this.#bytes();
  }
}

/** The event an exchange outside any run is by itself. */
function ownEvent(r: BufferedRow): EventState {
  const entity = r.entity ?? (r.direction === 'in' && r.system === '1c' ? inboundEntity(r.url) : null);
  const facts = { direction: r.direction, system: r.system, method: r.method, url: r.url, status: r.status, entity, failed: r.failed === 1, error: r.error, responseBody: r.res };
  const verdict = exchangeVerdict(facts);
  return {
    // An exchange is recorded as it ends; its event is placed at its start.
    ...newEvent(r.eventId, { system: r.system, direction: r.direction, entity, title: exchangeTitle(facts) }, r.at - Math.round(r.durationMs)),
    endedAt: r.at,
    outcome: r.failed ? 'failed' : 'ok',
    summary: verdict.summary,
    error: verdict.error,
    exchanges: 1,
    method: r.method,
    url: r.url,
    status: r.status,
    durationMs: r.durationMs,
  };
}
