import type Conf from 'conf';
import { SputnikError } from '../errors.ts';
import { errorMessage } from '../unknown.ts';
import { jsonFileOptions } from './json-file.ts';
import type { Config } from './schema.ts';
import { SECRET_FIELDS } from './schema.ts';
import { deletePath, getPath, secretLists, secretsIn, setPath } from './secrets.ts';
import { parseConfig } from './load.ts';

/** Where settings live. Service mode: the JSON config file; desktop mode supplies its own (electron-store + safeStorage). */
export interface SettingsStore {
  /** A human description of where settings are saved, or null when changes last only until restart. */
  readonly location: string | null;
  save(config: Config): void | Promise<void>;
}

/** Dotted secret paths (list items by index) and whether each has a value. The UI sees only this, never the values. */
export function secretPresence(config: Config): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const s of secretsIn(config, SECRET_FIELDS)) out[s.path.join('.')] = Boolean(s.value);
  return out;
}

/** Every secret value in the config (for redaction in the journal and logs). */
export function secretValues(config: Config): string[] {
  return secretsIn(config, SECRET_FIELDS).flatMap((s) => (typeof s.value === 'string' && s.value !== '' ? [s.value] : []));
}

/** A copy of the config without secret values. */
export function withoutSecrets(config: Config): Config {
  const copy = structuredClone(config);
  for (const s of secretsIn(copy, SECRET_FIELDS)) deletePath(copy, s.path);
  return copy;
}

export { getPath };

/** Write-only fields outside lists: a blank keeps the stored value. */
const WRITE_ONLY = new Set(SECRET_FIELDS.filter((f) => !f.path.includes('*')).map((f) => f.path.join('.')));
/** Lists whose items hold write-only fields (ReGate's tenants): kept from the stored item of the same key when left blank. */
const SECRET_LISTS = secretLists(SECRET_FIELDS);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const blank = (v: unknown) => v === undefined || v === '' || v === null;

/**
 * Deep merge of a settings patch; a secret given as "" or null keeps the stored value (write-only
 * field). A list is replaced as a whole (that is how a ReGate tenant is added or removed), and a
 * listed item whose key is already configured keeps its stored secrets unless new ones are given.
 */
export function applyPatch(config: Config, patch: unknown): unknown {
  const merge = (base: unknown, p: unknown, path: string[]): unknown => {
    if (p === undefined) return base;
    const at = path.join('.');
    const list = SECRET_LISTS.get(at);
    if (list && Array.isArray(p) && Array.isArray(base)) return p.map((item) => keepItemSecrets(base, item, list));
    if (p && typeof p === 'object' && !Array.isArray(p) && base && typeof base === 'object') {
      // No prototype: a patch's key is the client's text, so `constructor` must not find Object and
      // `__proto__` stays a key the schema then names as unknown.
      const out: Record<string, unknown> = Object.assign(Object.create(null), base);
      for (const [k, v] of Object.entries(p)) out[k] = merge(out[k], v, [...path, k]);
      return out;
    }
    if (WRITE_ONLY.has(at) && (p === '' || p === null)) return base;
    return p;
  };
  return merge(config, patch, []);
}

function keepItemSecrets(stored: readonly unknown[], item: unknown, list: { itemKey: string | undefined; secrets: string[][] }): unknown {
  if (!isRecord(item) || !list.itemKey) return item;
  const key = list.itemKey;
  const same = stored.find((t) => isRecord(t) && t[key] === item[key]);
  if (!isRecord(same)) return item;
  const out: Record<string, unknown> = Object.assign(Object.create(null), item);
  for (const path of list.secrets) if (blank(getPath(out, path))) setPath(out, path, getPath(same, path));
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
    const out: Record<string, unknown> = structuredClone(config);
    for (const path of this.#fromEnv) deletePath(out, path.split('.'));
    try {
      // conf is loaded at the first save, not at start: the service starts without ajv's cost.
      this.#file ??= import('conf').then(({ default: Conf }) => new Conf(jsonFileOptions(this.location, { clearInvalid: false })));
      (await this.#file).store = out;
    } catch (error) {
      this.#file = undefined; // a file fixed by hand is read again next time
      // JSON.parse quotes the file's text, secrets included: its message stays out.
      const why = error instanceof SyntaxError ? 'файл изменили вручную, и теперь это не JSON; исправьте его' : errorMessage(error);
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
