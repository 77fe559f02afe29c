import type { Store } from '../store/index.ts';
import { redactText, redactUrl } from './redact.ts';
import { withoutFsync } from '../store/db.ts';
import { likeContains, searchKey, SEARCH_TEXT } from '../store/search-text.ts';
import { JournalSearchIndex } from './search-index.ts';
import { EventRows, failureOf, newEvent, scopes, type EventEnd, type EventFilters, type EventStart, type EventState, type JournalEvent, type Scope } from './events.ts';
import { exchangeTitle, exchangeVerdict, failureSummary, formFields, inboundEntity, systemKey } from './wording.ts';

export type { EventStart, JournalEvent } from './events.ts';

export type System = '1c' | 'admin' | 'passteam' | 'paykeeper' | 'docpart' | 'regate';

export interface ExchangeInput {
  direction: 'in' | 'out';
  system: System | string;
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
}

export interface JournalOptions {
  bodyLimitBytes: number;
  retentionDays: number;
  maxMegabytes: number;
  /** Secret values (tokens, passwords) to mask wherever they appear verbatim. */
  secrets?: () => string[];
  flushMs?: number;
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
  readonly #s;
  readonly #buffer: BufferedRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #insertAll: (rows: BufferedRow[]) => void;
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
    const db = store.db;
    this.#s = {
      insert: db.prepare(`INSERT INTO journal (at, direction, system, method, url, status, duration_ms, req_body, res_body, error, detail, failed, entity, job_id, event_id, size)
        VALUES (@at, @direction, @system, @method, @url, @status, @durationMs, @req, @res, @error, @detail, @failed, @entity, @jobId, @eventId, @size)`),
      items: db.prepare(`SELECT id, at, direction, system, method, url, status, duration_ms, entity, job_id, error, failed, detail, event_id FROM journal WHERE event_id = ? ORDER BY id LIMIT 1000`),
      addBytes: db.prepare(`UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'journal_bytes'`),
      bytes: db.prepare(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_bytes'`).pluck(),
      get: db.prepare(`SELECT * FROM journal WHERE id = ?`),
      maxId: db.prepare(`SELECT MAX(id) FROM journal`).pluck(),
      pruneOld: db.prepare(`DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE at < ? ORDER BY id LIMIT ?) RETURNING id, size, event_id`),
      pruneOldest: db.prepare(`DELETE FROM journal WHERE id IN (SELECT id FROM journal ORDER BY id LIMIT ?) RETURNING id, size, event_id`),
    };
    this.index = new JournalSearchIndex(db);
    this.#events = new EventRows(db);
    this.#events.closeInterrupted();
    this.#lastEventId = this.#events.maxId();
    const insertAll = (rows: BufferedRow[]) => {
      let bytes = 0;
      for (const row of rows) {
        this.#s.insert.run(row);
        if (row.own) this.#events.write(ownEvent(row));
        bytes += row.size;
      }
      for (const e of this.#dirty) this.#events.write(e);
      this.#dirty.clear();
      this.#s.addBytes.run(bytes);
    };
    // Journal commits skip their own fsync (synchronous=NORMAL for just this transaction): the
    // next intake commit's fsync makes them durable too, since the WAL is written in order.
    this.#insertAll = (rows) => withoutFsync(db, () => insertAll(rows));
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
   */
  async within<T>(start: EventStart, fn: () => Promise<T>, end?: (result: T) => EventEnd): Promise<T> {
    const scope: Scope = { start, at: Date.now(), event: null };
    let result: T;
    try {
      result = await scopes.run(scope, fn);
    } catch (e) {
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
      try {
        this.#insertAll(rows);
      } catch {
        /* store unavailable: the journal is best-effort */
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
    return ((this.#s.maxId.get() as number | null) ?? 0) + this.#buffer.length + this.#changes;
  }

  list(q: JournalQuery = {}): { entries: JournalEntry[]; next: string | null } {
    this.flush();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const { before, from, to, system, direction, entity } = q;
    const params: Record<string, unknown> = { limit: limit + 1, before, from, to, system, direction, entity };
    // The filters, for the journal under any alias (`j.` when joined with the index).
    const where = (t: string) => {
      const w: string[] = [];
      if (q.before) w.push(`${t}id < @before`);
      if (q.from !== undefined) w.push(`${t}at >= @from`);
      if (q.to !== undefined) w.push(`${t}at < @to`);
      if (q.system) w.push(`${t}system = @system`);
      if (q.direction) w.push(`${t}direction = @direction`);
      if (q.entity) w.push(`${t}entity = @entity`);
      if (q.failedOnly) w.push(`${t}failed = 1`);
      return w;
    };
    const rows = this.#matching(q.q ? searchKey(q.q) : '', where, params);
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { entries: page.map(toEntry), next: more ? String(page[page.length - 1].id) : null };
  }

  /**
   * Newest rows passing `where` whose search text (SEARCH_TEXT.journal: url, entity, bodies, error
   * in any case, ё as е) contains `key`. Rows the background indexing has not reached yet are the
   * newest: they are read and matched here first. Then the index: its trigrams for keys of 3+
   * characters, a scan of its text for shorter ones, which no trigram holds.
   */
  #matching(key: string, where: (t: string) => string[], params: Record<string, unknown>): Row[] {
    const db = this.#store.db;
    const limit = params.limit as number;
    const cols = (t: string) => `${t}id, ${t}at, ${t}direction, ${t}system, ${t}method, ${t}url, ${t}status, ${t}duration_ms, ${t}entity, ${t}job_id, ${t}error, ${t}failed, ${t}detail, ${t}event_id`;
    const and = (w: string[]) => w.map((c) => ' AND ' + c).join('');
    if (!key) return db.prepare(`SELECT ${cols('')} FROM journal WHERE 1 ${and(where(''))} ORDER BY id DESC LIMIT @limit`).all(params) as Row[];

    params.indexed = this.index.indexed();
    const out: Row[] = [];
    const newer = db.prepare(`SELECT ${cols('')}, req_body, res_body FROM journal WHERE id > @indexed ${and(where(''))} ORDER BY id DESC`);
    for (const r of newer.iterate(params) as Iterable<Row>) {
      if (!SEARCH_TEXT.journal({ ...r, req_body: r.req_body ?? null, res_body: r.res_body ?? null }).includes(key)) continue;
      out.push(r);
      if (out.length >= limit) return out;
    }

    const filters = where('j.');
    if (params.before) filters.push('f.rowid < @before'); // a bound the index walks by itself
    if ([...key].length >= 3) params.match = `"${key.replace(/"/g, '""')}"`;
    else params.like = likeContains(key);
    const indexed = db
      .prepare(
        `SELECT ${cols('j.')} FROM journal_fts f JOIN journal j ON j.id = f.rowid
         WHERE ${params.match ? 'journal_fts MATCH @match' : `f.search LIKE @like ESCAPE '\\'`} AND f.rowid <= @indexed ${and(filters)}
         ORDER BY f.rowid DESC LIMIT ${limit - out.length}`,
      )
      .all(params) as Row[];
    return [...out, ...indexed];
  }

  /** One exchange with its bodies (a form body also as its decoded fields). */
  get(id: number): JournalEntryFull | undefined {
    this.flush();
    const r = this.#s.get.get(id) as Row | undefined;
    return r && { ...toEntry(r), requestBody: r.req_body ?? null, responseBody: r.res_body ?? null, requestForm: formFields(r.req_body) };
  }

  /**
   * The events, newest first, filtered; `q` finds an event by its own words (title, summary, error)
   * or by any of its exchanges (address, bodies, error: the exchanges' search, see #matching).
   */
  events(q: JournalQuery = {}): { entries: JournalEvent[]; next: string | null } {
    this.flush();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const f: EventFilters = { before: q.before, from: q.from, to: q.to, system: q.system ? systemKey(q.system) : undefined, direction: q.direction, entity: q.entity, failedOnly: q.failedOnly };
    const key = q.q ? searchKey(q.q) : '';
    let rows: JournalEvent[];
    if (!key) rows = this.#events.page(f, limit + 1);
    else {
      // An event's own words (title, entity, summary) come from its exchanges, which the index holds;
      // what only the event says is why it failed: that is matched on failed events alone, which
      // an index lists (a scan of every event's text took 30-60 ms at 100,000).
      const own = this.#events.page({ ...f, failedOnly: true }, limit + 1, { like: likeContains(key) });
      const ids = this.#exchangeHits(key, f, limit + 1);
      const viaExchanges = ids.length ? this.#events.page(f, limit + 1, { ids }) : [];
      const byId = new Map([...own, ...viaExchanges].map((e) => [e.id, e]));
      rows = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, limit + 1);
    }
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { entries: page, next: more ? String(page[page.length - 1].id) : null };
  }

  /** One event with its exchanges (oldest first, at most 1000, bodies left out). */
  event(id: number): JournalEventFull | undefined {
    this.flush();
    const e = this.#events.get(id);
    return e && { ...e, items: (this.#s.items.all(id) as Row[]).map(toEntry) };
  }

  /**
   * Events (passing `f`) with an exchange whose search text contains `key`, in the order of their
   * newest matching exchange, until `need` of them: the unindexed newest rows matched here, then
   * the index. An event whose matches are all older than another event's can come a page late.
   */
  #exchangeHits(key: string, f: EventFilters, need: number): number[] {
    const db = this.#store.db;
    const params: Record<string, unknown> = { ...f, indexed: this.index.indexed() };
    const filters = EventRows.where(f);
    const and = filters.map((c) => ' AND ' + c).join('');
    // The event is joined only when a filter needs it.
    const join = filters.length ? 'JOIN journal_events e ON e.id = j.event_id' : '';
    const ids: number[] = [];
    const seen = new Set<number>();
    const take = (id: number) => {
      if (!seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
      return ids.length >= need;
    };
    const newer = db.prepare(
      `SELECT j.event_id, j.url, j.entity, j.req_body, j.res_body, j.error FROM journal j ${join} WHERE j.id > @indexed ${and} ORDER BY j.id DESC`,
    );
    for (const r of newer.iterate(params) as Iterable<{ event_id: number; url: string; entity: string | null; req_body: string | null; res_body: string | null; error: string | null }>) {
      if (SEARCH_TEXT.journal(r).includes(key) && take(r.event_id)) return ids;
    }
    if ([...key].length >= 3) params.match = `"${key.replace(/"/g, '""')}"`;
    else params.like = likeContains(key);
    const indexed = db.prepare(
      `SELECT j.event_id FROM journal_fts f JOIN journal j ON j.id = f.rowid ${join}
       WHERE ${params.match ? 'journal_fts MATCH @match' : `f.search LIKE @like ESCAPE '\\'`} AND f.rowid <= @indexed ${and} ORDER BY f.rowid DESC`,
    );
    for (const r of indexed.iterate(params) as Iterable<{ event_id: number }>) if (take(r.event_id)) break;
    return ids;
  }

  /** One bounded pruning step (age, then size); call it on a timer so a huge journal never blocks. */
  prune(now = Date.now(), batch = 2000): number {
    this.flush();
    return this.#store.db.transaction(() => {
      const cutoff = now - this.#opts.retentionDays * 86_400_000;
      const gone = this.#s.pruneOld.all(cutoff, batch) as Array<{ id: number; size: number; event_id: number | null }>;
      const sizeOf = (rows: Array<{ size: number }>) => rows.reduce((a, r) => a + r.size, 0);
      const max = this.#opts.maxMegabytes * 1024 * 1024;
      if ((this.#s.bytes.get() as number) - sizeOf(gone) > max) gone.push(...(this.#s.pruneOldest.all(batch) as Array<{ id: number; size: number; event_id: number | null }>));
      if (gone.length) this.index.pruned(gone.map((r) => r.id));
      this.#events.pruned(
        gone.flatMap((r) => (r.event_id === null ? [] : [r.event_id])),
        cutoff,
        batch,
      );
      const freed = sizeOf(gone);
      if (freed) this.#s.addBytes.run(-freed);
      return gone.length;
    })();
  }

  totalBytes(): number {
    this.flush();
    return this.#s.bytes.get() as number;
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
