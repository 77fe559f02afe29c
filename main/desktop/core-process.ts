import { fork } from 'node:child_process';
import { coreMessageSchema, type CoreMessageIn } from './core-messages.ts';
import { errorMessage } from '../unknown.ts';
import { CoreDown, RESTART_LABEL } from './status.ts';
import { SecretsRefusedError, type SecretAvailability, type SecretStore } from './secret-store.ts';

/**
 * The desktop's core runs in a process of its own (Electron's `utilityProcess`), beside a thin
 * shell: synchronous SQLite, XLSX exports and the full collections after each Docpart chunk no
 * longer stall the tray menu and window handling. This module is the shell's side and knows
 * nothing of Electron: `CoreSupervisor` starts the process through an injected `spawn`, restarts
 * it after a crash (with a backoff and a limit), and stops it cleanly on quit. Everything else
 * (the tray's health, its actions, the window) goes over the admin API, as before.
 *
 * Tests and benchmarks spawn a plain Node child (`nodeSpawn`); the app adapts
 * `utilityProcess.fork` (`utilityChild`). The child's side is core-host.ts.
 */

/** Where the core's process finds its settings; the same for every restart. */
export interface CoreStartOptions {
  configFile: string;
  dataDir: string;
  /** The built UI (out/renderer): the bundle's location, known to the shell. */
  rendererDir: string;
}

/** The secrets the shell keeps in safeStorage, decrypted for the core (never on a command line). */
export interface SecretsSnapshot {
  availability: SecretAvailability;
  /** Every stored key, decryptable or not (a removed ReGate tenant's keys must be found to delete). */
  keys: string[];
  values: Array<[string, string]>;
}

/** The first message to a new core process. */
export interface CoreStart {
  options: CoreStartOptions;
  secrets: SecretsSnapshot;
}

/** What the core's process tells the shell once it serves. */
export interface CoreReady {
  uiUrl: string;
  uiLoginUrl: string;
  uiToken: string;
  listenerUrl: string;
  sandbox: boolean;
}

export type ShellMessage =
  | ({ type: 'start' } & CoreStart)
  | { type: 'stop'; graceMs: number }
  | { type: 'secrets-done'; id: number; refused?: string; error?: string };

export type CoreMessage =
  | { type: 'ready'; ready: CoreReady }
  /** The core could not start (config, port, store): the message is the staff sentence. */
  | { type: 'failed'; message: string }
  /** The window saved settings with secrets: the shell encrypts and keeps them. */
  | { type: 'secrets-set'; id: number; values: Record<string, string> }
  | { type: 'secrets-delete'; id: number; key: string }
  /** A notice for the operator (secrets refused without a keyring). */
  | { type: 'notify'; text: string };

/** One core process, as the shell sees it: Node's ChildProcess and Electron's UtilityProcess both fit. */
export interface CoreChild {
  readonly pid: number | undefined;
  postMessage(message: ShellMessage): void;
  /** Ends the process at once (a Node child: SIGKILL; Electron: `kill()`). */
  kill(): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the process has ended. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
}

export type SpawnCore = () => CoreChild;

/** A plain Node child (`child_process.fork`) running `entry` (core-child.ts): tests, benchmarks. */
export function nodeSpawn(entry: string, opts: { env?: NodeJS.ProcessEnv; stdio?: 'inherit' | 'ignore' } = {}): SpawnCore {
  return () => {
    const out = opts.stdio ?? 'inherit';
    // No execArgv: a test runner's loader flags are not the core's.
    const child = fork(entry, [], { stdio: ['ignore', out, out, 'ipc'], env: opts.env ?? process.env, execArgv: [] });
    const exits: Array<(code: number | null, signal: string | null) => void> = [];
    let ended = false;
    const end = (code: number | null, signal: string | null) => {
      if (ended) return;
      ended = true;
      for (const l of exits) l(code, signal);
    };
    child.on('exit', end);
    // A spawn that failed may never emit 'exit'; a send on a closed channel lands here too.
    child.on('error', () => {
      if (child.pid === undefined) end(null, null);
    });
    return {
      get pid() {
        return child.pid;
      },
      postMessage: (message) => {
        if (child.connected) child.send(message, () => {});
      },
      kill: () => void child.kill('SIGKILL'),
      onMessage: (listener) => void child.on('message', listener),
      onExit: (listener) => void exits.push(listener),
    };
  };
}

