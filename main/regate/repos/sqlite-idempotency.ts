import { createHash } from 'node:crypto';
import type { Store } from '../../store/index.ts';
import { rowById, setState } from './sqlite-rows.ts';
import { toRecord, type Begin, type BeginInput, type IdempotencyRepo, type RequestRow, type WriteRecord, type WriteResult } from './types.ts';

/** Keys are kept this long (specs/regate.md "Writes"). */
export const KEY_TTL_MS = 72 * 3600_000;

/** A key reused with another request is told apart by this (1C's verb, path and body). */
export function fingerprint(verb: string, path: string, body: string | null): string {
  return createHash('sha256').update(`${verb} ${path}\n${body ?? ''}`).digest('hex');
}

/** IdempotencyRepo on the one SQLite store (`regate_requests`), on the store's clock. */
export class SqliteIdempotency implements IdempotencyRepo {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  begin(input: BeginInput): Promise<Begin> {
    const { sql, outbox } = this.#store;
    // Durable before 1C is called: after a crash the write is found and re-sent with the same request id.
    return this.#store.write((): Begin => {
      const fp = fingerprint(input.verb, input.path, input.body);
      const now = outbox.now();
      const found = sql.get<RequestRow>(`SELECT * FROM regate_requests WHERE tenant = ? AND key = ?`, input.tenant, input.key);
      if (found && now - found.created_at < KEY_TTL_MS) {
        const record = toRecord(found);
        if (found.fingerprint !== fp) return { kind: 'mismatch', record };
        if (found.state === 'done' || found.state === 'failed') return { kind: 'replay', record };
        return { kind: 'in_progress', record };
      }
      if (found) sql.run(`DELETE FROM regate_requests WHERE id = ?`, found.id); // expired: the key is free again
      const row = sql.get<RequestRow>(
        `INSERT INTO regate_requests (tenant, key, fingerprint, method, method_name, path, body, order_key, state, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) RETURNING *`,
        input.tenant, input.key, fp, input.verb, input.method, input.path, input.body, input.line, now, now,
      );
      if (!row) throw new Error('regate_requests: INSERT returned no row');
      return { kind: 'new', record: toRecord(row) };
    }, { durability: 'durable' });
  }

  // No fsync of its own: if this record is lost, start-up re-sends the write and 1C's register answers it.
  finish(id: number, result: WriteResult): Promise<void> {
    return this.#store.write(() => setState(this.#store.sql, id, result.state, result.status, result.answer, this.#store.outbox.now()), { durability: 'relaxed' });
  }

  forget(id: number): Promise<void> {
    return this.#store.write(() => void this.#store.sql.run(`DELETE FROM regate_requests WHERE id = ?`, id), { durability: 'relaxed' });
  }

  async get(id: number): Promise<WriteRecord | undefined> {
    const row = rowById(this.#store.sql, id);
    return row && toRecord(row);
  }

  /** Bounded, by the created_at index: the first run after a long time deletes in steps, one a run. No fsync: a lost deletion is made again next time. */
  prune(now: number, batch = 5000): Promise<number> {
    return this.#store.write(
      () => this.#store.sql.run(`DELETE FROM regate_requests WHERE id IN (SELECT id FROM regate_requests WHERE created_at < ? AND state IN ('done', 'failed') ORDER BY created_at LIMIT ?)`, now - KEY_TTL_MS, batch).changes,
      { durability: 'relaxed' },
    );
  }
}
