import type { Store } from '../store/index.ts';
import { redactText, redactUrl } from './redact.ts';
import { withoutFsync } from '../store/db.ts';
import { likeContains, searchKey, SEARCH_TEXT } from '../store/search-text.ts';
import { JournalSearchIndex } from './search-index.ts';

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
  error?: string | null;
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
}

export interface JournalEntryFull extends JournalEntry {
  requestBody: string | null;
  responseBody: string | null;
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
  entity: string | null;
  jobId: number | null;
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
});

/**
 * Every exchange, in and out: redacted, truncated, with its duration and status, searchable,
 * pruned by age and total size. Writes ride the group commit and never delay an answer.
 */
export class Journal {
  readonly #store: Store;
  readonly #opts: JournalOptions;
  readonly #s;
  readonly #buffer: BufferedRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #insertAll: (rows: BufferedRow[]) => void;
  /** The trigram index over the rows' search text; the core starts its background indexing. */
  readonly index: JournalSearchIndex;

  constructor(store: Store, opts: JournalOptions) {
    this.#store = store;
    this.#opts = opts;
    const db = store.db;
    this.#s = {
      insert: db.prepare(`INSERT INTO journal (at, direction, system, method, url, status, duration_ms, req_body, res_body, error, entity, job_id, size)
        VALUES (@at, @direction, @system, @method, @url, @status, @durationMs, @req, @res, @error, @entity, @jobId, @size)`),
      addBytes: db.prepare(`UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'journal_bytes'`),
      bytes: db.prepare(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_bytes'`).pluck(),
      get: db.prepare(`SELECT * FROM journal WHERE id = ?`),
      maxId: db.prepare(`SELECT MAX(id) FROM journal`).pluck(),
      pruneOld: db.prepare(`DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE at < ? ORDER BY id LIMIT ?) RETURNING id, size`),
      pruneOldest: db.prepare(`DELETE FROM journal WHERE id IN (SELECT id FROM journal ORDER BY id LIMIT ?) RETURNING id, size`),
    };
    this.index = new JournalSearchIndex(db);
    const insertAll = (rows: BufferedRow[]) => {
      let bytes = 0;
      for (const row of rows) {
        this.#s.insert.run(row);
        bytes += row.size;
      }
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
      entity: e.entity ?? null,
      jobId: e.jobId ?? null,
      size: 200 + Buffer.byteLength(req ?? '') + Buffer.byteLength(res ?? ''),
    });
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(false), this.#opts.flushMs ?? 250);
      this.#timer.unref();
    }
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

  /** Moves whenever a row is recorded (written or still buffered): the window's live-update signal. */
  lastId(): number {
    return ((this.#s.maxId.get() as number | null) ?? 0) + this.#buffer.length;
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
      if (q.failedOnly) w.push(`(${t}status IS NULL OR ${t}status >= 400 OR ${t}error IS NOT NULL)`);
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
    const cols = (t: string) => `${t}id, ${t}at, ${t}direction, ${t}system, ${t}method, ${t}url, ${t}status, ${t}duration_ms, ${t}entity, ${t}job_id, ${t}error`;
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

  get(id: number): JournalEntryFull | undefined {
    this.flush();
    const r = this.#s.get.get(id) as Row | undefined;
    return r && { ...toEntry(r), requestBody: r.req_body ?? null, responseBody: r.res_body ?? null };
  }

  /** One bounded pruning step (age, then size); call it on a timer so a huge journal never blocks. */
  prune(now = Date.now(), batch = 2000): number {
    this.flush();
    return this.#store.db.transaction(() => {
      const cutoff = now - this.#opts.retentionDays * 86_400_000;
      const gone = this.#s.pruneOld.all(cutoff, batch) as Array<{ id: number; size: number }>;
      const sizeOf = (rows: Array<{ size: number }>) => rows.reduce((a, r) => a + r.size, 0);
      const max = this.#opts.maxMegabytes * 1024 * 1024;
      if ((this.#s.bytes.get() as number) - sizeOf(gone) > max) gone.push(...(this.#s.pruneOldest.all(batch) as Array<{ id: number; size: number }>));
      if (gone.length) this.index.pruned(gone.map((r) => r.id));
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
