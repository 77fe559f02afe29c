import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { withPassword } from '../helpers/postgres.ts';
import { usePostgres } from '../helpers/regate-pg.ts';

describe('a private PostgreSQL server for the tests', () => {
  const postgres = usePostgres();

  it('takes password connections on loopback, refuses a wrong password, and comes back after a crash', async () => {
    const client = new pg.Client({ connectionString: withPassword(postgres.server.url, postgres.server.password) });
    await client.connect();
    expect((await client.query('SELECT 1 + 1 AS n')).rows[0].n).toBe(2);
    await client.end();

    const wrong = new pg.Client({ connectionString: withPassword(postgres.server.url, 'nope') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);

    postgres.server.kill();
    const down = new pg.Client({ connectionString: withPassword(postgres.server.url, postgres.server.password) });
    await expect(down.connect()).rejects.toThrow(/ECONNREFUSED/);
    postgres.server.start();
    const again = new pg.Client({ connectionString: withPassword(postgres.server.createDatabase('second'), postgres.server.password) });
    await again.connect();
    expect((await again.query('SELECT current_database() AS db')).rows[0].db).toBe('second');
    await again.end();
  }, 120_000);
});
