import { existsSync } from 'node:fs';
import { loadConfig, parseConfig } from '../config/load.ts';
import { FileSettingsStore, MemorySettingsStore } from '../config/settings-store.ts';
import { createCore, type Core, type RunningCore } from '../core/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';

export interface DesktopCore {
  core: Core;
  running: RunningCore;
  sandbox: boolean;
  stop(graceMs: number): Promise<void>;
}

/**
 * Starts the core in the Electron main process the way `npm start` does in service mode: the
 * user's config when there is one, otherwise the sandbox, so a first launch always works.
 */
export async function startDesktopCore(opts: { configFile: string; dataDir: string; rendererDir: string }): Promise<DesktopCore> {
  const hasConfig = existsSync(opts.configFile);
  let sandbox: Sandbox | undefined;
  const loaded = hasConfig ? loadConfig(opts.configFile) : parseConfig((sandbox = await startSandbox()).config);
  const settingsStore = hasConfig ? new FileSettingsStore(opts.configFile, loaded.fromEnv) : new MemorySettingsStore();
  let core: Core;
  try {
    core = await createCore({
      config: loaded.config,
      dataDir: opts.dataDir,
      sandbox: !hasConfig,
      settingsStore,
      fromEnv: loaded.fromEnv,
      // The bundle lives in out/main, so the core's own default (relative to its source) is wrong here.
      rendererDir: opts.rendererDir,
    });
  } catch (error) {
    await sandbox?.stop();
    throw error;
  }
  let running: RunningCore;
  try {
    running = await core.start();
  } catch (error) {
    await core.stop(0);
    await sandbox?.stop();
    throw error;
  }
  return {
    core,
    running,
    sandbox: !hasConfig,
    async stop(graceMs) {
      await core.stop(graceMs);
      await sandbox?.stop();
    },
  };
}
