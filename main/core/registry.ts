import type { z } from 'zod';
import { MODULES } from '../connectors/index.ts';
import { defOf, secretFieldsOf, type Def } from '../config/secrets.ts';
import type { ModuleMigration } from '../store/migrations.ts';
import type { ModuleDescriptor } from './module.ts';
import type { Meta, SettingsField, SettingsFieldMeta, SettingsSectionMeta } from './meta-shape.ts';

export type { Meta, SettingsFieldMeta, SettingsSectionMeta } from './meta-shape.ts';

/**
 * What the core and the window read from the registered modules' descriptors
 * (main/connectors/index.ts): the migrations, the change feeds, the connectors and `/api/meta`.
 */
export type Registry = readonly ModuleDescriptor[];

export const REGISTRY: Registry = MODULES;

/** Modules with a connector state (an outbox lane of their own, an entry in the health). */
export function connectorModules(modules: Registry = REGISTRY): ModuleDescriptor[] {
  return modules.filter((m) => m.connector);
}

/** Every module's own migrations, in registration order; an id must be `<module>:…` and used once. */
export function moduleMigrations(modules: Registry = REGISTRY): ModuleMigration[] {
  const seen = new Set<string>();
  return modules.flatMap((m) =>
    (m.migrations ?? []).map((mig) => {
      if (!mig.id.startsWith(`${m.name}:`) || seen.has(mig.id)) throw new Error(`migration id «${mig.id}» of module ${m.name}: must be ${m.name}:<n> and unique`);
      seen.add(mig.id);
      return mig;
    }),
  );
}

/** The change feeds the window follows (`change` events by kind). */
export function feedsOf(modules: Registry = REGISTRY): Array<{ kind: string; table: string }> {
  return modules.flatMap((m) => m.feeds ?? []);
}

/** The field at `path` inside an object schema, without its wrappers. */
function fieldSchema(schema: z.core.$ZodType, path: readonly string[]): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = schema;
  const unwrap = () => {
    while (node && defOf(node).innerType) node = defOf(node).innerType;
  };
  unwrap();
  for (const key of path) {
    const def: Def | undefined = node ? defOf(node) : undefined;
    node = def?.shape && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
    unwrap();
  }
  return node;
}

/** A field's kind and bounds, read from its schema (a secret by its mark). */
export function fieldMeta(schema: z.core.$ZodType, field: SettingsField): SettingsFieldMeta {
  const path = field.key.split('.');
  if (secretFieldsOf(schema).some((f) => f.path.join('.') === field.key)) return { ...field, kind: 'secret' };
  const node = fieldSchema(schema, path);
  const def = node ? defOf(node) : undefined;
  if (def?.type === 'boolean') return { ...field, kind: 'bool' };
  if (def?.type === 'number') {
    const bound = (check: string) => def.checks?.find((c) => c._zod.def.check === check)?._zod.def.value;
    const min = bound('greater_than');
    const max = bound('less_than');
    return { ...field, kind: 'number', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  if (def?.type === 'string' && (def.format === 'url' || def.checks?.some((c) => c._zod.def.format === 'url'))) return { ...field, kind: 'url' };
  return { ...field, kind: 'text' };
}

/** The core's own parts of «Настройки» and their restart notes. */
const CORE_SETTINGS = [
  { name: 'listener', title: 'API для 1С', restart: 'API для 1С', fields: [{ key: 'port', label: 'Порт', hint: 'меняется после перезапуска Спутника' }] },
  { name: 'ui', title: 'Окно Спутника', restart: 'порт окна', fields: [{ key: 'port', label: 'Порт', hint: 'меняется после перезапуска Спутника' }] },
] as const;

/** GET /api/meta for `modules` and the root config schema (its `listener` and `ui` parts are the core's). */
export function metaOf(modules: Registry, configSchema: z.core.$ZodType): Meta {
  const sliceSchema = (name: string) => fieldSchema(configSchema, [name]);
  const settings: SettingsSectionMeta[] = [];
  for (const m of modules) {
    const s = m.ui?.settings;
    if (!s) continue;
    settings.push({ name: m.name, title: s.title, short: s.short ?? m.title, testable: Boolean(m.connector?.testable), fields: s.fields.map((f) => fieldMeta(m.config, f)) });
  }
  for (const c of CORE_SETTINGS) {
    const schema = sliceSchema(c.name);
    if (schema) settings.push({ name: c.name, title: c.title, short: c.title, testable: false, fields: c.fields.map((f) => fieldMeta(schema, f)) });
  }
  return {
    modules: modules.map((m) => ({
      name: m.name,
      title: m.title,
      connector: m.connector ? { pausable: Boolean(m.connector.pausable), testable: Boolean(m.connector.testable) } : null,
      feeds: (m.feeds ?? []).map((f) => f.kind),
      page: m.ui?.page ?? null,
      restart: Boolean(m.restart),
    })),
    systems: { '1c': '1С', ...Object.fromEntries(modules.map((m) => [m.name, m.title])) },
    attention: Object.fromEntries(
      modules.flatMap((m) => Object.entries(m.journal?.subjects ?? {}).flatMap(([kind, s]) => (s.failed ? [[kind, { title: s.failed, page: m.ui?.page?.route ?? null }]] : []))),
    ),
    settings,
    restartTitles: { ...Object.fromEntries(CORE_SETTINGS.map((c) => [c.name, c.restart])), ...Object.fromEntries(modules.filter((m) => m.restart).map((m) => [m.name, m.title])) },
  };
}
