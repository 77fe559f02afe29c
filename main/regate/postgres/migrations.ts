import type { PgStore } from './connection.ts';

/**
 * ReGate's own numbered PostgreSQL migrations (the shared store of several gateway instances; the
 * shop's SQLite has its own in main/store/migrations.ts). They run at every start inside one
 * transaction that first takes a transaction-scoped advisory lock, so three instances starting
 * together apply each step exactly once and the others wait, then find nothing to do. PostgreSQL's
 * DDL is transactional: a failed step leaves the schema as it was.
 *
 * Times are `timestamptz` set from PostgreSQL's `clock_timestamp()`: leases and windows compare
 * against one clock, the server's, not each instance's.
 */
export interface PgMigration {
  version: number;
  /** Why the step exists (kept in regate_migrations for the operator). */
  name: string;
  sql: string;
}

/** Any constant works; this one is "ReGate" in ASCII, unlikely to collide with another application's lock. */
export const MIGRATION_LOCK = '90594942743653';

export const MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    name: 'writes by Idempotency-Key with owner and lease; the queue of writes; session slots; quota windows; failed logins; instances',
    sql: `
      -- A write by Idempotency-Key (main/regate/idempotency.ts on SQLite): what was asked, where it is,
      -- the answer to replay for 72 h. A running write belongs to the instance sending it (owner) for
      -- as long as that instance renews its lease; an expired lease means the instance died and
      -- another takes the write over, re-sending it with the same request id.
      CREATE TABLE regate_requests (
        id           bigserial PRIMARY KEY,
        tenant       text NOT NULL,
        key          text NOT NULL,
        fingerprint  text NOT NULL,
        method       text NOT NULL,         -- 1C's HTTP method
        method_name  text NOT NULL DEFAULT '', -- ReGate's method (a queued write's timeout is its method's)
        path         text NOT NULL,
        body         text,
        order_key    text NOT NULL DEFAULT '',
        state        text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        status       integer,
        answer       text,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        owner        text,
        lease_until  timestamptz,
        UNIQUE (tenant, key)
      );
      CREATE INDEX regate_requests_created ON regate_requests (created_at);
      -- Health counts the open writes per tenant on every check; takeover scans running leases.
      CREATE INDEX regate_requests_open ON regate_requests (tenant) WHERE state IN ('queued', 'running');
      CREATE INDEX regate_requests_leases ON regate_requests (lease_until) WHERE state = 'running';

      -- Writes waiting for 1C (it was down, or one of the same client or order was ahead). One item
      -- per write, keyed by the write's id: ids are given in order of arrival, so FIFO per
      -- (tenant, order_key) is "the smallest id of the line goes first", also for a write taken over
      -- from a dead instance, which is older than anything queued behind it.
      CREATE TABLE regate_write_queue (
        request_id   bigint PRIMARY KEY REFERENCES regate_requests (id) ON DELETE CASCADE,
        tenant       text NOT NULL,
        order_key    text NOT NULL,
        state        text NOT NULL CHECK (state IN ('queued', 'running')),
        run_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text,
        owner        text,
        lease_until  timestamptz,
        created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX regate_write_queue_line ON regate_write_queue (tenant, order_key, request_id);

      -- The session cap of each 1C base across all instances: one row per session a gateway may use
      -- (poolSize - 1 of them); a call in 1C holds one. freed_by/freed_at let an instance that gives a
      -- slot back after handing it over locally for a while step aside briefly, so others get it.
      CREATE TABLE regate_slots (
        tenant       text NOT NULL,
        slot         integer NOT NULL,
        owner        text,
        lease_until  timestamptz,
        freed_by     text,
        freed_at     timestamptz,
        PRIMARY KEY (tenant, slot)
      );

      -- Calls per tenant per window (quotaPerMinute), counted by every instance.
      CREATE TABLE regate_quota (
        tenant        text NOT NULL,
        window_start  timestamptz NOT NULL,
        calls         integer NOT NULL,
        PRIMARY KEY (tenant, window_start)
      );

      -- Wrong ReGate logins per client address (the gateway's rule: 10 in a row, less than a minute
      -- apart, block the address for a minute after the last one; a success clears).
      CREATE TABLE regate_failed_logins (
        ip        text PRIMARY KEY,
        failures  integer NOT NULL,
        first_at  timestamptz NOT NULL,
        last_at   timestamptz NOT NULL
      );

      -- The gateway instances and their last heartbeat (health: how many are alive).
      CREATE TABLE regate_instances (
        id            text PRIMARY KEY,
        started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at  timestamptz NOT NULL DEFAULT clock_timestamp()
      );
    `,
  },
  {
    version: 2,
    name: 'open writes by line: a new write checks whether its client or order is busy on another instance',
    sql: `
      -- Every write asks whether its line (tenant, order_key) has a write running elsewhere, and every
      -- claim of the queue whether a write of the item's line is running.
      CREATE INDEX regate_requests_open_line ON regate_requests (tenant, order_key) WHERE state IN ('queued', 'running');
    `,
  },
  {
    version: 3,
    name: 'fencing tokens: a former owner of a write or a queue item whose lease was taken over writes nothing',
    sql: `
      -- Every grant of a lease (a new write, a takeover, a requeue, a claim) draws a new token; every
      -- renewal and state write of the holder is conditional on owner and token (leases.ts). Rows
      -- from before keep 0: the default is set after the column, so adding it rewrites nothing.
      CREATE SEQUENCE regate_fence;
      ALTER TABLE regate_requests ADD COLUMN fence bigint NOT NULL DEFAULT 0;
      ALTER TABLE regate_requests ALTER COLUMN fence SET DEFAULT nextval('regate_fence');
      ALTER TABLE regate_write_queue ADD COLUMN fence bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 4,
    name: 'a new write is recorded and its line checked in one statement (idempotency.ts begin)',
    sql: `
      -- Whether a write's line (tenant, order_key) has anything queued, or a write running on another
      -- instance than p_owner. VOLATILE plpgsql: its query takes a snapshot of its own, so called
      -- after the line's advisory lock was granted it sees what the lock's previous holder committed.
      CREATE FUNCTION regate_line_busy(p_tenant text, p_order_key text, p_owner text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        RETURN EXISTS (SELECT 1 FROM regate_write_queue WHERE tenant = p_tenant AND order_key = p_order_key)
            OR EXISTS (SELECT 1 FROM regate_requests WHERE tenant = p_tenant AND order_key = p_order_key AND state = 'running' AND owner IS DISTINCT FROM p_owner);
      END
      $$;
    `,
  },
];

/**
 * Brings the database to the newest schema this build knows. Returns the versions before and
 * after. A database migrated by a newer ReGate is refused rather than used half-understood.
 */
export async function migrate(store: PgStore, migrations: PgMigration[] = MIGRATIONS): Promise<{ from: number; to: number }> {
  const latest = migrations.reduce((n, m) => Math.max(n, m.version), 0);
  return store.tx(async (tx) => {
    // Before anything else, even before CREATE TABLE IF NOT EXISTS (which races with itself).
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`CREATE TABLE IF NOT EXISTS regate_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
    const { rows } = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM regate_migrations');
    const from = rows[0].v ?? 0;
    if (from > latest) {
      throw new Error(`База PostgreSQL уже обновлена более новой версией ReGate (схема ${from}, эта версия знает до ${latest}): обновите Спутник на всех серверах`);
    }
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= from) continue;
      await tx.query(m.sql);
      await tx.query('INSERT INTO regate_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    return { from, to: Math.max(from, latest) };
  });
}