/** The parts of Electron's UtilityProcess used here. */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** Adapts `utilityProcess.fork(…)`: messages wait for 'spawn', `exit` carries the exit code only. */
export function utilityChild(proc: UtilityProcessLike): CoreChild {
  let spawned = false;
  const queued: ShellMessage[] = [];
  proc.on('spawn', () => {
    spawned = true;
    for (const m of queued.splice(0)) proc.postMessage(m);
  });
  return {
    get pid() {
      return proc.pid;
    },
    postMessage: (message) => {
      if (spawned) proc.postMessage(message);
      else queued.push(message);
    },
    kill: () => void proc.kill(),
    onMessage: (listener) => void proc.on('message', listener),
    onExit: (listener) => void proc.on('exit', (code: number) => listener(code, null)),
  };
}

/** The stored secrets, decrypted for a core process about to start. */
export function secretsSnapshot(store: SecretStore): SecretsSnapshot {
  const keys = store.keys();
  const values: Array<[string, string]> = [];
  for (const key of keys) {
    const value = store.get(key);
    if (value !== undefined) values.push([key, value]);
  }
  return { availability: store.availability(), keys, values };
}

export type CoreState =
  | { state: 'idle' }
  | { state: 'starting' }
  | { state: 'running'; ready: CoreReady; pid: number | undefined }
  /** Crashed; the next start is in `retryInMs`. `attempt` of `of` restarts in a row. */
  | { state: 'restarting'; attempt: number; of: number; retryInMs: number; reason: string }
  /** Crashed too often in a row (or never started): the shell stops trying until the operator restarts it. */
  | { state: 'failed'; crashes: number; reason: string }
  /** `restart`: the operator's «Перезапустить службу» is ending this process to start a new one. */
  | { state: 'stopping'; restart?: boolean }
  | { state: 'stopped' };

/** What the tray shows while the core's process is not serving; null while it is (its health is shown). */
export function coreDown(state: CoreState): CoreDown | null {
  switch (state.state) {
    case 'running':
      return null;
    case 'idle':
    case 'starting':
      return new CoreDown('warning', 'Служба Спутника запускается…');
    case 'restarting':
      return new CoreDown('warning', `Служба Спутника перезапускается после сбоя (попытка ${state.attempt} из ${state.of})`);
    case 'failed':
      // The advice names the menu item: quitting the whole app is no longer needed.
      return new CoreDown('problem', state.crashes > 0 ? `Служба Спутника остановлена после ${state.crashes} сбоев подряд — перезапустите службу` : 'Служба Спутника не запустилась — перезапустите службу', { restart: true });
    case 'stopping':
      return state.restart ? new CoreDown('warning', 'Служба Спутника перезапускается…') : new CoreDown('warning', 'Спутник останавливается…');
    case 'stopped':
      return new CoreDown('warning', 'Спутник останавливается…');
  }
}

/** The notification when the supervisor stops trying: why, and what the operator can do. */
export function coreFailedNotice(state: Extract<CoreState, { state: 'failed' }>): string {
  const what = `выберите «${RESTART_LABEL}» в меню значка Спутника`;
  if (state.crashes > 0) return `Служба Спутника ${state.crashes} раз подряд завершилась со сбоем и больше не перезапускается сама (последний: ${state.reason}). Чтобы запустить её снова, ${what}.`;
  return `Служба Спутника не запустилась: ${state.reason}. Когда причина устранена, ${what}.`;
}

/** Why a process ended, in words for the log and the operator (exit codes only: no secrets). */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `служба завершена сигналом ${signal}`;
  if (code === null) return 'служба не запустилась';
  return `служба завершилась с кодом ${code}`;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

// A real timer's handle is its own cancel function: nothing else is ever cleared with it.
const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  clearTimeout: (cancel) => {
    if (typeof cancel === 'function') cancel();
  },
};

