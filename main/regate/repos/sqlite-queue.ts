import type { Store } from '../../store/index.ts';
import type { ConnectorWorkers } from '../../store/worker-pool.ts';
import { rowById, setState } from './sqlite-rows.ts';
import { toRecord, type Deliver, type QueueConsumer, type RequestRow, type WriteQueue, type WriteRecord } from './types.ts';

export const REGATE_JOB = 'regate.write';

/** The outbox key of a base's queued writes of one client or order: they run one at a time, in order. */
export const writeQueueKey = (tenant: string, line: string) => `regate:${tenant}:${line}`;

/** A queued write's job names its record. */
function recordId(payload: unknown): number | undefined {
  return payload !== null && typeof payload === 'object' && 'id' in payload && typeof payload.id === 'number' ? payload.id : undefined;
}

/**
 * WriteQueue on the one SQLite store: a write in line is a record in state queued plus an outbox
 * job keyed by its line; the core's worker pool claims the jobs (one per key at a time, in order)
 * and completes each with the record's final state in one transaction.
 */
export class SqliteWriteQueue implements WriteQueue {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async busy(write: Pick<WriteRecord, 'tenant' | 'line'>): Promise<boolean> {
    const job = this.#store.outbox.latestForKey(writeQueueKey(write.tenant, write.line), 0);
    return job !== undefined && (job.state === 'queued' || job.state === 'running');
  }

  enqueue(write: WriteRecord): Promise<void> {
    return this.#store.write(() => this.#enqueue(write), { durability: 'durable' });
  }

  // Writes a dead process was sending: their outcome is unknown, so they are sent again, in order,
  // with the same request id (1C's register answers a repeat with the first result).
  requeueInterrupted(): Promise<number> {
    return this.#store.write(() => {
      const rows = this.#store.sql.all<RequestRow>(`SELECT * FROM regate_requests WHERE state = 'running' ORDER BY id`);
      for (const r of rows) this.#enqueue(toRecord(r));
      return rows.length;
    }, { durability: 'durable' });
  }

  async counts(): Promise<Map<string, number>> {
    const rows = this.#store.sql.all<{ tenant: string; n: number }>(`SELECT tenant, COUNT(*) AS n FROM regate_requests WHERE state IN ('queued', 'running') GROUP BY tenant`);
    return new Map(rows.map((r) => [r.tenant, r.n]));
  }

  consumer(deliver: Deliver, concurrency: number): QueueConsumer {
    const { sql, outbox } = this.#store;
    const workers: ConnectorWorkers = {
      connector: 'regate',
      concurrency,
      handle: async (job) => {
        const id = recordId(job.payload);
        const row = id === undefined ? undefined : rowById(sql, id);
        if (!row || row.state === 'done' || row.state === 'failed') return;
        // Records older than the order_key column have '' there and keep the job's key as their line.
        const result = await deliver({ ...toRecord(row), line: row.order_key || job.key });
        return { record: () => setState(sql, row.id, result.state, result.status, result.answer, outbox.now()) };
      },
    };
    return { kind: 'workers', workers };
  }

  #enqueue(write: WriteRecord): void {
    setState(this.#store.sql, write.id, 'queued', null, undefined, this.#store.outbox.now());
    this.#store.outbox.enqueue({ connector: 'regate', kind: REGATE_JOB, key: writeQueueKey(write.tenant, write.line), payload: { id: write.id }, coalesce: false });
  }
}
