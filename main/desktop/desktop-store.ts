import { z } from 'zod';
import { jsonFileOptions, type JsonFileOptions } from '../config/json-file.ts';

/**
 * The desktop settings: window bounds, autostart, hidden start and the encrypted secrets, in
 * `desktop.json` beside the config file. The file is electron-store's (main.ts opens it; only the
 * Electron entry may import electron-store), written through conf like every JSON file here
 * (json-file.ts); plain-Node tests open the same file with conf. An older Sputnik wrote this file
 * by hand in the same place and format, so it is read as it is: a user's settings survive the upgrade.
 * A value that does not fit the schema reads as its default (it is UI state); an unreadable file
 * is started afresh.
 */
const rect = z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int().positive(), height: z.number().int().positive() });

export const desktopSettingsSchema = z.object({
  windowBounds: rect.extend({ maximized: z.boolean().default(false) }).optional(),
  /** Start at login (mirrors the OS entry; the OS wins when they disagree, see Autostart.reconcile). */
  autostart: z.boolean().default(false),
  /** A login start opens in the tray only (`--hidden`), without the window. */
  hiddenStart: z.boolean().default(true),
  /** safeStorage-encrypted secrets, base64, by dotted config path (see secret-store.ts). */
  secrets: z.record(z.string(), z.string()).default({}),
});

export type DesktopSettings = z.infer<typeof desktopSettingsSchema>;
export type WindowBounds = NonNullable<DesktopSettings['windowBounds']>;

/** The part of conf's API used here; electron-store extends conf, so both fit. */
export interface KeyValueFile {
  readonly path: string;
  readonly store: Record<string, unknown>;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** Opens the file: `new ElectronStore({ ...options, name: options.configName })` in the app, `new Conf(options)` in tests. */
export type OpenKeyValueFile = (options: JsonFileOptions) => KeyValueFile;

export const DESKTOP_FILE = 'desktop.json';

export class DesktopStore {
  readonly #file: KeyValueFile;

  /** `file`: the JSON file's path (`desktop.json` beside the config file). */
  constructor(file: string, open: OpenKeyValueFile) {
    this.#file = open(jsonFileOptions(file, { clearInvalid: true }));
  }

  get path(): string {
    return this.#file.path;
  }

  get<K extends keyof DesktopSettings>(key: K): DesktopSettings[K] {
    return structuredClone(this.#read()[key]);
  }

  /** Validated before anything is written; the whole file is replaced atomically. */
  set<K extends keyof DesktopSettings>(key: K, value: DesktopSettings[K]): void {
    const next = desktopSettingsSchema.parse({ ...this.#read(), [key]: value })[key];
    if (next === undefined) this.#file.delete(key);
    else this.#file.set(key, next);
  }

  /** Each key on its own: one bad value falls back to its default without losing the others. */
  #read(): DesktopSettings {
    const raw = this.#file.store;
    const known: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(desktopSettingsSchema.shape)) {
      const parsed = field.safeParse(raw[key]);
      if (parsed.success && parsed.data !== undefined) known[key] = parsed.data;
    }
    return desktopSettingsSchema.parse(known);
  }
}
