import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../main/config/load.ts';
import { createCore } from '../../main/core/index.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { openStore } from '../../main/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A connector whose deliveries take `ms` each; null: they never end. */
function slowModule(ms: number | null, started: string[]): ModuleFactory {
  return () => ({
    name: 'slow',
    workers: {
      connector: 'passteam',
      concurrency: 2,
      handle: async (job) => {
        started.push(job.key);
        await new Promise((r) => (ms === null ? undefined : setTimeout(r, ms)));
      },
    },
  });
}

// No upper bounds on real time: a grace period that must not be waited out is an hour, a delivery
// that must be cut short never ends, so a stop that waited for either would run into the test's timeout.

async function coreWith(dataDir: string, modules: ModuleFactory[]) {
  const { config } = parseConfig({ listener: { port: 0 }, ui: { port: 0 } }, {});
  const core = await createCore({ config, dataDir, modules, quiet: true });
  return { core, running: await core.start() };
}

describe('graceful stop', () => {
  it('stops intake, lets running work finish within the grace period, and closes the store', async () => {
    const dataDir = tempDir();
    const started: string[] = [];
    const { core, running } = await coreWith(dataDir, [slowModule(400, started)]);
    await core.store.commit.run(() => core.store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:1', payload: {} }));
    await expect.poll(() => started).toEqual(['card:1']);
    await core.stop(3_600_000);
    await expect(fetch(`${running.listenerUrl}/v1/health`)).rejects.toThrow(); // intake is closed
    const store = openStore(dataDir);
    expect(store.sql.value(`SELECT state FROM jobs WHERE key = 'card:1'`)).toBe('done');
    store.close();
  });

  it('work still running when the grace period ends goes back to the queue and runs after restart', async () => {
    const dataDir = tempDir();
    const started: string[] = [];
    const { core } = await coreWith(dataDir, [slowModule(null, started)]);
    await core.store.commit.run(() => core.store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: 'card:2', payload: {} }));
    await expect.poll(() => started).toEqual(['card:2']);
    await core.stop(300);
    const store = openStore(dataDir);
    expect(store.sql.value(`SELECT state FROM jobs WHERE key = 'card:2'`)).toBe('queued');
    store.close();

    const again: string[] = [];
    const second = await coreWith(dataDir, [slowModule(10, again)]);
    await expect.poll(() => again).toEqual(['card:2']); // picked up at once, not after a lease timeout
    await second.core.stop(1000);
  });
});
