import { PgStore, type PgStoreOptions } from './connection.ts';
import { PgIdempotency } from './idempotency.ts';
import { newInstanceId, PgInstances } from './instances.ts';
import { RenewalHealth } from './leases.ts';
import { PgLoginThrottle } from './logins.ts';
import { migrate } from './migrations.ts';
import { PgNotifications } from './notifications.ts';
import { PgWriteQueue } from './queue.ts';
import { PgQuota } from './quota.ts';
import { PgSessionSlots } from './slots.ts';

/**
 * ReGate's shared state on PostgreSQL, opened in one go: the connection, the schema brought up to
 * date, the LISTEN client, and every repository under one instance id. The gateway wires these
 * into its repository interfaces; each module also stands alone (tests use them one by one).
 */
export interface PgRegateOptions extends Pick<PgStoreOptions, 'url' | 'password' | 'max' | 'probeIntervalMs' | 'connectTimeoutMs' | 'timers'> {
  /** Session ceiling per tenant (poolSize − 1), the same on every instance. */
  ceiling: (tenant: string) => number;
  /** Default: a fresh id per process start (newInstanceId). */
  instanceId?: string;
  /** Leases of running writes and claimed queue items (default 30 s). */
  writeLeaseMs?: number;
  /** Leases of session slots (default 15 s). */
  slotLeaseMs?: number;
  /** Renewal failures, for the log. */
  onRenewError?: (e: unknown) => void;
  /** How long to wait for PostgreSQL at start (default: until it answers). */
  readyTimeoutMs?: number;
}

export interface PgRegate {
  instanceId: string;
  store: PgStore;
  notifications: PgNotifications;
  instances: PgInstances;
  idempotency: PgIdempotency;
  queue: PgWriteQueue;
  slots: PgSessionSlots;
  quota: PgQuota;
  logins: PgLoginThrottle;
  /** Stops renewals, waiting slot callers and LISTEN, then closes the pool (gives nothing back: call queue.releaseAll first on a clean stop). */
  close(): Promise<void>;
}

/** Connects (waiting for PostgreSQL if it is down), migrates, and builds the repositories. */
export async function openPgRegate(opts: PgRegateOptions): Promise<PgRegate> {
  const r = createPgRegate(opts);
  try {
    await r.store.ready(opts.readyTimeoutMs);
    await migrate(r.store);
  } catch (e) {
    await r.close();
    throw e;
  }
  return r;
}

/**
 * Builds the repositories on a pool that has not connected yet (no I/O here; the LISTEN client
 * starts trying at once): the gateway starts serving while PostgreSQL may still be away, and uses
 * them once `store.ready()` and `migrate` have run (main/regate/repos/pg.ts).
 */
export function createPgRegate(opts: Omit<PgRegateOptions, 'readyTimeoutMs'>): PgRegate {
  const instanceId = opts.instanceId ?? newInstanceId();
  const store = new PgStore({ url: opts.url, password: opts.password, max: opts.max, probeIntervalMs: opts.probeIntervalMs, connectTimeoutMs: opts.connectTimeoutMs, timers: opts.timers, applicationName: `sputnik-regate ${instanceId}`.slice(0, 63) });
  const notifications = new PgNotifications(store, { timers: opts.timers });
  // One renewal state for the instance: while its renewals fail, neither its writes nor its queue claim anything new.
  const common = { instanceId, timers: opts.timers, onRenewError: opts.onRenewError };
  const renewals = new RenewalHealth();
  const idempotency = new PgIdempotency(store, { ...common, renewals, leaseMs: opts.writeLeaseMs });
  const queue = new PgWriteQueue(store, { ...common, renewals, leaseMs: opts.writeLeaseMs });
  const slots = new PgSessionSlots(store, { ...common, ceiling: opts.ceiling, leaseMs: opts.slotLeaseMs, notifications });
  return {
    instanceId,
    store,
    notifications,
    instances: new PgInstances(store, instanceId),
    idempotency,
    queue,
    slots,
    quota: new PgQuota(store),
    logins: new PgLoginThrottle(store),
    async close() {
      idempotency.close();
      queue.close();
      slots.close();
      await notifications.close();
      await store.close();
    },
  };
}
