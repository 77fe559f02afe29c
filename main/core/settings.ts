import type { Config, ConnectorName } from '../config/schema.ts';
import { CONNECTORS, configSchema, sliceOf } from '../config/schema.ts';
import { REGISTRY } from './registry.ts';
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
  /** Saved parts that differ from what this run started with and apply only after a restart. */
  restartPending: RestartPart[];
}

/**
 * Parts built once at start: the 1C API's and the window's listeners, and the modules that say so
 * (ReGate: its HTTPS listener, its tenants' pools and caps). Connectors, by contrast, take new
 * settings at once.
 */
export type RestartPart = string;
const RESTART_PARTS: ReadonlyArray<readonly [RestartPart, (c: Config) => unknown]> = [
  ['listener', (c) => c.listener],
  ['ui', (c) => c.ui.port],
  ...REGISTRY.filter((m) => m.restart).map((m) => [m.name, (c: Config) => sliceOf(c, m.name)] as const),
];
const restartParts = (a: Config, b: Config): RestartPart[] =>
  RESTART_PARTS.filter(([, of]) => JSON.stringify(of(a)) !== JSON.stringify(of(b))).map(([part]) => part);

/** Reading and changing settings at run time: validate the whole result, save, tell what changed. */
export class SettingsService {
  #config: Config;
  readonly #started: Config;
  /** Updates run one at a time: each validates against the one saved before it. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #store: SettingsStore;
  readonly #fromEnv: string[];
  readonly #onChange: (next: Config, changed: ConnectorName[]) => void;

  constructor(config: Config, store: SettingsStore, fromEnv: string[], onChange: (next: Config, changed: ConnectorName[]) => void) {
    this.#config = config;
    this.#started = config;
    this.#store = store;
    this.#fromEnv = fromEnv;
    this.#onChange = onChange;
  }

  get config(): Config {
    return this.#config;
  }

  read(): SettingsView {
    return {
      config: withoutSecrets(this.#config),
      secrets: secretPresence(this.#config),
      fromEnv: this.#fromEnv,
      savedTo: this.#store.location,
      restartPending: restartParts(this.#started, this.#config),
    };
  }

  /** `restartRequired`: this change has a part that applies only after a restart. */
  update(patch: unknown): Promise<SettingsView & { restartRequired: boolean }> {
    const run = this.#queue.then(() => this.#update(patch));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #update(patch: unknown): Promise<SettingsView & { restartRequired: boolean }> {
    const parsed = configSchema.safeParse(applyPatch(this.#config, patch), INPUT_IN_ISSUES);
    if (!parsed.success) {
      const [first] = describeZodError(parsed.error);
      throw new SputnikError(422, 'invalid_value', `Настройка «${first.field}»: ${first.message}`, { field: first.field });
    }
    const next = parsed.data;
    const prev = this.#config;
    await this.#store.save(next);
    this.#config = next;
    const changed = CONNECTORS.filter((c) => JSON.stringify(sliceOf(prev, c)) !== JSON.stringify(sliceOf(next, c)));
    this.#onChange(next, changed);
    return { ...this.read(), restartRequired: restartParts(prev, next).length > 0 };
  }
}