export interface SupervisorOptions {
  spawn: SpawnCore;
  /** The first message for each new process (read again at each restart: secrets saved meanwhile count). */
  start(): CoreStart;
  /** Where the core's settings saves put secrets (the shell's safeStorage); absent: such saves fail. */
  secrets?: Pick<SecretStore, 'setMany' | 'delete'>;
  notify?(text: string): void;
  log?(message: string): void;
  /** Waits before the 1st, 2nd, … restart in a row; the last repeats. */
  backoffMs?: readonly number[];
  /** Restarts in a row before giving up; a run that served `stableMs` resets the count. */
  maxRestarts?: number;
  stableMs?: number;
  /** A process that is not serving this long after its start is ended (and counts as a crash). */
  readyTimeoutMs?: number;
  /** After a stop's grace: how long to wait for the process to exit before it is killed. */
  stopMarginMs?: number;
  clock?: Clock;
}

export interface StopResult {
  /** The process stopped by itself, with exit code 0, after the core closed its store. */
  clean: boolean;
  /** It did not stop in time and was killed. */
  killed: boolean;
  code: number | null;
  signal: string | null;
}

interface Run {
  child: CoreChild;
  startedAt: number;
  readyAt: number | null;
  failure: string | null;
  stopRequested: boolean;
  /** Ended by the operator's restart, which starts the next process itself: not a crash. */
  replaced: boolean;
  exit: { code: number | null; signal: string | null } | null;
  exited: Promise<void>;
  readyTimer: unknown;
}

export const DEFAULT_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000] as const;

/**
 * Starts, watches and stops the core's process. `start()` resolves with the first `ready` or
 * rejects with why it could not start (a bad config is not retried: the shell says it and exits).
 * After that, a process that ends by itself is started again after a backoff, up to
 * `maxRestarts` times in a row; then the state is `failed`, the tray says so and offers
 * «Перезапустить службу» (`restart`), which starts it again with the count reset.
 */
