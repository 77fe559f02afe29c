import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { SECRET_FIELDS, SECRETS } from '../../main/config/schema.ts';
import { secretValues, withoutSecrets } from '../../main/config/settings-store.ts';

/**
 * ReGate's store in the config (issue 20): SQLite by default; PostgreSQL by URL, its password a
 * secret like the others (SPUTNIK_REGATE_PG_PASSWORD, never shown, redacted from the journal and
 * the logs), never inside the URL.
 */
describe('regate.store', () => {
  it('defaults to SQLite', () => {
    expect(parseConfig({}, {}).config.regate.store).toMatchObject({ kind: 'sqlite' });
  });

  it('PostgreSQL by URL; the password is a secret supplied by SPUTNIK_REGATE_PG_PASSWORD and kept out of what the window sees', () => {
    expect(SECRET_FIELDS.map((f) => ({ path: f.path.join('.'), env: f.env }))).toContainEqual({ path: 'regate.store.password', env: 'SPUTNIK_REGATE_PG_PASSWORD' });
    expect(SECRETS.map((s) => s.env)).toContain('SPUTNIK_REGATE_PG_PASSWORD');
    const loaded = parseConfig({ regate: { store: { kind: 'postgres', url: 'postgres://regate@db.local:5432/regate' } } }, { SPUTNIK_REGATE_PG_PASSWORD: 'PG-SECRET-1' });
    expect(loaded.config.regate.store).toMatchObject({ kind: 'postgres', url: 'postgres://regate@db.local:5432/regate', password: 'PG-SECRET-1', connections: 10, leaseSeconds: 30 });
    expect(loaded.fromEnv).toContain('regate.store.password');
    expect(secretValues(loaded.config)).toContain('PG-SECRET-1');
    expect(JSON.stringify(withoutSecrets(loaded.config))).not.toContain('PG-SECRET-1');
  });

  it('refuses a PostgreSQL store without a URL, with a password in it, or not postgres://, naming the field and never echoing the password', () => {
    const problem = (store: object) => {
      try {
        parseConfig({ regate: { store } }, {});
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problem({ kind: 'postgres' })).toMatch(/regate\.store\.url: нужен адрес PostgreSQL/);
    const withPassword = problem({ kind: 'postgres', url: 'postgres://regate:TOP-SECRET@db.local/regate' });
    expect(withPassword).toMatch(/regate\.store\.url: пароль не пишите в адрес/);
    expect(withPassword).not.toContain('TOP-SECRET');
    expect(problem({ kind: 'postgres', url: 'https://db.local/regate' })).toMatch(/regate\.store\.url: нужен адрес вида postgres:\/\//);
    expect(problem({ kind: 'postgres', url: 'postgres://regate@db.local' })).toMatch(/regate\.store\.url: в адресе нет базы данных/);
    expect(problem({ kind: 'postgres', url: 'postgres://regate@db.local:5432/regate' })).toBeNull();
  });
});
