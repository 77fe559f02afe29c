import type { Config } from '../../config/schema.ts';
import type { JobError } from '../../store/outbox.ts';
import type { Store } from '../../store/index.ts';
import { SEARCH_TEXT } from '../../store/search-text.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import type { RemoteCard, Vars } from './client.ts';

/** A loyalty card as Sputnik keeps it: the merged state 1C gave and what Passteam knows. */
export interface CardRow {
  code: string;
  name: string | null;
  birthday: string | null; // YYYY-MM-DD
  phone: string | null; // +7XXXXXXXXXX
  email: string | null;
  bonus: string | null; // exact decimal text
  extra: string; // JSON: extra template variables, passed through verbatim
  card_id: string | null;
  card_url: string | null;
  installed: number | null;
  state: 'queued' | 'synced' | 'failed';
  last_error: string | null;
  sent: string | null; // JSON Vars Passteam last acknowledged
  create_unsure: number;
  seq: number;
  changed_at: number;
  created_at: number;
  updated_at: number;
}

/** Fields a PUT may change: undefined keeps, null clears. */
export interface CardPatch {
  name?: string | null;
  birthday?: string | null;
  phone?: string | null;
  email?: string | null;
  bonus?: string | null;
  extra?: Record<string, string>;
  /** A cardId 1C already has (made by an earlier integration): adopted when Sputnik has none. */
  knownCardId?: string;
}

export interface CardView {
  code: string;
  state: CardRow['state'];
  cardId: string | null;
  cardUrl: string | null;
  installed: boolean | null;
  bonus: number | null;
  updatedAt: string;
  lastError: JobError | null;
}

export function view(row: CardRow): CardView {
  return {
    code: row.code,
    state: row.state,
    cardId: row.card_id,
    cardUrl: row.card_url,
    installed: row.installed === null ? null : row.installed === 1,
    bonus: row.bonus === null ? null : Number(row.bonus),
    updatedAt: toOnecDateTime(row.updated_at),
    lastError: row.last_error ? (JSON.parse(row.last_error) as JobError) : null,
  };
}

/** The template variables to send: the whole merged state, named per the config's `fields`. */
export function desiredVars(row: CardRow, fields: Config['passteam']['fields']): Vars {
  const vars: Vars = { ...(JSON.parse(row.extra) as Vars) };
  const put = (name: string, value: string | null) => {
    if (value !== null && value !== '') vars[name] = value;
  };
  put(fields.name, row.name);
  put(fields.birthday, row.birthday ? row.birthday.split('-').reverse().join('.') : null); // dd.MM.yyyy
  put(fields.phone, row.phone);
  put(fields.email, row.email);
  put(fields.bonus, row.bonus);
  return vars;
}

/** Does Passteam already have exactly `vars` for this card? */
export function passteamHas(row: CardRow, vars: Vars): boolean {
  return sameVars(vars, row.sent ? (JSON.parse(row.sent) as Vars) : null);
}

