import { describe, expect, it } from 'vitest';
import { openStore } from '../../main/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('store.sql.one / store.sql.number: a query that always answers says so, or names itself', () => {
  it('gives the row or the number an aggregate returns', () => {
    const store = openStore(tempDir());
    expect(store.sql.one<{ n: number; m: number }>(`SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS m FROM cards`)).toEqual({ n: 0, m: 0 });
    expect(store.sql.number(`SELECT COUNT(*) FROM cards WHERE state = ?`, 'failed')).toBe(0);
    expect(store.sql.number(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_bytes'`)).toBe(0);
    store.close();
  });

  it('an Error naming the SQL when no row came back or the value is no number, instead of undefined handed on', () => {
    const store = openStore(tempDir());
    expect(() => store.sql.one(`SELECT 1 AS one WHERE 0`)).toThrow(/no row .*SELECT 1 AS one WHERE 0/);
    store.sql.run(`DELETE FROM meta WHERE key = 'journal_bytes'`);
    expect(() => store.sql.number(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_bytes'`)).toThrow(/no number \(got no row\) from: SELECT CAST/);
    expect(() => store.sql.number(`SELECT MAX(seq) FROM cards`)).toThrow(/no number \(got null\) from: SELECT MAX\(seq\)/);
    store.close();
  });
});
