import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/**
 * Desktop settings in one small JSON file — what electron-store would give us, without the
 * dependency (it is not installed here). Writes are atomic and durable: a temp file is written,
 * fsync'd and renamed over the old one, so a crash or power cut leaves the old or the new file,
 * never half of one. A missing or unreadable file yields the defaults (it is only UI state).
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

export interface JsonStoreFs {
  readFileSync(path: string, encoding: 'utf8'): string;
  writeFileSync(path: string, data: string, options: { mode: number }): void;
  mkdirSync(path: string, options: { recursive: true }): unknown;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: true }): void;
  /** Flushes the file to disk before the rename; a no-op in tests. */
  fsyncFile(path: string): void;
}

export const nodeFs: JsonStoreFs = {
  readFileSync,
  writeFileSync,
  mkdirSync,
  renameSync,
  rmSync,
  fsyncFile(path) {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

export class JsonStore {
  readonly file: string;
  readonly #fs: JsonStoreFs;
  #data: DesktopSettings;

  constructor(file: string, fs: JsonStoreFs = nodeFs) {
    this.file = file;
    this.#fs = fs;
    this.#data = this.#read();
  }

  get<K extends keyof DesktopSettings>(key: K): DesktopSettings[K] {
    return structuredClone(this.#data[key]);
  }

  set<K extends keyof DesktopSettings>(key: K, value: DesktopSettings[K]): void {
    const next = desktopSettingsSchema.parse({ ...this.#data, [key]: value });
    this.#write(next);
    this.#data = next;
  }

  #read(): DesktopSettings {
    let raw: unknown;
    try {
      raw = JSON.parse(this.#fs.readFileSync(this.file, 'utf8'));
    } catch {
      raw = {};
    }
    const parsed = desktopSettingsSchema.safeParse(raw);
    return parsed.success ? parsed.data : desktopSettingsSchema.parse({});
  }

  #write(data: DesktopSettings): void {
    this.#fs.mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      // 0600: the file holds (encrypted) secrets and nobody else's business.
      this.#fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
      this.#fs.fsyncFile(tmp);
      this.#fs.renameSync(tmp, this.file);
    } catch (error) {
      this.#fs.rmSync(tmp, { force: true });
      throw error;
    }
  }
}
