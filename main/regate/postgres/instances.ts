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

/** The host and process an instance id names (`host/pid/random`; a host name has no slash). */
export function instanceOrigin(id: string): { host: string; pid: number | null } {
  const [host, pid] = id.split('/');
  return { host: host ?? id, pid: pid && /^\d+$/.test(pid) ? Number(pid) : null };
}

/** An instance as health shows it: whether its lease is alive and what it holds now. */
export interface PgInstanceState extends PgInstance {
  /** It beat within the lease: its writes are its own; past it, the others take them over. */
  alive: boolean;
  /** 1C sessions (cluster slots) it holds under a live lease. */
  slots: number;
  /** Writes it is sending: its running keys and the queued writes it claimed (a dead one's wait for takeover). */
  writes: number;
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

  /**
   * Every instance that beat within `withinMs`, oldest start first (at most `limit`), with whether
   * it beat within `leaseMs` and what it holds: one statement, on PostgreSQL's clock. The counts
   * read only rows in flight (running keys, claimed queue items, held slots), which stay few.
   */
  async list(opts: { leaseMs: number; withinMs: number; limit?: number }): Promise<PgInstanceState[]> {
    const { rows } = await this.#store.query<{ id: string; started_at: Date; heartbeat_at: Date; alive: boolean; slots: string; writes: string }>(
      `WITH w AS (
         SELECT owner, count(*) AS n FROM regate_requests WHERE state = 'running' AND owner IS NOT NULL GROUP BY owner
         UNION ALL
         SELECT owner, count(*) FROM regate_write_queue WHERE state = 'running' AND owner IS NOT NULL GROUP BY owner),
       s AS (SELECT owner, count(*) AS n FROM regate_slots WHERE owner IS NOT NULL AND lease_until > clock_timestamp() GROUP BY owner)
       SELECT i.id, i.started_at, i.heartbeat_at,
              i.heartbeat_at > clock_timestamp() - ($1::double precision * interval '1 millisecond') AS alive,
              coalesce((SELECT n FROM s WHERE s.owner = i.id), 0) AS slots,
              coalesce((SELECT sum(n) FROM w WHERE w.owner = i.id), 0) AS writes
         FROM regate_instances i
        WHERE i.heartbeat_at > clock_timestamp() - ($2::double precision * interval '1 millisecond')
        ORDER BY i.started_at, i.id
        LIMIT $3`,
      [opts.leaseMs, opts.withinMs, opts.limit ?? 50],
    );
    return rows.map((r) => ({ id: r.id, startedAt: r.started_at.getTime(), heartbeatAt: r.heartbeat_at.getTime(), alive: r.alive, slots: Number(r.slots), writes: Number(r.writes) }));
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
