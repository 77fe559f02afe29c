import type { Sql } from '../../store/index.ts';
import type { RequestRow, WriteState } from './types.ts';

export const rowById = (sql: Sql, id: number) => sql.get<RequestRow>(`SELECT * FROM regate_requests WHERE id = ?`, id);

/** Sets a write's state and answer (inside the caller's transaction). */
export function setState(sql: Sql, id: number, state: WriteState, status: number | null, answer: unknown, now: number): void {
  sql.run(`UPDATE regate_requests SET state = ?, status = ?, answer = ?, updated_at = ? WHERE id = ?`, state, status, answer === undefined ? null : JSON.stringify(answer), now, id);
}