export class CoreSupervisor {
  readonly #opts: SupervisorOptions;
  readonly #clock: Clock;
  readonly #listeners = new Set<(state: CoreState) => void>();
  #state: CoreState = { state: 'idle' };
  #run: Run | null = null;
  #lastReady: CoreReady | null = null;
  #crashes = 0;
  #restartTimer: unknown = null;
  #stopping = false;
  #first: { resolve(ready: CoreReady): void; reject(error: Error): void } | null = null;
  #restarting: Promise<CoreReady> | null = null;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  get state(): CoreState {
    return this.#state;
  }

  /** The last process that served (it may be down now): the window keeps its address and token. */
  get lastReady(): CoreReady | null {
    return this.#lastReady;
  }

  /** The admin API's origin and token while the core serves. */
  connection(): { baseUrl: string; token: string } | null {
    const ready = this.#state.state === 'running' ? this.#state.ready : null;
    return ready ? { baseUrl: new URL(ready.uiUrl).origin, token: ready.uiToken } : null;
  }

  /** The pid of the current process (tests kill it). */
  get pid(): number | undefined {
    const run = this.#run;
    return run && !run.exit ? run.child.pid : undefined;
  }

  subscribe(listener: (state: CoreState) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  start(): Promise<CoreReady> {
    if (this.#state.state !== 'idle') return Promise.reject(new Error('служба Спутника уже запущена'));
    return new Promise<CoreReady>((resolve, reject) => {
      this.#first = { resolve, reject };
      this.#launch();
    });
  }

  /**
   * Asks the core to stop (it stops intake, lets running work finish within `graceMs` and closes
   * the store), waits for its exit, and kills it when it does not exit in time.
   */
  async stop(graceMs: number): Promise<StopResult> {
    this.#stopping = true;
    if (this.#restartTimer !== null) {
      this.#clock.clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
    }
    const run = this.#run;
    if (!run || run.exit) {
      this.#setState({ state: 'stopped' });
      return { clean: true, killed: false, code: run?.exit?.code ?? null, signal: run?.exit?.signal ?? null };
    }
    this.#setState({ state: 'stopping' });
    const { killed, exit } = await this.#end(run, graceMs);
    this.#setState({ state: 'stopped' });
    return { clean: !killed && exit?.code === 0, killed, code: exit?.code ?? null, signal: exit?.signal ?? null };
  }

  /**
   * «Перезапустить службу»: the operator starts the core again, after the supervisor gave up on a
   * crash loop, or while it runs but no longer answers (that process is stopped as a quit stops
   * it, killed past the grace). The crash count starts again from zero. Resolves once the new
   * process serves; when it does not, rejects with why and the state is `failed`, as after a
   * first start (a bad config is not fixed by trying again by itself). A second call while one
   * is under way joins it.
   */
  restart(graceMs: number): Promise<CoreReady> {
    if (this.#restarting) return this.#restarting;
    const now = this.#state.state;
    if (this.#stopping || now === 'stopping' || now === 'stopped') return Promise.reject(new Error('Спутник останавливается: служба не перезапускается'));
    if (now === 'idle') return Promise.reject(new Error('Служба Спутника ещё не запускалась'));
    if (now === 'starting') return Promise.reject(new Error('Служба Спутника уже запускается'));
    const restarting = this.#restart(graceMs).finally(() => {
      this.#restarting = null;
    });
    this.#restarting = restarting;
    return restarting;
  }

  async #restart(graceMs: number): Promise<CoreReady> {
    this.#opts.log?.(`Служба Спутника перезапускается по команде оператора (была: ${this.#state.state})`);
    this.#crashes = 0;
    if (this.#restartTimer !== null) {
      this.#clock.clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
    }
    const run = this.#run;
    if (run && !run.exit) {
      run.replaced = true;
      this.#setState({ state: 'stopping', restart: true });
      await this.#end(run, graceMs);
    }
    // A quit while the old process was ending: nothing new is started.
    if (this.#stopping) throw new Error('Спутник остановлен до запуска службы');
    return new Promise<CoreReady>((resolve, reject) => {
      this.#first = { resolve, reject };
      this.#launch();
    });
  }

  /** Asks `run` to stop within `graceMs` and waits for its exit; kills it when it does not exit in time. */
  async #end(run: Run, graceMs: number): Promise<{ killed: boolean; exit: Run['exit'] }> {
    if (!run.stopRequested) {
      run.stopRequested = true;
      run.child.postMessage({ type: 'stop', graceMs });
    }
    const exit = await this.#waitExit(run, graceMs + (this.#opts.stopMarginMs ?? 2000));
    if (exit) return { killed: false, exit };
    this.#opts.log?.(`Служба Спутника не остановилась за ${graceMs} мс и завершена принудительно`);
    run.child.kill();
    return { killed: true, exit: await this.#waitExit(run, 2000) };
  }

  /** The process's exit once it has ended, or null when it has not within `ms`. */
  #waitExit(run: Run, ms: number): Promise<Run['exit']> {
    if (run.exit) return Promise.resolve(run.exit);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => resolve(null), ms);
      void run.exited.then(() => {
        this.#clock.clearTimeout(timer);
        resolve(run.exit);
      });
    });
  }

  #setState(state: CoreState): void {
    this.#state = state;
    for (const l of this.#listeners) {
      try {
        l(state);
      } catch (error) {
        this.#opts.log?.(`Ошибка в обработчике состояния службы: ${errorMessage(error)}`);
      }
    }
  }

  #launch(): void {
    this.#restartTimer = null;
    if (this.#stopping) return;
    this.#setState({ state: 'starting' });
    let child: CoreChild;
    try {
      child = this.#opts.spawn();
    } catch (error) {
      this.#ended(null, `служба не запустилась: ${errorMessage(error)}`);
      return;
    }
    let markExited!: () => void;
    const run: Run = {
      child,
      startedAt: this.#clock.now(),
      readyAt: null,
      failure: null,
      stopRequested: false,
      replaced: false,
      exit: null,
      exited: new Promise<void>((r) => (markExited = r)),
      readyTimer: null,
    };
    this.#run = run;
    run.readyTimer = this.#clock.setTimeout(() => {
      run.readyTimer = null;
      if (run.readyAt !== null || run.exit || run.stopRequested) return;
      run.failure = `служба не ответила за ${Math.round((this.#opts.readyTimeoutMs ?? 60_000) / 1000)} с`;
      child.kill();
    }, this.#opts.readyTimeoutMs ?? 60_000);
    child.onMessage((message) => this.#onMessage(run, message));
    child.onExit((code, signal) => {
      if (run.exit) return;
      run.exit = { code, signal };
      if (run.readyTimer !== null) this.#clock.clearTimeout(run.readyTimer);
      markExited();
      this.#ended(run, describeExit(code, signal));
    });
    try {
      child.postMessage({ type: 'start', ...this.#opts.start() });
    } catch (error) {
      run.failure = `служба не запустилась: ${errorMessage(error)}`;
      child.kill();
    }
  }

  #onMessage(run: Run, message: unknown): void {
    const parsed = coreMessageSchema.safeParse(message);
    if (!parsed.success) return;
    const m = parsed.data;
    switch (m.type) {
      case 'ready': {
        if (run.exit || run.readyAt !== null || this.#run !== run) return;
        run.readyAt = this.#clock.now();
        if (run.readyTimer !== null) {
          this.#clock.clearTimeout(run.readyTimer);
          run.readyTimer = null;
        }
        const ready: CoreReady = { uiUrl: m.ready.uiUrl, uiLoginUrl: m.ready.uiLoginUrl, uiToken: m.ready.uiToken, listenerUrl: m.ready.listenerUrl, sandbox: m.ready.sandbox };
        this.#lastReady = ready;
        if (this.#stopping) return;
        this.#setState({ state: 'running', ready, pid: run.child.pid });
        const first = this.#first;
        this.#first = null;
        first?.resolve(ready);
        return;
      }
      case 'failed':
        if (m.message !== undefined) run.failure = m.message;
        run.child.kill();
        return;
      case 'secrets-set':
      case 'secrets-delete':
        this.#secrets(run, m);
        return;
      case 'notify':
        this.#opts.notify?.(m.text);
        return;
    }
  }

  #secrets(run: Run, m: Extract<CoreMessageIn, { type: 'secrets-set' | 'secrets-delete' }>): void {
    const reply = (extra: { refused?: string; error?: string }) => run.child.postMessage({ type: 'secrets-done', id: m.id, ...extra });
    const secrets = this.#opts.secrets;
    if (!secrets) return reply({ error: 'хранилище паролей недоступно' });
    try {
      if (m.type === 'secrets-set') {
        const values: Record<string, string> = {};
        for (const [key, value] of Object.entries(m.values)) if (typeof value === 'string') values[key] = value;
        secrets.setMany(values);
      } else if (m.key !== undefined) {
        secrets.delete(m.key);
      }
      reply({});
    } catch (error) {
      reply(error instanceof SecretsRefusedError ? { refused: error.message } : { error: errorMessage(error) });
    }
  }

  /** A process ended (or could not be spawned): stop, give up, or start it again. */
  #ended(run: Run | null, exitReason: string): void {
    if (run && this.#run === run) this.#run = null;
    // The operator's restart ended it and starts the next one itself.
    if (run?.replaced) return;
    const reason = run?.failure ?? exitReason;
    if (this.#stopping) {
      // stop() reports 'stopped' once it has the exit.
      const first = this.#first;
      this.#first = null;
      first?.reject(new Error('Спутник остановлен до запуска службы'));
      return;
    }
    const first = this.#first;
    if (first) {
      // Never served: a bad config or a taken port is not fixed by trying again.
      this.#first = null;
      this.#setState({ state: 'failed', crashes: 0, reason });
      first.reject(new Error(run?.failure ?? `Служба Спутника не запустилась: ${exitReason}`));
      return;
    }
    const { maxRestarts = 5, stableMs = 60_000, backoffMs = DEFAULT_BACKOFF_MS } = this.#opts;
    if (run && run.readyAt !== null && this.#clock.now() - run.readyAt >= stableMs) this.#crashes = 0;
    this.#crashes += 1;
    if (this.#crashes > maxRestarts) {
      this.#opts.log?.(`Служба Спутника завершилась (${reason}) ${this.#crashes} раз подряд; больше не перезапускается`);
      this.#setState({ state: 'failed', crashes: this.#crashes, reason });
      return;
    }
    const retryInMs = backoffMs[Math.min(this.#crashes - 1, backoffMs.length - 1)] ?? 1000;
    this.#opts.log?.(`Служба Спутника завершилась (${reason}); перезапуск ${this.#crashes} из ${maxRestarts} через ${retryInMs} мс`);
    this.#setState({ state: 'restarting', attempt: this.#crashes, of: maxRestarts, retryInMs, reason });
    this.#restartTimer = this.#clock.setTimeout(() => this.#launch(), retryInMs);
  }
}
