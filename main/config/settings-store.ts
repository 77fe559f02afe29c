import { writeFileSync, renameSync, openSync, fsyncSync, closeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from './schema.ts';
import { SECRETS } from './schema.ts';
import { parseConfig } from './load.ts';

/** Where settings live. Service mode: the JSON config file; desktop mode supplies its own (electron-store + safeStorage). */
export interface SettingsStore {
  /** A human description of where settings are saved, or null when changes last only until restart. */
  readonly location: string | null;
  save(config: Config): void;
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

/** Deep merge of a settings patch; a secret given as "" or null keeps the stored value (write-only field). */
export function applyPatch(config: Config, patch: unknown): unknown {
  const merge = (base: unknown, p: unknown, path: string[]): unknown => {
    if (p === undefined) return base;
    if (p && typeof p === 'object' && !Array.isArray(p) && base && typeof base === 'object') {
      // No prototype: a patch's key is the client's text, so `constructor` must not find Object and
      // `__proto__` stays a key the schema then names as unknown.
      const out: Record<string, unknown> = Object.assign(Object.create(null), base);
      for (const [k, v] of Object.entries(p)) out[k] = merge(out[k], v, [...path, k]);
      return out;
    }
    const isSecret = SECRETS.some((s) => s.path.join('.') === path.join('.'));
    if (isSecret && (p === '' || p === null)) return base;
    return p;
  };
  return merge(config, patch, []);
}

export class FileSettingsStore implements SettingsStore {
  readonly location: string;
  readonly #fromEnv: string[];

  constructor(file: string, fromEnv: string[] = []) {
    this.location = file;
    this.#fromEnv = fromEnv;
  }

  /** Atomic, durable write; secrets that came from environment variables stay out of the file. */
  save(config: Config): void {
    const out = structuredClone(config) as unknown as Record<string, unknown>;
    for (const path of this.#fromEnv) {
      const parts = path.split('.');
      const parent = getPath(out, parts.slice(0, -1)) as Record<string, unknown> | undefined;
      if (parent) delete parent[parts[parts.length - 1]];
    }
    mkdirSync(dirname(this.location), { recursive: true });
    const tmp = `${this.location}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(out, null, 2) + '\n', { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.location);
  }
}

/** Sandbox and no-file runs: settings changes last until restart. */
export class MemorySettingsStore implements SettingsStore {
  readonly location = null;
  save(): void {}
}

export { parseConfig };
