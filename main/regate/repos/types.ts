import type { ConnectorWorkers } from '../../store/worker-pool.ts';

/**
 * What ReGate keeps beyond one request, as asynchronous interfaces: the SQLite implementations
 * (sqlite-*.ts) and the in-memory ones (memory-*.ts) serve one gateway; the PostgreSQL one (pg.ts)
 * lets several gateways share keys, queued writes, quota windows and login throttling.
 */

export type WriteState = 'queued' | 'running' | 'done' | 'failed';

/**
 * A row of `regate_requests` as both stores keep it (SQLite: main/store/migrations.ts 5, 6, 12;
 * PostgreSQL: main/regate/postgres/migrations.ts, which adds the owner's lease): `method` is 1C's
 * HTTP method, `method_name` ReGate's, `order_key` the line. `Time`: how the driver hands times over.
 */
export interface RequestRow<Time = number> {
  id: number;
  tenant: string;
  key: string;
  fingerprint: string;
  method: string;
  method_name: string;
  path: string;
  body: string | null;
  state: WriteState;
  status: number | null;
  /** JSON: 1C's answer when done, the stored problem when failed. */
  answer: string | null;
  created_at: Time;
  updated_at: Time;
  order_key: string;
}

/** A write by Idempotency-Key as the gateway sees it: what was asked, where it is, the answer to replay (72 h). */
export interface WriteRecord extends Pick<RequestRow, 'id' | 'tenant' | 'key' | 'path' | 'body' | 'state' | 'status' | 'answer'> {
  /** The ReGate method (methods.ts): a queued write's timeout is its method's. */
  method: string;
  /** 1C's HTTP method (with path and body: what goes to 1C). */
  verb: string;
  /** The client or order it belongs to: its place in line. */
  line: string;
  createdAt: number;
}

/** A stored row as the gateway sees it (either store). */
export function toRecord(r: RequestRow): WriteRecord {
  return { id: r.id, tenant: r.tenant, key: r.key, method: r.method_name, verb: r.method, path: r.path, body: r.body, line: r.order_key, state: r.state, status: r.status, answer: r.answer, createdAt: r.created_at };
}

/** Where a key stands when a request brings it; `R`: the store's own record (PostgreSQL's carries the lease). */
export type Begin<R = WriteRecord> = {
  kind: 'new' | 'replay' | 'in_progress' | 'mismatch';
  record: R;
  /** A new write's line was found busy on another instance as it was recorded (PostgreSQL answers it in the same statement); undefined: not asked. */
  lineBusy?: boolean;
};

export type BeginInput = Pick<WriteRecord, 'tenant' | 'key' | 'method' | 'verb' | 'path' | 'body' | 'line'>;

/** 1C's final word on a write: done with its answer, or failed with the problem made of its refusal. */
export interface WriteResult {
  state: 'done' | 'failed';
  status: number;
  answer: unknown;
}

/**
 * Writes by Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, Stripe's semantics): the
 * first request with a key is recorded before it reaches 1C; the same key again gets its answer
 * replayed when done, 409 while it runs, 422 when the request differs. A key survives a restart
 * (and kill -9); it also goes to 1C, whose register makes the write itself exactly-once.
 */
export interface IdempotencyRepo {
  /** Durable before it resolves (1C is called after): the key's state, or a new running record. */
  begin(input: BeginInput): Promise<Begin>;
  /** Keeps 1C's final word for the key (without waiting for the disk: a lost one is re-sent at start and 1C's register answers it). */
  finish(id: number, result: WriteResult): Promise<void>;
  /** Frees the key (outcome unknown or not done: a retry with it may go to 1C again). */
  forget(id: number): Promise<void>;
  /** A write by its operation id (GET /operations/{id}, a queued write's delivery). */
  get(id: number): Promise<WriteRecord | undefined>;
  /** Forgets finished keys older than 72 h as of `now`, at most `batch` at a time; queued ones wait for 1C. */
  prune(now: number, batch?: number): Promise<number>;
}

/** Delivers a queued write to 1C: its final word, or a DeliveryError to try again later. */
export type Deliver = (write: WriteRecord) => Promise<WriteResult>;

/**
 * The writes accepted while 1C was down (202), in lines: one per client or order of a base, run one
 * at a time and in order, each sent with its Idempotency-Key as 1C's request id.
 */
