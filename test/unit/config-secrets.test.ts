import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { SECRET_FIELDS, SECRETS } from '../../main/config/schema.ts';
import { secretsIn } from '../../main/config/secrets.ts';
import { DesktopSettingsStore, withStoredSecrets } from '../../main/desktop/secret-store.ts';
import { memorySecretStore } from '../helpers/safe-storage.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The secrets are marked once, in the config schema (`.meta({ secret, env })`); everything else reads the marks. */
describe('secrets from the schema', () => {
  it('every secret field and the environment variables, with their names unchanged', () => {
    const fields = SECRET_FIELDS.map((f) => ({ path: f.path.join('.'), env: f.env, itemKey: f.itemKey }));
    expect(fields).toEqual(
      expect.arrayContaining([
        { path: 'listener.token', env: 'SPUTNIK_LISTENER_TOKEN', itemKey: undefined },
        { path: 'passteam.token', env: 'SPUTNIK_PASSTEAM_TOKEN', itemKey: undefined },
        { path: 'paykeeper.password', env: 'SPUTNIK_PAYKEEPER_PASSWORD', itemKey: undefined },
        { path: 'docpart.techKey', env: 'SPUTNIK_DOCPART_TECH_KEY', itemKey: undefined },
        { path: 'docpart.basicAuth.password', env: 'SPUTNIK_DOCPART_BASIC_PASSWORD', itemKey: undefined },
        { path: 'regate.tls.pfxPassword', env: undefined, itemKey: undefined },
        { path: 'regate.tenants.*.password', env: undefined, itemKey: 'id' },
        { path: 'regate.tenants.*.onecPassword', env: undefined, itemKey: 'id' },
      ]),
    );
    // The environment variables in the order the help and the README list them.
    expect(SECRETS.map((s) => s.env).slice(0, 5)).toEqual([
      'SPUTNIK_LISTENER_TOKEN',
      'SPUTNIK_PASSTEAM_TOKEN',
      'SPUTNIK_PAYKEEPER_PASSWORD',
      'SPUTNIK_DOCPART_TECH_KEY',
      'SPUTNIK_DOCPART_BASIC_PASSWORD',
    ]);
  });

  it('a list item\'s secrets are kept by its key, and placed by its index', () => {
    const tenant = { id: 'shop', user: 'u', password: 'P', baseUrl: 'https://1c.local/x', onecUser: 'w', onecPassword: 'O' };
    const { config } = parseConfig({ regate: { tenants: [tenant] } }, {});
    const tenants = secretsIn(config, SECRET_FIELDS).filter((s) => s.path[1] === 'tenants');
    expect(tenants.map((s) => [s.path.join('.'), s.key, s.value])).toEqual([
      ['regate.tenants.0.password', 'regate.tenants.shop.password', 'P'],
      ['regate.tenants.0.onecPassword', 'regate.tenants.shop.onecPassword', 'O'],
    ]);
  });

  it("the desktop keeps ReGate's PFX password in safeStorage, not in the config file, and gives it back at start", async () => {
    const file = join(tempDir(), 'config.json');
    const secrets = memorySecretStore();
    const { config } = parseConfig({ regate: { tls: { pfxFile: 'C:\\certs\\gate.pfx', pfxPassword: 'PFX-SECRET' } } }, {});
    await new DesktopSettingsStore({ file, fileConfig: {}, secrets }).save(config);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('PFX-SECRET');
    expect(JSON.parse(text).regate.tls.pfxFile).toBe('C:\\certs\\gate.pfx');
    expect(secrets.get('regate.tls.pfxPassword')).toBe('PFX-SECRET');
    expect(parseConfig(withStoredSecrets(JSON.parse(text), secrets), {}).config.regate.tls.pfxPassword).toBe('PFX-SECRET');
  });
});
