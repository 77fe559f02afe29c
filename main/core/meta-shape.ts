/**
 * GET /api/meta's shape, once: the core builds it from the modules' descriptors (registry.ts) and
 * the window reads it (renderer/src/types.ts). Imports nothing, so the window's type check can follow it.
 */

/** One settings field of a module's section in the window, in the order shown; its kind and bounds come from the schema. */
export interface SettingsField {
  /** Dotted path inside the slice: `basicAuth.password`. */
  key: string;
  label: string;
  hint?: string;
}

/** A module's page: `#/<route>`, in the menu as `title`; the renderer maps the route to its component. */
export interface ModulePage {
  route: string;
  title: string;
}

export interface ModuleUi {
  page?: ModulePage;
  /** Its section of «Настройки». */
  settings?: { title: string; short?: string; fields: readonly SettingsField[] };
}

/** A settings field as the window draws it: its kind and bounds are the schema's. */
export interface SettingsFieldMeta extends SettingsField {
  kind: 'bool' | 'text' | 'url' | 'number' | 'secret';
  min?: number;
  max?: number;
}

export interface SettingsSectionMeta {
  /** The config key the section edits: a module's name, `listener`, `ui`. */
  name: string;
  title: string;
  /** Its name in the «unsaved changes» question. */
  short: string;
  /** «Проверить соединение» (and the «saved settings refused» note). */
  testable: boolean;
  fields: SettingsFieldMeta[];
}

/** GET /api/meta: what the window builds its menu, pages, settings and names from. */
export interface Meta {
  modules: Array<{
    name: string;
    title: string;
    connector: { pausable: boolean; testable: boolean } | null;
    /** Change-feed kinds (`change` events of /api/events). */
    feeds: string[];
    page: ModulePage | null;
    /** Its settings apply after a restart. */
    restart: boolean;
  }>;
  /** The journal's systems and their titles (its filter lists them in this order). */
  systems: Record<string, string>;
  /** «Требует внимания»: the modules' item kinds, what each is called, and the page its entity is shown on. */
  attention: Record<string, { title: string; page: string | null }>;
  /** «Настройки», in order: the modules' sections, then the core's. */
  settings: SettingsSectionMeta[];
  /** Saved parts that apply after a restart, by name (`restartPending`). */
  restartTitles: Record<string, string>;
}
