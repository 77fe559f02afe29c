import { createHash } from 'node:crypto';
import type { Store } from '../store/index.ts';
import { withoutFsync } from '../store/db.ts';

/** Keys are kept this long (specs/regate.md "Writes"). */
export const KEY_TTL_MS = 72 * 3600_000;

export interface WriteRecord {
  id: number;
  tenant: string;
  key: string;
  fingerprint: string;
  method: string;
  path: string;
  body: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  status: number | null;
  answer: string | null;
  created_at: number;
  updated_at: number;
  order_key: string;
}

export type Begin =
  | { kind: 'new'; record: WriteRecord }
  | { kind: 'replay'; record: WriteRecord }
  | { kind: 'in_progress'; record: WriteRecord }
  | { kind: 'mismatch'; record: WriteRecord };

/**
 * Writes by Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, Stripe's semantics): the
 * first request with a key is recorded before it reaches 1C; the same key again gets its answer
 * replayed when done, 409 while it runs, 422 when the body differs. Durable: a key survives a
 * restart (and kill -9) of Sputnik, and the key also goes to 1C, whose register makes the write
 * itself exactly-once.
 */
export class IdempotencyStore {
  readonly #store: Store;
  readonly #s;

  constructor(store: Store) {
    this.#store = store;
    const db = store.db;
    this.#s = {
      get: db.prepare(`SELECT * FROM regate_requests WHERE tenant = ? AND key = ?`),
      byId: db.prepare(`SELECT * FROM regate_requests WHERE id = ?`),
      insert: db.prepare(`INSERT INTO regate_requests (tenant, key, fingerprint, method, path, body, order_key, state, created_at, updated_at)
        VALUES (@tenant, @key, @fingerprint, @method, @path, @body, @orderKey, 'running', @now, @now) RETURNING *`),
      interrupted: db.prepare(`SELECT * FROM regate_requests WHERE state = 'running'`),
      finish: db.prepare(`UPDATE regate_requests SET state = @state, status = @status, answer = @answer, updated_at = @now WHERE id = @id`),
      // Bounded, by the created_at index: the first run after a long time deletes in steps, one a run.
      prune: db.prepare(`DELETE FROM regate_requests WHERE id IN (SELECT id FROM regate_requests WHERE created_at < ? AND state IN ('done', 'failed') ORDER BY created_at LIMIT ?)`),
    };
  }

  static fingerprint(method: string, path: string, body: string | null): string {
    return createHash('sha256').update(`${method} ${path}\n${body ?? ''}`).digest('hex');
  }

  /** Inside a commit (fsynced before the call to 1C): the key's state, or a new running record. */
  begin(input: { tenant: string; key: string; method: string; path: string; body: string | null; orderKey: string }): Begin {
    const fingerprint = IdempotencyStore.fingerprint(input.method, input.path, input.body);
    const found = this.#s.get.get(input.tenant, input.key) as WriteRecord | undefined;
    if (found && this.#store.outbox.now() - found.created_at < KEY_TTL_MS) {
      if (found.fingerprint !== fingerprint) return { kind: 'mismatch', record: found };
      if (found.state === 'done' || found.state === 'failed') return { kind: 'replay', record: found };
      return { kind: 'in_progress', record: found };
    }
    if (found) this.#store.db.prepare(`DELETE FROM regate_requests WHERE id = ?`).run(found.id); // expired: the key is free again
    const record = this.#s.insert.get({ ...input, fingerprint, now: this.#store.outbox.now() }) as WriteRecord;
    return { kind: 'new', record };
  }

  finish(id: number, state: 'queued' | 'done' | 'failed' | 'running', status: number | null, answer: unknown): void {
    this.#s.finish.run({ id, state, status, answer: answer === undefined ? null : JSON.stringify(answer), now: this.#store.outbox.now() });
  }

  /** Writes a previous process was sending when it died (their 1C outcome is unknown). */
  interrupted(): WriteRecord[] {
    return this.#s.interrupted.all() as WriteRecord[];
  }

  forget(id: number): void {
    this.#store.db.prepare(`DELETE FROM regate_requests WHERE id = ?`).run(id);
  }

  get(id: number): WriteRecord | undefined {
    return this.#s.byId.get(id) as WriteRecord | undefined;
  }

  /**
   * Forgets finished keys older than 72 h as of `now` (housekeeping); queued ones wait for 1C. No
   * fsync of its own: a deletion lost in a crash is simply made again by the next run.
   */
  prune(now: number, batch = 5000): number {
    return withoutFsync(this.#store.db, () => this.#s.prune.run(now - KEY_TTL_MS, batch).changes);
  }
}
