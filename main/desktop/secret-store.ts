import type { Config } from '../config/schema.ts';
import { SECRET_FIELDS } from '../config/schema.ts';
import { deletePath, secretLists, secretsIn, setPath } from '../config/secrets.ts';
import { FileSettingsStore, type SettingsStore } from '../config/settings-store.ts';
import { SputnikError } from '../errors.ts';

/**
 * Desktop-mode secrets (tokens, passwords) encrypted with Electron's safeStorage (DPAPI on
 * Windows, Keychain on macOS, libsecret/KWallet on Linux). Where that protection is absent —
 * Linux without a keyring (`basic_text` backend) or encryption unavailable — secrets are
 * refused with a Russian reason instead of being written in plain text. Service mode does not
 * use this: it keeps the config file / environment variables. Electron is injected.
 *
 * The synchronous safeStorage calls keep a save's secrets all-or-nothing before the file is written.
 */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron. */
  getSelectedStorageBackend?(): string;
}

/** Where the encrypted values live (base64 by key): the desktop store's `secrets` (desktop-store.ts). */
export interface SecretBacking {
  load(): Record<string, string>;
  save(all: Record<string, string>): void;
}

export type SecretAvailability = { ok: true } | { ok: false; reason: string };

export const NO_KEYRING_REASON =
  'Пароли и токены не сохранены: в системе нет хранилища ключей (GNOME Keyring или KWallet), а открытым текстом Спутник их не хранит. ' +
  'Установите и разблокируйте хранилище ключей и перезапустите Спутник, или запустите его службой (sputnik serve) с паролями в файле настроек или переменных окружения.';
export const NO_ENCRYPTION_REASON =
  'Пароли и токены не сохранены: шифрование системы недоступно, а открытым текстом Спутник их не хранит. ' +
  'Перезапустите Спутник; если не поможет — запустите его службой (sputnik serve) с паролями в файле настроек или переменных окружения.';

export class SecretsRefusedError extends SputnikError {
  constructor(reason: string) {
    super(409, 'secrets_unprotected', reason);
  }
}

/**
 * What the settings store needs of the secrets: the SecretStore itself in the Electron main
 * process, or its mirror in the core's process (core-host.ts), whose writes go back to the
 * shell over IPC and so may be asynchronous.
 */
export interface SecretsLike {
  availability(): SecretAvailability;
  get(key: string): string | undefined;
  keys(): string[];
  setMany(values: Readonly<Record<string, string>>): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

export class SecretStore implements SecretsLike {
  readonly #safe: SafeStorageLike;
  readonly #platform: NodeJS.Platform;
  readonly #backing: SecretBacking;

  constructor(deps: { safeStorage: SafeStorageLike; platform: NodeJS.Platform; backing: SecretBacking }) {
    this.#safe = deps.safeStorage;
    this.#platform = deps.platform;
    this.#backing = deps.backing;
  }

