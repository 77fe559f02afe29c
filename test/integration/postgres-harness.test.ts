import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, withPassword, type PrivatePostgres } from '../helpers/postgres.ts';

describe('a private PostgreSQL server for the tests', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(() => server?.destroy());

  it('takes password connections on loopback, refuses a wrong password, and comes back after a crash', async () => {
    const client = new pg.Client({ connectionString: withPassword(server.url, server.password) });
    await client.connect();
    expect((await client.query('SELECT 1 + 1 AS n')).rows[0].n).toBe(2);
    await client.end();

    const wrong = new pg.Client({ connectionString: withPassword(server.url, 'nope') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);

    server.kill();
    const down = new pg.Client({ connectionString: withPassword(server.url, server.password) });
    await expect(down.connect()).rejects.toThrow(/ECONNREFUSED/);
    server.start();
    const again = new pg.Client({ connectionString: withPassword(server.createDatabase('second'), server.password) });
    await again.connect();
    expect((await again.query('SELECT current_database() AS db')).rows[0].db).toBe('second');
    await again.end();
  }, 120_000);
});
