import { existsSync } from 'node:fs';
import { SECRETS } from '../config/schema.ts';
import { startRun, type Run, type RunOptions } from '../core/run.ts';
import { DesktopSettingsStore, withStoredSecrets, type SecretsLike } from './secret-store.ts';

export type DesktopCore = Run & { sandboxMode: boolean };

/**
 * Starts the desktop's core the way `npm start` does in service mode: the user's config when
 * there is one, otherwise the sandbox, so a first launch always works. With `secrets`, secrets
 * saved earlier in safeStorage are merged over the file's config (environment variables still
 * win). The app calls it in the core's own process (core-host.ts); tests and the shell-loop
 * bench's in-process baseline call it directly.
 */
export async function startDesktopCore(opts: {
  configFile: string;
  dataDir: string;
  rendererDir: string;
  secrets?: SecretsLike;
  onSecretsRefused?: (reason: string) => void;
}): Promise<DesktopCore> {
  const hasConfig = existsSync(opts.configFile);
  const options: RunOptions = {
    configFile: hasConfig ? opts.configFile : undefined,
    sandbox: !hasConfig,
    dataDir: opts.dataDir,
    // The bundle lives in out/main, so the core's own default (relative to its source) is wrong here.
    rendererDir: opts.rendererDir,
  };
  const secrets = opts.secrets;
  if (hasConfig && secrets) {
    // Before validation: an enabled connector needs its token, a ReGate tenant its password.
    options.fill = (raw) => withStoredSecrets(raw, secrets, envSecrets());
    options.settingsStore = (loaded) =>
      new DesktopSettingsStore({
        file: opts.configFile,
        fileConfig: loaded.input,
        secrets,
        fromEnv: loaded.fromEnv,
        onRefused: opts.onSecretsRefused,
      });
  }
  const run = await startRun(options);
  return { ...run, sandboxMode: !hasConfig };
}

/** Dotted paths of secrets set by environment variables (they are never stored by the desktop). */
function envSecrets(): string[] {
  return SECRETS.filter((s) => (process.env[s.env] ?? '') !== '').map((s) => s.path.join('.'));
}
