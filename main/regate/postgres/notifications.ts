import { EventEmitter } from 'node:events';
import pg from 'pg';
import { realTimers, type PgStore, type PgTimers } from './connection.ts';

/**
 * LISTEN/NOTIFY between ReGate instances (cache invalidation, a freed session slot). LISTEN needs a
 * connection of its own for as long as the instance runs (a pooled client would take the
 * subscription back to the pool), and that connection breaks whenever PostgreSQL restarts: it is
 * reconnected every `reconnectMs` and every channel is listened to again. Notifications sent while
 * it was broken are lost, so `onReconnect` tells the cache to forget what it may have missed.
 */
export interface PgNotificationsOptions {
  /** Retry interval while the LISTEN connection is broken (default 1000 ms). */
  reconnectMs?: number;
  timers?: PgTimers;
}

/** Channels are SQL identifiers we make ourselves; anything else is a bug, not input. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export class PgNotifications {
  readonly #store: PgStore;
  readonly #timers: PgTimers;
  readonly #reconnectMs: number;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();
  readonly #events = new EventEmitter<{ listening: []; reconnect: [] }>();
  #client: pg.Client | null = null;
  #generation = 0;
  #listening = false;
  #everListened = false;
  #retryTimer: unknown = null;
  #closed = false;

  constructor(store: PgStore, opts: PgNotificationsOptions = {}) {
    this.#store = store;
    this.#timers = opts.timers ?? realTimers;
    this.#reconnectMs = opts.reconnectMs ?? 1000;
  }

  /** Whether notifications arrive now (false while the connection is broken: a cache must not trust itself then). */
  get listening(): boolean {
    return this.#listening;
  }

  /** Calls `fn` with each payload sent on `channel`; returns the unsubscribe function. */
  on(channel: string, fn: (payload: string) => void): () => void {
    if (!CHANNEL.test(channel)) throw new Error(`bad channel name ${channel}`);
    let set = this.#channels.get(channel);
    if (!set) {
      set = new Set();
      this.#channels.set(channel, set);
      if (this.#client && this.#listening) void this.#run(this.#client, this.#generation, `LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(fn);
    if (!this.#client && this.#retryTimer === null && !this.#closed) void this.#connect();
    return () => {
      const s = this.#channels.get(channel);
      if (!s?.delete(fn) || s.size > 0) return;
      this.#channels.delete(channel);
      if (this.#client && this.#listening) void this.#run(this.#client, this.#generation, `UNLISTEN ${pg.escapeIdentifier(channel)}`);
    };
  }

  /** Called after the LISTEN connection came back from a break: notifications may have been missed meanwhile. */
  onReconnect(fn: () => void): () => void {
    this.#events.on('reconnect', fn);
    return () => this.#events.off('reconnect', fn);
  }

  /** Sends a notification through the pool (delivered to every listener, this instance's too). */
  async notify(channel: string, payload: string): Promise<void> {
    if (!CHANNEL.test(channel)) throw new Error(`bad channel name ${channel}`);
    await this.#store.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Resolves once every subscribed channel is listened to (start-up, tests). */
  ready(): Promise<void> {
    if (this.#listening) return Promise.resolve();
    return new Promise((resolve) => this.#events.once('listening', resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const c = this.#client;
    this.#client = null;
    this.#generation++;
    await c?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    const client = new pg.Client(this.#store.clientConfig());
    this.#client = client;
    client.on('notification', (msg) => {
      if (generation !== this.#generation) return;
      for (const fn of this.#channels.get(msg.channel) ?? []) {
        try {
          fn(msg.payload ?? '');
        } catch {
          // One subscriber's bug must not stop the others from hearing the same notification.
        }
      }
    });
    // Both fire when the server goes away; either one starts the reconnect (once per connection).
    client.on('error', () => this.#lost(client, generation));
    client.on('end', () => this.#lost(client, generation));
    try {
      await client.connect();
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch {
      this.#lost(client, generation);
      return;
    }
    if (generation !== this.#generation) return;
    this.#listening = true;
    const again = this.#everListened;
    this.#everListened = true;
    this.#events.emit('listening');
    if (again) this.#events.emit('reconnect');
  }

  async #run(client: pg.Client, generation: number, sql: string): Promise<void> {
    try {
      await client.query(sql);
    } catch {
      this.#lost(client, generation);
    }
  }

  #lost(client: pg.Client, generation: number): void {
    if (generation !== this.#generation || this.#closed) return;
    this.#generation++;
    this.#listening = false;
    this.#client = null;
    client.end().catch(() => undefined);
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#channels.size > 0) void this.#connect();
    }, this.#reconnectMs);
  }
}
