import type { Store } from './index.ts';

/** One 1C write call Sputnik refused at the door (nothing was stored), kept until it is resolved. */
export interface RefusalRow {
  id: number;
  /** The entity (`card:200001`) or, for a call that named none, its route. One row per key. */
  key: string;
  entity: string | null;
  title: string;
  route: string;
  status: number;
  code: string;
  message: string;
  field: string | null;
  /** What to fix in 1C, in the operator's words. */
  fix: string;
  /** The caller's address when it is another computer (a POS on the LAN); null for this one. */
  client: string | null;
  /** Refusals for this key since the first one. */
  count: number;
  first_at: number;
  at: number;
}

export type RefusalInput = Omit<RefusalRow, 'id' | 'count' | 'first_at'>;

/** How many keys are kept: the oldest go first beyond it (a misbehaving 1C cannot grow the table). */
export const REFUSALS_KEPT = 1000;

/**
 * The record of refused 1C write calls: who, what, why. A later accepted call for the same key
 * or the operator's «Убрать» removes it. The open keys are also held in memory, so an accepted
 * call costs a Set lookup, not a query. Its writes are relaxed, like the journal's: the next intake
 * commit makes them durable, and losing one to a power cut loses a note. They run before the call
 * returns (the table and `has` agree at once); the promise carries a failed commit.
 */
export class Refusals {
  readonly #store: Pick<Store, 'sql' | 'write'>;
  readonly #open = new Set<string>();

  constructor(store: Pick<Store, 'sql' | 'write'>) {
    this.#store = store;
    for (const k of store.sql.column<string>(`SELECT key FROM refusals`)) this.#open.add(k);
  }

  /** Any open refusal at all (the accepted-call path skips everything when not). */
  get size(): number {
    return this.#open.size;
  }

  has(key: string): boolean {
    return this.#open.has(key);
  }

  /** A refusal: kept (or its row updated with the newest reason). */
  record(r: RefusalInput): Promise<void> {
    const row = { ...r, message: r.message.slice(0, 2000), fix: r.fix.slice(0, 1000), title: r.title.slice(0, 300) };
    const done = this.#store.write(
      () =>
        void this.#store.sql.run(
          `INSERT INTO refusals (key, entity, title, route, status, code, message, field, fix, client, count, first_at, at)
        VALUES (@key, @entity, @title, @route, @status, @code, @message, @field, @fix, @client, 1, @at, @at)
        ON CONFLICT (key) DO UPDATE SET entity = excluded.entity, title = excluded.title, route = excluded.route, status = excluded.status,
          code = excluded.code, message = excluded.message, field = excluded.field, fix = excluded.fix, client = excluded.client,
          count = count + 1, at = excluded.at`,
          row,
        ),
      { durability: 'relaxed' },
    );
    this.#open.add(r.key);
    return done;
  }

  /** Removes the keys' refusals (a later call for them was accepted, or the operator dismissed one). */
  remove(keys: Iterable<string>): Promise<number> {
    const mine = [...keys].filter((k) => this.#open.has(k));
    if (!mine.length) return Promise.resolve(0);
    const done = this.#store.write(() => mine.reduce((sum, k) => sum + this.#store.sql.run(`DELETE FROM refusals WHERE key = ?`, k).changes, 0), { durability: 'relaxed' });
    for (const k of mine) this.#open.delete(k);
    return done;
  }

  list(limit: number): RefusalRow[] {
    return this.#store.sql.all<RefusalRow>(`SELECT * FROM refusals ORDER BY at DESC, id DESC LIMIT ?`, limit);
  }

  count(): number {
    return this.#store.sql.value<number>(`SELECT COUNT(*) FROM refusals`) ?? 0;
  }

  /** Drops refusals older than `before` and all but the newest `keep` (housekeeping). */
  async prune(before: number, keep = REFUSALS_KEPT): Promise<number> {
    const gone = await this.#store.write(
      () => [
        ...this.#store.sql.column<string>(`DELETE FROM refusals WHERE at < ? RETURNING key`, before),
        ...this.#store.sql.column<string>(`DELETE FROM refusals WHERE id NOT IN (SELECT id FROM refusals ORDER BY at DESC, id DESC LIMIT ?) RETURNING key`, keep),
      ],
      { durability: 'relaxed' },
    );
    for (const k of gone) this.#open.delete(k);
    return gone.length;
  }
}
