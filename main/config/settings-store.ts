import type Conf from 'conf';
import { SputnikError } from '../errors.ts';
import { jsonFileOptions } from './json-file.ts';
import type { Config } from './schema.ts';
import { SECRETS } from './schema.ts';
import { parseConfig } from './load.ts';

/** Where settings live. Service mode: the JSON config file; desktop mode supplies its own (electron-store + safeStorage). */
export interface SettingsStore {
  /** A human description of where settings are saved, or null when changes last only until restart. */
  readonly location: string | null;
  save(config: Config): void | Promise<void>;
}

/** Dotted secret paths and whether each has a value. The UI sees only this, never the values. */
export function secretPresence(config: Config): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const s of SECRETS) out[s.path.join('.')] = Boolean(getPath(config, s.path));
  config.regate.tenants.forEach((t, i) => {
    out[`regate.tenants.${i}.password`] = Boolean(t.password);
    out[`regate.tenants.${i}.onecPassword`] = Boolean(t.onecPassword);
  });
  out['regate.tls.pfxPassword'] = Boolean(config.regate.tls.pfxPassword);
  return out;
}

/** Every secret value in the config (for redaction in the journal and logs). */
export function secretValues(config: Config): string[] {
  const out = SECRETS.map((s) => getPath(config, s.path));
  for (const t of config.regate.tenants) out.push(t.password, t.onecPassword);
  out.push(config.regate.tls.pfxPassword);
  return out.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** A copy of the config without secret values. */
export function withoutSecrets(config: Config): Config {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const s of SECRETS) {
    const parent = getPath(copy, s.path.slice(0, -1)) as Record<string, unknown> | undefined;
    if (parent) delete parent[s.path[s.path.length - 1]];
  }
  // ReGate tenants' passwords live in an array: stripped by hand.
  const regate = copy.regate as { tenants: Array<Record<string, unknown>>; tls: Record<string, unknown> };
  for (const t of regate.tenants) {
    delete t.password;
    delete t.onecPassword;
  }
  delete regate.tls.pfxPassword;
  return copy as unknown as Config;
}

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const k of path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
  return node;
}

/** Write-only values outside SECRETS (no environment variable supplies them). */
const WRITE_ONLY = [...SECRETS.map((s) => s.path.join('.')), 'regate.tls.pfxPassword'];
/** A ReGate tenant's write-only fields: kept from the stored tenant of the same id when left blank. */
const TENANT_SECRETS = ['password', 'onecPassword'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep merge of a settings patch; a secret given as "" or null keeps the stored value (write-only
 * field). `regate.tenants` is replaced as a list (that is how a tenant is added or removed), and
 * a listed tenant whose id is already configured keeps its stored passwords unless new ones are given.
 */
export function applyPatch(config: Config, patch: unknown): unknown {
  const merge = (base: unknown, p: unknown, path: string[]): unknown => {
    if (p === undefined) return base;
    const at = path.join('.');
    if (at === 'regate.tenants' && Array.isArray(p) && Array.isArray(base)) return p.map((t) => keepTenantSecrets(base, t));
    if (p && typeof p === 'object' && !Array.isArray(p) && base && typeof base === 'object') {
      // No prototype: a patch's key is the client's text, so `constructor` must not find Object and
      // `__proto__` stays a key the schema then names as unknown.
      const out: Record<string, unknown> = Object.assign(Object.create(null), base);
      for (const [k, v] of Object.entries(p)) out[k] = merge(out[k], v, [...path, k]);
      return out;
    }
    if (WRITE_ONLY.includes(at) && (p === '' || p === null)) return base;
    return p;
  };
  return merge(config, patch, []);
}

function keepTenantSecrets(stored: readonly unknown[], item: unknown): unknown {
  if (!isRecord(item)) return item;
  const same = stored.find((t) => isRecord(t) && t.id === item.id);
  if (!isRecord(same)) return item;
  const out: Record<string, unknown> = Object.assign(Object.create(null), item);
  for (const key of TENANT_SECRETS) if (out[key] === undefined || out[key] === '' || out[key] === null) out[key] = same[key];
  return out;
}

export class FileSettingsStore implements SettingsStore {
  readonly location: string;
  readonly #fromEnv: string[];
  #file: Promise<Conf> | undefined;

  constructor(file: string, fromEnv: string[] = []) {
    this.location = file;
    this.#fromEnv = fromEnv;
  }

  /** Atomic, durable write (json-file.ts); secrets that came from environment variables stay out of the file. */
  async save(config: Config): Promise<void> {
    const out = structuredClone(config) as unknown as Record<string, unknown>;
    for (const path of this.#fromEnv) {
      const parts = path.split('.');
      const parent = getPath(out, parts.slice(0, -1)) as Record<string, unknown> | undefined;
      if (parent) delete parent[parts[parts.length - 1]];
    }
    try {
      // conf is loaded at the first save, not at start: the service starts without ajv's cost.
      this.#file ??= import('conf').then(({ default: Conf }) => new Conf(jsonFileOptions(this.location, { clearInvalid: false })));
      (await this.#file).store = out;
    } catch (error) {
      this.#file = undefined; // a file fixed by hand is read again next time
      // JSON.parse quotes the file's text, secrets included: its message stays out.
      const why = error instanceof SyntaxError ? 'файл изменили вручную, и теперь это не JSON; исправьте его' : (error as Error).message;
      throw new SputnikError(500, 'settings_not_saved', `Настройки не сохранены в ${this.location}: ${why}`, { cause: error instanceof SyntaxError ? undefined : error });
    }
  }
}

/** Sandbox and no-file runs: settings changes last until restart. */
export class MemorySettingsStore implements SettingsStore {
  readonly location = null;
  save(): void {}
}

export { parseConfig };