export interface WriteQueue {
  /**
   * Whether the caller's just recorded write must queue rather than go to 1C now: its line has writes
   * waiting or running (PostgreSQL: also when this instance may no longer own the write by its lease).
   * `lineBusy`: the store's answer for the line given with the record (Begin.lineBusy), not asked again.
   */
  busy(write: Pick<WriteRecord, 'id' | 'tenant' | 'line'>, lineBusy?: boolean): Promise<boolean>;
  /** Durably puts a recorded write at the end of its line (its state becomes queued). */
  enqueue(write: WriteRecord): Promise<void>;
  /** At start: writes a dead process was sending (their outcome is unknown) go back in line, durably. */
  requeueInterrupted(): Promise<number>;
  /** Writes waiting or running, per base. */
  counts(): Promise<Map<string, number>>;
  /**
   * The queue's consumer: claims the head of each line in order (at most `concurrency` at once),
   * hands it to `deliver`, and completes it with 1C's final word; a thrown DeliveryError puts it
   * back for a retry.
   */
  consumer(deliver: Deliver, concurrency: number): QueueConsumer;
}

export type QueueConsumer =
  /** Run by the core's worker pool: the SQLite outbox's lane 'regate' claims and completes. */
  | { kind: 'workers'; workers: ConnectorWorkers }
  /** Runs by itself (its own claims, completions and retries) from `start` until the stop it returns. */
  | { kind: 'self'; start(): () => Promise<void> };

/** Each base's calls per minute (tenant.quotaPerMinute), in windows of a minute. */
export interface QuotaWindows {
  /** Counts one call of `tenant` and says whether it is within `limit` for the current window (else how long until it ends). */
  hit(tenant: string, limit: number): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

/**
 * Wrong Basic credentials per client address: failures count up while each comes within a minute
 * of the previous one; from the 10th on, the address waits until a minute has passed since its last
 * one; a good login clears the count.
 */
export interface LoginThrottle {
  /** Before authenticating: whether the address is blocked, and its failures so far (0: `succeeded` need not be called). */
  check(ip: string): Promise<{ blocked: boolean; failures: number }>;
  /** `check`'s answer when it is known without I/O (memory, or a recent answer kept), else undefined: a cached page's fast path. */
  checkNow(ip: string): { blocked: boolean; failures: number } | undefined;
  failed(ip: string): Promise<void>;
  succeeded(ip: string): Promise<void>;
}

/**
 * Cached reads a done write made stale (methods.ts `stale`), told to every gateway sharing the
 * store: one gateway tells itself; on PostgreSQL every instance hears it (LISTEN/NOTIFY).
 */
export interface CacheChanges {
  /** These 1C paths of `tenant` (a trailing `*`: every path starting so) are stale on every gateway, this one at once. */
  publish(tenant: string, paths: string[]): Promise<void>;
  /** `stale` for each change; `all` when changes may have been missed (every cache forgets everything). */
  subscribe(on: { stale(tenant: string, paths: string[]): void; all(): void }): () => void;
}

/** Where the store is, for the health and the window: always up on SQLite (its failures are the core's). */
export interface StoreHealth {
  kind: 'sqlite' | 'postgres';
  state: 'up' | 'down' | 'reconnecting';
  /** Epoch ms of the change to down, null while up. */
  since: number | null;
  /** Why not up, in Russian, without the password. */
  reason: string | null;
}

/**
 * One gateway instance as its store knows it (health and the window's Обзор). On PostgreSQL every
 * instance beats into regate_instances; on SQLite there is one, this one.
 */
export interface InstanceInfo {
  /** `host/pid/random`: one start of one process. */
  id: string;
  host: string;
  pid: number | null;
  /** The instance answering this health. */
  self: boolean;
  /** It beat within its lease (its writes are still its own); on SQLite always. */
  alive: boolean;
  /** Epoch ms of its first beat (SQLite: the gateway's start). */
  startedAt: number;
  /** Epoch ms of its last beat; null on SQLite (no beats). */
  seenAt: number | null;
  /** 1C sessions it holds now (PostgreSQL: cluster slots under a live lease; SQLite: calls in 1C). */
  slots: number;
  /** Writes it is sending now; null where not counted (SQLite). */
  writes: number | null;
}

/**
 * A base's session cap across every gateway sharing the store (PostgreSQL), as the upstream thread
 * opens it: a call takes its gateway's own limiter first (the AIMD limit, one client's writes one
 * at a time), then one of the base's `ceilings` slots in PostgreSQL (PgSessionSlots), and gives it
 * back as soon as 1C answered, on that thread, without waiting for the gateway's busy event loop.
 */
export interface ClusterSpec {
  url: string;
  /** Travels to the thread in memory only; never logged. */
  password?: string;
  instanceId: string;
  /** A held slot's lease: a dead instance's slots free within it. */
  leaseMs: number;
  /** Each tenant's ceiling (poolSize − 1), the same on every instance. */
  ceilings: Array<[tenant: string, ceiling: number]>;
  /** The thread's own connections to PostgreSQL. */
  connections: number;
}
