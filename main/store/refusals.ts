import type { DB } from './db.ts';
import { withoutFsync } from './db.ts';

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
 * call costs a Set lookup, not a query.
 */
export class Refusals {
  readonly #db: DB;
  readonly #s;
  readonly #open = new Set<string>();

  constructor(db: DB) {
    this.#db = db;
    this.#s = {
      upsert: db.prepare(`INSERT INTO refusals (key, entity, title, route, status, code, message, field, fix, client, count, first_at, at)
        VALUES (@key, @entity, @title, @route, @status, @code, @message, @field, @fix, @client, 1, @at, @at)
        ON CONFLICT (key) DO UPDATE SET entity = excluded.entity, title = excluded.title, route = excluded.route, status = excluded.status,
          code = excluded.code, message = excluded.message, field = excluded.field, fix = excluded.fix, client = excluded.client,
          count = count + 1, at = excluded.at`),
      remove: db.prepare(`DELETE FROM refusals WHERE key = ?`),
      list: db.prepare(`SELECT * FROM refusals ORDER BY at DESC, id DESC LIMIT ?`),
      count: db.prepare(`SELECT COUNT(*) FROM refusals`).pluck(),
      keys: db.prepare(`SELECT key FROM refusals`).pluck(),
      pruneOld: db.prepare(`DELETE FROM refusals WHERE at < ? RETURNING key`).pluck(),
      pruneExtra: db.prepare(`DELETE FROM refusals WHERE id NOT IN (SELECT id FROM refusals ORDER BY at DESC, id DESC LIMIT ?) RETURNING key`).pluck(),
    };
    for (const k of this.#s.keys.all() as string[]) this.#open.add(k);
  }

  /** Any open refusal at all (the accepted-call path skips everything when not). */
  get size(): number {
    return this.#open.size;
  }

  has(key: string): boolean {
    return this.#open.has(key);
  }

  /**
   * A refusal: kept (or its row updated with the newest reason). Without its own fsync, like the
   * journal: the next intake commit makes it durable, and losing one to a power cut loses a note.
   */
  record(r: RefusalInput): void {
    withoutFsync(this.#db, () => this.#s.upsert.run({ ...r, message: r.message.slice(0, 2000), fix: r.fix.slice(0, 1000), title: r.title.slice(0, 300) }));
    this.#open.add(r.key);
  }

  /** Removes the keys' refusals (a later call for them was accepted, or the operator dismissed one). */
  remove(keys: Iterable<string>): number {
    const mine = [...keys].filter((k) => this.#open.has(k));
    if (!mine.length) return 0;
    const n = withoutFsync(this.#db, () => mine.reduce((sum, k) => sum + this.#s.remove.run(k).changes, 0));
    for (const k of mine) this.#open.delete(k);
    return n;
  }

  list(limit: number): RefusalRow[] {
    return this.#s.list.all(limit) as RefusalRow[];
  }

  count(): number {
    return this.#s.count.get() as number;
  }

  /** Drops refusals older than `before` and all but the newest `keep`. */
  prune(before: number, keep = REFUSALS_KEPT): number {
    const gone = this.#db.transaction(() => [...(this.#s.pruneOld.all(before) as string[]), ...(this.#s.pruneExtra.all(keep) as string[])])();
    for (const k of gone) this.#open.delete(k);
    return gone.length;
  }
}
