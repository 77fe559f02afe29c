import { existsSync } from 'node:fs';
import { startRun, type Run } from '../core/run.ts';

export type DesktopCore = Run & { sandboxMode: boolean };

/**
 * Starts the core in the Electron main process the way `npm start` does in service mode: the
 * user's config when there is one, otherwise the sandbox, so a first launch always works.
 */
export async function startDesktopCore(opts: { configFile: string; dataDir: string; rendererDir: string }): Promise<DesktopCore> {
  const hasConfig = existsSync(opts.configFile);
  const run = await startRun({
    configFile: hasConfig ? opts.configFile : undefined,
    sandbox: !hasConfig,
    dataDir: opts.dataDir,
    // The bundle lives in out/main, so the core's own default (relative to its source) is wrong here.
    rendererDir: opts.rendererDir,
  });
  return { ...run, sandboxMode: !hasConfig };
}
