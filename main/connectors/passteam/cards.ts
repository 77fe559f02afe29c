import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import type { JobError } from '../../store/outbox.ts';
import type { Store } from '../../store/index.ts';
import { likeContains, SEARCH_TEXT } from '../../store/search-text.ts';
import type { RemoteCard, Vars } from './client.ts';
import { parseStoredError, type StoredError } from '../stored-error.ts';

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

const storedVars = z.record(z.string(), z.string());

/** A Vars column (`extra`, `sent`): JSON the store wrote, checked once here. */
function parseVars(column: string, text: string): Vars {
  const parsed = storedVars.safeParse(JSON.parse(text));
  // Only Sputnik writes these columns: another shape is a damaged store, not something to guess at.
  if (!parsed.success) throw new Error(`cards.${column} is not a map of texts: ${text.slice(0, 200)}`);
  return parsed.data;
}

/** The extra template variables 1C gave, as stored. */
export const cardExtra = (row: Pick<CardRow, 'extra'>): Vars => parseVars('extra', row.extra);

/** The variables Passteam last acknowledged; null before it has any. */
export const cardSent = (row: Pick<CardRow, 'sent'>): Vars | null => (row.sent ? parseVars('sent', row.sent) : null);

/** The card's last delivery error; null when there is none. */
export const cardError = (row: Pick<CardRow, 'last_error'>): StoredError | null => parseStoredError(row.last_error);

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

/** The template variables to send: the whole merged state, named per the config's `fields`. */
export function desiredVars(row: CardRow, fields: Config['passteam']['fields']): Vars {
  const vars: Vars = { ...cardExtra(row) };
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
  return sameVars(vars, cardSent(row));
}