  availability(): SecretAvailability {
    if (this.#platform === 'linux' && this.#safe.getSelectedStorageBackend?.() === 'basic_text') return { ok: false, reason: NO_KEYRING_REASON };
    if (!this.#safe.isEncryptionAvailable()) return { ok: false, reason: NO_ENCRYPTION_REASON };
    return { ok: true };
  }

  has(key: string): boolean {
    return key in this.#backing.load();
  }

  /** The keys of every stored secret (not their values). */
  keys(): string[] {
    return Object.keys(this.#backing.load());
  }

  /** The decrypted value; undefined when absent or no longer decryptable (e.g. keyring reset). */
  get(key: string): string | undefined {
    const blob = this.#backing.load()[key];
    if (blob === undefined || !this.availability().ok) return undefined;
    try {
      return this.#safe.decryptString(Buffer.from(blob, 'base64'));
    } catch {
      return undefined;
    }
  }

  /** Throws SecretsRefusedError (nothing written) when the values could not be protected. */
  set(key: string, value: string): void {
    this.setMany({ [key]: value });
  }

  /** All or nothing: either every value is encrypted and saved, or none is. */
  setMany(values: Readonly<Record<string, string>>): void {
    const availability = this.availability();
    if (!availability.ok) throw new SecretsRefusedError(availability.reason);
    const all = this.#backing.load();
    for (const [key, value] of Object.entries(values)) all[key] = this.#safe.encryptString(value).toString('base64');
    this.#backing.save(all);
  }

  delete(key: string): void {
    const all = this.#backing.load();
    if (!(key in all)) return;
    delete all[key];
    this.#backing.save(all);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The secrets of the config (its schema's marks): outside lists by path, a list item's by its key (`regate.tenants.<id>.password`). */
const LIST_PREFIXES = [...secretLists(SECRET_FIELDS).keys()].map((at) => `${at}.`);

/** Each secret of `config` the desktop keeps, with its place in that config: those an environment variable sets are not kept. */
function keptSecrets(config: unknown, fromEnv: readonly string[]): Array<{ key: string; path: string[]; value: unknown }> {
  return secretsIn(config, SECRET_FIELDS).flatMap((s) => (s.key === null || (s.field.env && fromEnv.includes(s.key)) ? [] : [{ key: s.key, path: s.path, value: s.value }]));
}

/**
 * The config file's settings as read, with the secrets kept in safeStorage filled in — before they
 * are validated, since an enabled connector requires its token and a ReGate tenant its password.
 * Environment variables still win (they are applied after this).
 */
export function withStoredSecrets(raw: unknown, secrets: Pick<SecretsLike, 'get'>, fromEnv: readonly string[] = []): unknown {
  if (!isRecord(raw)) return raw;
  const out = structuredClone(raw);
  for (const s of keptSecrets(out, fromEnv)) {
    const value = secrets.get(s.key);
    if (value !== undefined) setPath(out, s.path, value);
  }
  return out;
}

/** Every secret of `config` the desktop keeps out of the file, by key ('' when it has none). */
function secretsOf(config: unknown, fromEnv: readonly string[]): Map<string, string> {
  return new Map(keptSecrets(config, fromEnv).map((s) => [s.key, typeof s.value === 'string' ? s.value : '']));
}

/**
 * The desktop's SettingsStore: the config file gets everything but the secrets, the secrets go
 * to the SecretStore. Without protection, a new or changed secret is refused (the admin API
 * answers 409 with the reason, so the window shows it, and `onRefused` notifies from the tray);
 * secrets the user already keeps in the config file by hand stay there untouched.
 */
export class DesktopSettingsStore implements SettingsStore {
  readonly location: string;
  readonly #file: FileSettingsStore;
  readonly #secrets: SecretsLike;
  readonly #fromEnv: string[];
  readonly #inFile: Map<string, string>;
  readonly #onRefused: (reason: string) => void;

  /** `fileConfig`: the settings as read from the file, before the stored secrets were filled in. */
  constructor(opts: { file: string; fileConfig: unknown; secrets: SecretsLike; fromEnv?: string[]; onRefused?: (reason: string) => void }) {
    this.location = opts.file;
    this.#fromEnv = opts.fromEnv ?? [];
    this.#file = new FileSettingsStore(opts.file, this.#fromEnv);
    this.#secrets = opts.secrets;
    this.#onRefused = opts.onRefused ?? (() => {});
    this.#inFile = new Map([...secretsOf(opts.fileConfig, this.#fromEnv)].filter(([, v]) => v !== ''));
  }

  async save(config: Config): Promise<void> {
    const wanted = secretsOf(config, this.#fromEnv);
    const protectedOk = this.#secrets.availability();
    const toStore: Record<string, string> = {};
    const toDelete: string[] = [];
    const keepInFile = new Set<string>();
    for (const [key, v] of wanted) {
      if (v === '') {
        toDelete.push(key);
      } else if (!protectedOk.ok && this.#inFile.get(key) === v) {
        keepInFile.add(key); // the user's own plain-text file entry: leave it as it was
      } else if (this.#secrets.get(key) !== v) {
        toStore[key] = v;
      }
    }
    // A removed list item's secrets (a ReGate tenant's passwords) go with it.
    for (const key of this.#secrets.keys()) if (LIST_PREFIXES.some((p) => key.startsWith(p)) && !wanted.has(key)) toDelete.push(key);
    if (Object.keys(toStore).length > 0 && !protectedOk.ok) {
      this.#onRefused(protectedOk.reason);
      throw new SecretsRefusedError(protectedOk.reason);
    }
    if (Object.keys(toStore).length > 0) await this.#secrets.setMany(toStore);
    for (const key of toDelete) await this.#secrets.delete(key);
    const out = structuredClone(config);
    for (const s of keptSecrets(out, this.#fromEnv)) if (!keepInFile.has(s.key)) deletePath(out, s.path);
    await this.#file.save(out);
    for (const key of wanted.keys()) if (!keepInFile.has(key)) this.#inFile.delete(key);
  }
}
