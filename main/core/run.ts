import { z } from 'zod';
import { loadConfig, parseConfig, type LoadedConfig } from '../config/load.ts';
import type { Config, ConfigInput } from '../config/schema.ts';
import { applyPatch, FileSettingsStore, MemorySettingsStore, type SettingsStore } from '../config/settings-store.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { createCore, type Core, type RunningCore } from './index.ts';
import { useLeanHeap } from './memory.ts';
import { createServer } from 'node:net';
import { defaultModules } from '../connectors/index.ts';

export interface RunOptions {
  /** The user's config file; without one the run is the sandbox. */
  configFile?: string;
  sandbox: boolean;
  dataDir: string;
  rendererDir?: string;
  /** Last-moment changes (command-line ports). */
  adjust?: (config: Config) => void;
  /** Fills in what the config file does not hold, before validation (the desktop's stored secrets). */
  fill?: (raw: unknown) => unknown;
  /** Where the desktop keeps settings (secrets in the OS keychain); default: the config file itself. */
  settingsStore?: (loaded: LoadedConfig) => SettingsStore;
}

export interface Run {
  core: Core;
  running: RunningCore;
  config: Config;
  sandbox: Sandbox | undefined;
  stop(graceMs: number): Promise<void>;
}

const regateHostInput = z.object({ regate: z.object({ host: z.string() }) });

/** The sandbox binds ReGate to loopback (its login is published) unless the user's own file names a host. */
function keepChosenHost(patch: ConfigInput, input: unknown): ConfigInput {
  const chosen = regateHostInput.safeParse(input);
  return chosen.success ? { ...patch, regate: { ...patch.regate, host: chosen.data.regate.host } } : patch;
}

/**
 * One way to start Sputnik, shared by `sputnik serve` and the desktop shell: load the config
 * (or start the fakes and point the connectors at them), pick where settings are saved, start
 * the core, and undo everything already started when a step fails.
 */
export async function startRun(opts: RunOptions): Promise<Run> {
  useLeanHeap();
  let loaded: LoadedConfig = opts.configFile ? loadConfig(opts.configFile, process.env, opts.fill) : parseConfig({});
  let sandbox: Sandbox | undefined;
  if (opts.sandbox) {
    // The fake services (thousands of lines with their seeds) load only when a sandbox is asked for.
    const { startSandbox } = await import('../sandbox/index.ts');
    sandbox = await startSandbox();
    try {
      loaded = parseConfig(applyPatch(loaded.config, keepChosenHost(sandbox.config, loaded.input)), process.env, loaded.file);
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
  }
  const config = loaded.config;
  opts.adjust?.(config);
  // A second sandbox (or anything else) on ReGate's usual port: this one takes a free port, which
  // serve prints, rather than refusing to start. A real config keeps its port or fails (exit 3).
  if (sandbox && config.regate.enabled && config.regate.port === SANDBOX_REGATE_PORT && !(await portFree(config.regate.host, config.regate.port))) config.regate.port = 0;
  // Sandbox settings point at fakes: never write them over the user's real config.
  const settingsStore = loaded.file && !opts.sandbox ? (opts.settingsStore?.(loaded) ?? new FileSettingsStore(loaded.file, loaded.fromEnv)) : new MemorySettingsStore();
  let core: Core | undefined;
  try {
    core = await createCore({
      config,
      dataDir: opts.dataDir,
      sandbox: opts.sandbox,
      settingsStore,
      fromEnv: loaded.fromEnv,
      rendererDir: opts.rendererDir,
      modules: defaultModules,
    });
    const running = await core.start();
    const started = core;
    // Best effort, in the background: every exchange it makes is in the journal anyway.
    if (sandbox) void sandbox.seed(running.listenerUrl, running.listenerToken).catch(() => {});
    return {
      core: started,
      running,
      config,
      sandbox,
      async stop(graceMs) {
        await started.stop(graceMs);
        await sandbox?.stop();
      },
    };
  } catch (error) {
    await core?.stop(0);
    await sandbox?.stop();
    throw error;
  }
}

/** ReGate's documented sandbox port (README: the gateway sits on 37443). */
const SANDBOX_REGATE_PORT = 37443;

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