export function sameVars(a: Vars, b: Vars | null): boolean {
  if (!b) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

const COLUMNS: ReadonlyArray<keyof CardRow> = [
  'code', 'name', 'birthday', 'phone', 'email', 'bonus', 'extra', 'card_id', 'card_url', 'installed', 'state', 'last_error',
  'sent', 'create_unsure', 'seq', 'changed_at', 'created_at', 'updated_at',
];
const SET = COLUMNS.filter((c) => c !== 'code').map((c) => `${c} = @${c}`).join(', ');
const INSERT = `INSERT INTO cards (${COLUMNS.join(', ')}, search) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')}, @search)`;
const UPDATE = `UPDATE cards SET ${SET}, search = @search WHERE code = @code`;
/** The same update, made only if the row is still exactly as read (`@was_<column>`): no read needed to merge. */
const UPDATE_IF_UNCHANGED = `${UPDATE} AND ${COLUMNS.filter((c) => c !== 'code').map((c) => `${c} IS @was_${c}`).join(' AND ')}`;

const withWas = (read: CardRow) => Object.fromEntries(COLUMNS.map((c) => [`was_${c}`, read[c]]));

/** Card rows in the store; every change that 1C reads back (cardId, cardUrl, installed, state) takes a new feed seq. */
export class Cards {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  get(code: string): CardRow | undefined {
    return this.#store.sql.get<CardRow>(`SELECT * FROM cards WHERE code = ?`, code);
  }

  /** A card the caller has seen stored (cards are never deleted); an Error naming it if it is not. */
  existing(code: string): CardRow {
    const row = this.get(code);
    if (!row) throw new Error(`card ${code} is not in the store`);
    return row;
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
      this.#store.sql.run(INSERT, { ...after, search: SEARCH_TEXT.card(after) });
      return { before, after };
    }
    const after: CardRow = { ...before, updated_at: now };
    for (const k of ['name', 'birthday', 'phone', 'email', 'bonus'] as const) if (patch[k] !== undefined) after[k] = patch[k];
    if (patch.knownCardId && !after.card_id) after.card_id = patch.knownCardId;
    if (patch.extra !== undefined) after.extra = JSON.stringify({ ...cardExtra(before), ...patch.extra });
    return { before, after };
  }

  /** Writes a row, taking a new feed seq when something 1C reads back changed. */
  save(before: CardRow | undefined, after: CardRow, now: number): CardRow {
    this.#stamp(before, after, now);
    this.#store.sql.run(UPDATE, { ...after, search: SEARCH_TEXT.card(after) });
    return after;
  }

  /** `save(read, after)` if the stored row is still `read` (nothing wrote it since); false when something did. */
  #saveIfUnchanged(read: CardRow, after: CardRow, now: number): boolean {
    this.#stamp(read, after, now);
    return this.#store.sql.run(UPDATE_IF_UNCHANGED, { ...after, search: SEARCH_TEXT.card(after), ...withWas(read) }).changes === 1;
  }

  #stamp(before: CardRow | undefined, after: CardRow, now: number): void {
    if (before && (before.card_id !== after.card_id || before.card_url !== after.card_url || before.installed !== after.installed || before.state !== after.state)) {
      after.seq = this.#store.nextSeq();
      after.changed_at = now;
    }
    after.updated_at = now;
  }

  /**
   * Passteam accepted `sent`, the variables made from `read` (the row the delivery read): remember
   * what it has and what it said. When nothing wrote the card since it was read the card is
   * synced without reading it again; when 1C changed it meanwhile, the answer is merged onto the
   * stored row and a newer state keeps it queued.
   */
  acknowledged(read: CardRow, sent: Vars, remote: RemoteCard, fields: Config['passteam']['fields'], now: number): CardRow | undefined {
    const ack = (row: CardRow): CardRow => ({
      ...row,
      card_id: remote.cardId,
      card_url: remote.cardUrl ?? row.card_url,
      installed: remote.installed === null ? row.installed : remote.installed ? 1 : 0,
      sent: JSON.stringify(sent),
      create_unsure: 0,
      last_error: null,
    });
    const after = { ...ack(read), state: 'synced' as const };
    if (this.#saveIfUnchanged(read, after, now)) return after;
    const before = this.get(read.code);
    if (!before) return undefined;
    const merged = ack(before);
    // A newer state that arrived while this one was in flight keeps the card queued.
    merged.state = sameVars(desiredVars(merged, fields), sent) ? 'synced' : 'queued';
    return this.save(before, merged, now);
  }

  /**
   * A failed delivery's error on the card (`failed`: Passteam refused it). `createUnsure`, when
   * given, says whether a createcard may have reached Passteam without its answer (the next
   * attempt then looks the card up first).
   */
  setError(read: CardRow, error: JobError, opts: { failed: boolean; createUnsure?: boolean }, now: number): void {
    const patch = (row: CardRow): CardRow => ({
      ...row,
      last_error: JSON.stringify(error),
      state: opts.failed ? 'failed' : row.state,
      create_unsure: opts.createUnsure === undefined ? row.create_unsure : opts.createUnsure ? 1 : 0,
    });
    if (this.#saveIfUnchanged(read, patch(read), now)) return;
    const before = this.get(read.code);
    if (before) this.save(before, patch(before), now);
  }

  /**
   * Before a createcard whose lease is not on disk: says durably that a create may be in flight.
   * Returns the row as stored now when it was still `read` (the baseline for the answer), else `read`.
   */
  setCreateUnsure(read: CardRow, now: number): CardRow {
    const after = { ...read, create_unsure: 1 };
    if (this.#saveIfUnchanged(read, after, now)) return after;
    const before = this.get(read.code);
    if (before) this.save(before, { ...before, create_unsure: 1 }, now);
    return read;
  }

  /** Cards whose cardId, cardUrl, installed or state changed after `afterSeq` (and not before `sinceMs`), oldest first. */
  changed(afterSeq: number, sinceMs: number, limit: number): CardRow[] {
    return this.#store.sql.all<CardRow>(`SELECT * FROM cards WHERE seq > @after AND changed_at >= @since ORDER BY seq LIMIT @limit`, { after: afterSeq, since: sinceMs, limit });
  }

  /** The feed's newest seq. */
  head(): number {
    return this.#store.sql.number(`SELECT COALESCE(MAX(seq), 0) FROM cards`);
  }

  /** Another card of ours with this phone (the one Passteam most likely has it on), if any. */
  holderOf(phone: string, except: string): string | null {
    // Only on a phone_taken refusal: a scan of the cards is fine there.
    return this.#store.sql.value<string>(`SELECT code FROM cards WHERE phone = ? AND code <> ? ORDER BY card_id IS NULL, updated_at DESC LIMIT 1`, phone, except) ?? null;
  }

  /** Cards Passteam refused, newest first, and how many there are (a partial index keeps both cheap). */
  failed(limit: number): { rows: CardRow[]; total: number } {
    return {
      rows: this.#store.sql.all<CardRow>(`SELECT * FROM cards WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?`, limit),
      total: this.#store.sql.number(`SELECT COUNT(*) FROM cards WHERE state = 'failed'`),
    };
  }

  /** The window's list: search (the search column, or a phone's digits), state, newest first; with the total. */
  list(q: { state?: CardRow['state']; search: string; offset: number; limit: number }): { rows: CardRow[]; total: number } {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
    if (q.state) (where.push('state = @state'), (params.state = q.state));
    if (q.search) {
      const digits = q.search.replace(/\D/g, '');
      // Code, name, e-mail, cardId in any case, ё as е (the search column, see SEARCH_TEXT.card).
      params.q = likeContains(q.search);
      // A phone in any spelling: its last 10 digits against the stored +7XXXXXXXXXX.
      params.phone = digits.length >= 4 ? `%${digits.slice(-10)}%` : null;
      where.push(`(search LIKE @q ESCAPE '\\' OR (@phone IS NOT NULL AND phone LIKE @phone))`);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return {
      rows: this.#store.sql.all<CardRow>(`SELECT * FROM cards ${w} ORDER BY updated_at DESC, code LIMIT @limit OFFSET @offset`, params),
      total: this.#store.sql.number(`SELECT COUNT(*) FROM cards ${w}`, params),
    };
  }
}
