import type { Config, ConnectorName } from '../config/schema.ts';
import { CONNECTORS, configSchema } from '../config/schema.ts';
import { applyPatch, secretPresence, withoutSecrets, type SettingsStore } from '../config/settings-store.ts';
import { SputnikError } from '../errors.ts';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';

export interface SettingsView {
  config: Config;
  /** Which secrets are set (values are write-only and never leave the core). */
  secrets: Record<string, boolean>;
  fromEnv: string[];
  /** Where changes are saved; null when they last only until restart (sandbox). */
  savedTo: string | null;
}

/** Reading and changing settings at run time: validate the whole result, save, tell what changed. */
export class SettingsService {
  #config: Config;
  readonly #store: SettingsStore;
  readonly #fromEnv: string[];
  readonly #onChange: (next: Config, changed: ConnectorName[]) => void;

  constructor(config: Config, store: SettingsStore, fromEnv: string[], onChange: (next: Config, changed: ConnectorName[]) => void) {
    this.#config = config;
    this.#store = store;
    this.#fromEnv = fromEnv;
    this.#onChange = onChange;
  }

  get config(): Config {
    return this.#config;
  }

  read(): SettingsView {
    return { config: withoutSecrets(this.#config), secrets: secretPresence(this.#config), fromEnv: this.#fromEnv, savedTo: this.#store.location };
  }

  async update(patch: unknown): Promise<SettingsView & { restartRequired: boolean }> {
    const parsed = configSchema.safeParse(applyPatch(this.#config, patch), INPUT_IN_ISSUES);
    if (!parsed.success) {
      const [first] = describeZodError(parsed.error);
      throw new SputnikError(422, 'invalid_value', `Настройка «${first.field}»: ${first.message}`, { field: first.field });
    }
    const next = parsed.data;
    const prev = this.#config;
    this.#store.save(next);
    this.#config = next;
    const changed = CONNECTORS.filter((c) => JSON.stringify(prev[c]) !== JSON.stringify(next[c]));
    this.#onChange(next, changed);
    const restartRequired = JSON.stringify(prev.listener) !== JSON.stringify(next.listener) || prev.ui.port !== next.ui.port;
    return { ...this.read(), restartRequired };
  }
}
