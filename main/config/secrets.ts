import { z } from 'zod';
import { isRecord, prop } from '../unknown.ts';

/**
 * The secrets of a config, read from the schema's own marks (`.meta({ secret: true, env })`, see
 * fields.ts): one place says which fields are secret, and the window's redaction, the write-only
 * patches, the environment variables, the journal's redaction and the desktop's safeStorage all
 * follow it.
 */
export interface SecretField {
  /** Where it is in the config; `*` stands for each item of a list. */
  path: readonly string[];
  /** The environment variable that may supply it. */
  env?: string;
  /** Inside a list: the item's field that names the item, so the secret is kept by it (`regate.tenants.<id>.password`). */
  itemKey?: string;
}

interface Marks {
  secret?: unknown;
  env?: unknown;
  itemKey?: unknown;
}

/** The parts of zod's definitions read here and in the window's field kinds (wrappers, objects, lists, checks). */
export interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  format?: string;
  checks?: Array<{ _zod: { def: { check: string; value?: number; format?: string } } }>;
}

/**
 * A schema's definition, as far as `Def` reads it: zod types only the parts every kind shares, so
 * each kind's own part (a wrapper's inner schema, an object's shape, …) is looked at before it is used.
 */
export function defOf(node: z.core.$ZodType): Def {
  const def = node._zod.def;
  const schemaAt = (key: string): z.core.$ZodType | undefined => {
    const v = prop(def, key);
    return isSchema(v) ? v : undefined;
  };
  const shape = prop(def, 'shape');
  return {
    type: def.type,
    innerType: schemaAt('innerType'),
    in: schemaAt('in'),
    shape: isRecord(shape) ? Object.fromEntries(Object.entries(shape).filter((e): e is [string, z.core.$ZodType] => isSchema(e[1]))) : undefined,
    element: schemaAt('element'),
    format: stringAt(def, 'format'),
    checks: def.checks?.map((c) => {
      const value = prop(c._zod.def, 'value');
      return { _zod: { def: { check: c._zod.def.check, value: typeof value === 'number' ? value : undefined, format: stringAt(c._zod.def, 'format') } } };
    }),
  };
}

const isSchema = (v: unknown): v is z.core.$ZodType => v instanceof z.core.$ZodType;

function stringAt(v: unknown, key: string): string | undefined {
  const s = prop(v, key);
  return typeof s === 'string' ? s : undefined;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

/** Every field of `schema` marked secret, in the schema's order. */
export function secretFieldsOf(schema: z.core.$ZodType): SecretField[] {
  const out: SecretField[] = [];
  const walk = (node: z.core.$ZodType, path: string[], marks: Marks, itemKey: string | undefined): void => {
    // A mark may sit on any wrapper of the field (`.meta(...).default('')` or the other way round).
    const own: Marks = { ...marks, ...z.globalRegistry.get(node) };
    const def = defOf(node);
    if (WRAPPERS.has(def.type) && def.innerType) return walk(def.innerType, path, own, itemKey);
    if (def.type === 'pipe' && def.in) return walk(def.in, path, own, itemKey);
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key], {}, itemKey);
      return;
    }
    if (def.type === 'array' && def.element) return walk(def.element, [...path, '*'], {}, typeof own.itemKey === 'string' ? own.itemKey : undefined);
    if (own.secret !== true) return;
    const inList = path.includes('*');
    out.push({ path, ...(typeof own.env === 'string' && !inList ? { env: own.env } : {}), ...(inList && itemKey ? { itemKey } : {}) });
  };
  walk(schema, [], {}, undefined);
  return out;
}

/** One secret of a given config. */
export interface SecretAt {
  field: SecretField;
  /** Its place in this config, list items by index: `regate.tenants.0.password`. */
  path: string[];
  /** The name it is kept under: its dotted path, a list item by its key (`regate.tenants.shop.password`); null for an item without one. */
  key: string | null;
  value: unknown;
}

/**
 * Every secret place of `config` (parsed, or raw settings): one for each field outside lists, set
 * or not, and one for each item of a list that holds secrets.
 */
export function secretsIn(config: unknown, fields: readonly SecretField[]): SecretAt[] {
  const out: SecretAt[] = [];
  for (const field of fields) {
    const star = field.path.indexOf('*');
    if (star < 0) {
      out.push({ field, path: [...field.path], key: field.path.join('.'), value: getPath(config, field.path) });
      continue;
    }
    const list = getPath(config, field.path.slice(0, star));
    if (!Array.isArray(list)) continue;
    const rest = field.path.slice(star + 1);
    list.forEach((item, i) => {
      const name = field.itemKey && isRecord(item) ? item[field.itemKey] : undefined;
      const key = typeof name === 'string' && name !== '' ? [...field.path.slice(0, star), name, ...rest].join('.') : null;
      out.push({ field, path: [...field.path.slice(0, star), String(i), ...rest], key, value: getPath(item, rest) });
    });
  }
  return out;
}

/** The lists whose items hold secrets: the list's dotted path, the item's key field and the secrets' paths inside an item. */
export function secretLists(fields: readonly SecretField[]): Map<string, { itemKey: string | undefined; secrets: string[][] }> {
  const out = new Map<string, { itemKey: string | undefined; secrets: string[][] }>();
  for (const f of fields) {
    const star = f.path.indexOf('*');
    if (star < 0) continue;
    const at = f.path.slice(0, star).join('.');
    const list = out.get(at) ?? { itemKey: f.itemKey, secrets: [] };
    list.secrets.push(f.path.slice(star + 1));
    out.set(at, list);
  }
  return out;
}

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const k of path) node = node && typeof node === 'object' && Object.hasOwn(node, k) ? Reflect.get(node, k) : undefined;
  return node;
}

/** Sets `value` at `path`, making the objects on the way. */
export function setPath(obj: object, path: readonly string[], value: unknown): void {
  let node = obj;
  for (const key of path.slice(0, -1)) {
    const next: unknown = Reflect.get(node, key);
    if (next && typeof next === 'object') node = next;
    else Reflect.set(node, key, (node = {}));
  }
  Reflect.set(node, path[path.length - 1], value);
}

/** Removes what is at `path` (nothing when a step is missing). */
export function deletePath(obj: unknown, path: readonly string[]): void {
  const parent = getPath(obj, path.slice(0, -1));
  if (parent && typeof parent === 'object') Reflect.deleteProperty(parent, path[path.length - 1]);
}
