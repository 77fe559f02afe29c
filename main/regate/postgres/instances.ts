import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PgStore } from './connection.ts';

/**
 * Who is who among the ReGate instances sharing one PostgreSQL. An id names one start of one
 * process, never a machine: a restarted instance must not find its dead self's leases still "its
 * own" and renew them, or the writes it was sending would never be taken over.
 */
export function newInstanceId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

export interface PgInstance {
  id: string;
  startedAt: number;
  heartbeatAt: number;
}

/** The instances table: each instance beats; health lists those seen within a window. */
export class PgInstances {
  readonly #store: PgStore;
  readonly id: string;

  constructor(store: PgStore, id: string) {
    this.#store = store;
    this.id = id;
  }

  async beat(): Promise<void> {
    await this.#store.query(
      `INSERT INTO regate_instances (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()`,
      [this.id],
    );
  }

  /** Instances that beat within `withinMs` by PostgreSQL's clock. */
  async live(withinMs: number): Promise<PgInstance[]> {
    const { rows } = await this.#store.query<{ id: string; started_at: Date; heartbeat_at: Date }>(
      `SELECT id, started_at, heartbeat_at FROM regate_instances WHERE heartbeat_at > clock_timestamp() - ($1::double precision * interval '1 millisecond') ORDER BY started_at`,
      [withinMs],
    );
    return rows.map((r) => ({ id: r.id, startedAt: r.started_at.getTime(), heartbeatAt: r.heartbeat_at.getTime() }));
  }

  /** A clean stop says goodbye at once instead of waiting to age out. */
  async leave(): Promise<void> {
    await this.#store.query('DELETE FROM regate_instances WHERE id = $1', [this.id]);
  }

  /** Forgets instances silent for longer than `olderThanMs` (housekeeping). */
  async prune(olderThanMs: number): Promise<number> {
    const r = await this.#store.query(`DELETE FROM regate_instances WHERE heartbeat_at < clock_timestamp() - ($1::double precision * interval '1 millisecond')`, [olderThanMs]);
    return r.rowCount ?? 0;
  }
}
