import { startDesktopCore, type DesktopCore } from './core.ts';
import { shellMessageSchema } from './core-messages.ts';
import type { CoreMessage, CoreStart, SecretsSnapshot } from './core-process.ts';
import { SecretsRefusedError, type SecretAvailability, type SecretsLike } from './secret-store.ts';
import { errorMessage } from '../unknown.ts';

/**
 * The core's process, its side of core-process.ts: waits for the shell's `start` (settings and
 * the secrets it keeps in safeStorage), starts the core, answers `ready` with the addresses, and
 * on `stop` stops it cleanly and exits 0. Transport-free: core-child.ts connects it to Electron's
 * `process.parentPort` or to Node's IPC channel.
 */
export interface ParentPortLike {
  postMessage(message: CoreMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Node's IPC only: the shell went away without a stop. */
  onDisconnect?(listener: () => void): void;
}

export interface HostDeps {
  exit(code: number): void;
  /** Tests: another way to start the core. */
  startCore?: typeof startDesktopCore;
  /** How long a stop without a given grace (the shell gone) lets running work finish. */
  defaultGraceMs?: number;
}

/** A secrets write sent to the shell; resolves once the shell has kept it. */
export type AskShell = (request: { op: 'set'; values: Record<string, string> } | { op: 'delete'; key: string }) => Promise<void>;

/**
 * The shell's secrets as the core's settings see them: reads from the snapshot sent at start,
 * writes go back to the shell (only Electron's main process can use safeStorage) and land here
 * once it has kept them.
 */
export class MirroredSecrets implements SecretsLike {
  readonly #availability: SecretAvailability;
  readonly #keys: Set<string>;
  readonly #values: Map<string, string>;
  readonly #ask: AskShell;

  constructor(snapshot: SecretsSnapshot, ask: AskShell) {
    this.#availability = snapshot.availability;
    this.#keys = new Set(snapshot.keys);
    this.#values = new Map(snapshot.values);
    this.#ask = ask;
  }

  availability(): SecretAvailability {
    return this.#availability;
  }

  get(key: string): string | undefined {
    return this.#availability.ok ? this.#values.get(key) : undefined;
  }

  keys(): string[] {
    return [...this.#keys];
  }

  async setMany(values: Readonly<Record<string, string>>): Promise<void> {
    if (!this.#availability.ok) throw new SecretsRefusedError(this.#availability.reason);
    await this.#ask({ op: 'set', values: { ...values } });
    for (const [key, value] of Object.entries(values)) {
      this.#keys.add(key);
      this.#values.set(key, value);
    }
  }

  async delete(key: string): Promise<void> {
    if (!this.#keys.has(key)) return;
    await this.#ask({ op: 'delete', key });
    this.#keys.delete(key);
    this.#values.delete(key);
  }
}

export function hostCore(port: ParentPortLike, deps: HostDeps): void {
  const startCore = deps.startCore ?? startDesktopCore;
  let starting: Promise<DesktopCore | undefined> | undefined;
  let stopping = false;
  let nextId = 1;
  const pending = new Map<number, { resolve(): void; reject(error: Error): void }>();

  const ask: AskShell = (request) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage(request.op === 'set' ? { type: 'secrets-set', id, values: request.values } : { type: 'secrets-delete', id, key: request.key });
    });

  const start = (m: CoreStart): Promise<DesktopCore | undefined> =>
    startCore({
      ...m.options,
      secrets: new MirroredSecrets(m.secrets, ask),
      onSecretsRefused: (text) => port.postMessage({ type: 'notify', text }),
    }).then(
      (core) => {
        const { running } = core;
        if (!stopping) port.postMessage({ type: 'ready', ready: { uiUrl: running.uiUrl, uiLoginUrl: running.uiLoginUrl, uiToken: running.uiToken, listenerUrl: running.listenerUrl, sandbox: core.sandboxMode } });
        return core;
      },
      (error: unknown) => {
        // The shell ends this process once it has the reason.
        port.postMessage({ type: 'failed', message: errorMessage(error) });
        return undefined;
      },
    );

  const stop = async (graceMs: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const p of pending.values()) p.reject(new Error('Спутник останавливается'));
    pending.clear();
    const core = await starting;
    try {
      await core?.stop(graceMs);
    } catch {
      deps.exit(1);
      return;
    }
    deps.exit(0);
  };

  port.onMessage((message) => {
    const parsed = shellMessageSchema.safeParse(message);
    if (!parsed.success) return;
    const m = parsed.data;
    switch (m.type) {
      case 'start':
        if (!starting && !stopping) starting = start(m);
        return;
      case 'stop':
        void stop(m.graceMs ?? deps.defaultGraceMs ?? 10_000);
        return;
      case 'secrets-done': {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.refused !== undefined) p.reject(new SecretsRefusedError(m.refused));
        else if (m.error !== undefined) p.reject(new Error(`Пароли и токены не сохранены: ${m.error}`));
        else p.resolve();
        return;
      }
    }
  });
  port.onDisconnect?.(() => void stop(deps.defaultGraceMs ?? 10_000));
}
