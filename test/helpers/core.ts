import { afterEach } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import type { ConfigInput } from '../../main/config/schema.ts';
import { createCore, type Core, type CoreOptions, type RunningCore } from '../../main/core/index.ts';
import type { OutboxOptions } from '../../main/store/outbox.ts';
import { tempDir } from './tmp.ts';

export interface TestCore extends RunningCore {
  core: Core;
  dataDir: string;
  /** fetch against the listener with the Bearer token. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

const running: Core[] = [];

/** The real core on ephemeral loopback ports with a real SQLite file in a temp dir. */
export async function startTestCore(opts: { config?: ConfigInput; modules?: CoreOptions['modules']; dataDir?: string; sandbox?: boolean; outbox?: OutboxOptions } = {}): Promise<TestCore> {
  const dataDir = opts.dataDir ?? tempDir();
  const input = { ...opts.config, listener: { port: 0, ...opts.config?.listener }, ui: { port: 0, ...opts.config?.ui } };
  const { config } = parseConfig(input, {});
  const core = await createCore({ config, dataDir, modules: opts.modules, quiet: true, sandbox: opts.sandbox, outbox: opts.outbox });
  running.push(core);
  const r = await core.start();
  return {
    ...r,
    core,
    dataDir,
    api: (path, init = {}) =>
      fetch(r.listenerUrl + path, { ...init, headers: { Authorization: `Bearer ${r.listenerToken}`, ...(init.headers as Record<string, string>) } }),
  };
}

afterEach(async () => {
  for (const c of running.splice(0)) await c.stop(1000);
});