export function sameVars(a: Vars, b: Vars | null): boolean {
  if (!b) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** Card rows in the store; every change that 1C reads back (cardId, cardUrl, installed, state) takes a new feed seq. */
export class Cards {
  readonly #store: Store;
  readonly #s;

  constructor(store: Store) {
    this.#store = store;
    const db = store.db;
    this.#s = {
      get: db.prepare(`SELECT * FROM cards WHERE code = ?`),
      insert: db.prepare(`INSERT INTO cards (code, name, birthday, phone, email, bonus, extra, card_id, state, seq, changed_at, created_at, updated_at, search)
        VALUES (@code, @name, @birthday, @phone, @email, @bonus, @extra, @card_id, @state, @seq, @changed_at, @created_at, @updated_at, @search)`),
      update: db.prepare(`UPDATE cards SET name = @name, birthday = @birthday, phone = @phone, email = @email, bonus = @bonus, extra = @extra,
        card_id = @card_id, card_url = @card_url, installed = @installed, state = @state, last_error = @last_error, sent = @sent,
        create_unsure = @create_unsure, seq = @seq, changed_at = @changed_at, updated_at = @updated_at, search = @search WHERE code = @code`),
      feed: db.prepare(`SELECT * FROM cards WHERE seq > @after AND changed_at >= @since ORDER BY seq LIMIT @limit`),
      head: db.prepare(`SELECT COALESCE(MAX(seq), 0) FROM cards`).pluck(),
      // Only on a phone_taken refusal: a scan of the cards is fine there.
      holderOf: db.prepare(`SELECT code FROM cards WHERE phone = ? AND code <> ? ORDER BY card_id IS NULL, updated_at DESC LIMIT 1`).pluck(),
      failed: db.prepare(`SELECT * FROM cards WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?`),
      failedCount: db.prepare(`SELECT COUNT(*) FROM cards WHERE state = 'failed'`).pluck(),
    };
  }

  get(code: string): CardRow | undefined {
    return this.#s.get.get(code) as CardRow | undefined;
  }

  /** Inside a transaction: merges a patch (creating the card), returns the row after it. */
  merge(code: string, patch: CardPatch, now: number): { before: CardRow | undefined; after: CardRow } {
    const before = this.get(code);
    if (!before) {
      const after: CardRow = {
        code,
        name: patch.name ?? null,
        birthday: patch.birthday ?? null,
        phone: patch.phone ?? null,
        email: patch.email ?? null,
        bonus: patch.bonus ?? null,
        extra: JSON.stringify(patch.extra ?? {}),
        card_id: patch.knownCardId ?? null,
        card_url: null,
        installed: null,
        state: 'queued',
        last_error: null,
        sent: null,
        create_unsure: 0,
        seq: this.#store.nextSeq(),
        changed_at: now,
        created_at: now,
        updated_at: now,
      };
      this.#s.insert.run({ ...after, search: SEARCH_TEXT.card(after) });
      return { before, after };
    }
    const after: CardRow = { ...before, updated_at: now };
    for (const k of ['name', 'birthday', 'phone', 'email', 'bonus'] as const) if (patch[k] !== undefined) after[k] = patch[k];
    if (patch.knownCardId && !after.card_id) after.card_id = patch.knownCardId;
    if (patch.extra !== undefined) after.extra = JSON.stringify({ ...(JSON.parse(before.extra) as Vars), ...patch.extra });
    return { before, after };
  }

  /** Writes a row, taking a new feed seq when something 1C reads back changed. */
  save(before: CardRow | undefined, after: CardRow, now: number): CardRow {
    if (before && (before.card_id !== after.card_id || before.card_url !== after.card_url || before.installed !== after.installed || before.state !== after.state)) {
      after.seq = this.#store.nextSeq();
      after.changed_at = now;
    }
    after.updated_at = now;
    this.#s.update.run({ ...after, search: SEARCH_TEXT.card(after) });
    return after;
  }

  /** Passteam accepted `sent`: remember what it has and what it said. */
  acknowledged(code: string, sent: Vars, remote: RemoteCard, fields: Config['passteam']['fields'], now: number): CardRow | undefined {
    const before = this.get(code);
    if (!before) return undefined;
    const after: CardRow = {
      ...before,
      card_id: remote.cardId,
      card_url: remote.cardUrl ?? before.card_url,
      installed: remote.installed === null ? before.installed : remote.installed ? 1 : 0,
      sent: JSON.stringify(sent),
      create_unsure: 0,
      last_error: null,
    };
    // A newer state that arrived while this one was in flight keeps the card queued.
    after.state = sameVars(desiredVars(after, fields), sent) ? 'synced' : 'queued';
    return this.save(before, after, now);
  }

  setError(code: string, error: JobError, failed: boolean, now: number): void {
    const before = this.get(code);
    if (!before) return;
    this.save(before, { ...before, last_error: JSON.stringify(error), state: failed ? 'failed' : before.state }, now);
  }

  setCreateUnsure(code: string, unsure: boolean, now: number): void {
    const before = this.get(code);
    if (before) this.save(before, { ...before, create_unsure: unsure ? 1 : 0 }, now);
  }

  /** Cards whose cardId, cardUrl, installed or state changed after `afterSeq` (and not before `sinceMs`), oldest first. */
  changed(afterSeq: number, sinceMs: number, limit: number): CardRow[] {
    return this.#s.feed.all({ after: afterSeq, since: sinceMs, limit }) as CardRow[];
  }

  /** The feed's newest seq. */
  head(): number {
    return this.#s.head.get() as number;
  }

  /** Another card of ours with this phone (the one Passteam most likely has it on), if any. */
  holderOf(phone: string, except: string): string | null {
    return (this.#s.holderOf.get(phone, except) as string | undefined) ?? null;
  }

  /** Cards Passteam refused, newest first, and how many there are (a partial index keeps both cheap). */
  failed(limit: number): { rows: CardRow[]; total: number } {
    return { rows: this.#s.failed.all(limit) as CardRow[], total: this.#s.failedCount.get() as number };
  }
}
