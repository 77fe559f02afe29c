import type { Sql } from '../../store/index.ts';
import type { WriteRecord, WriteState } from './types.ts';

/** A row of `regate_requests` (migrations 5, 6, 12): `method` is 1C's HTTP method, `method_name` ReGate's. */
export interface RequestRow {
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
  answer: string | null;
  created_at: number;
  updated_at: number;
  order_key: string;
}

export function toRecord(r: RequestRow): WriteRecord {
  return { id: r.id, tenant: r.tenant, key: r.key, method: r.method_name, verb: r.method, path: r.path, body: r.body, line: r.order_key, state: r.state, status: r.status, answer: r.answer, createdAt: r.created_at };
}

export const rowById = (sql: Sql, id: number) => sql.get<RequestRow>(`SELECT * FROM regate_requests WHERE id = ?`, id);

/** Sets a write's state and answer (inside the caller's transaction). */
export function setState(sql: Sql, id: number, state: WriteState, status: number | null, answer: unknown, now: number): void {
  sql.run(`UPDATE regate_requests SET state = ?, status = ?, answer = ?, updated_at = ? WHERE id = ?`, state, status, answer === undefined ? null : JSON.stringify(answer), now, id);
}
