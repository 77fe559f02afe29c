/**
 * One run of bench/slow-disk.ts, in its own process so the fsync shim (LD_PRELOAD) applies to it:
 *   node bench/slow-disk-child.ts in-commit|thread-pool
 * P1 cards (fake Passteam down) with the event loop's delay recorded; prints one JSON line.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startFakePassteam } from '../main/sandbox/passteam/fake.ts';
import { load } from './http-load.ts';
import { CARD_BODY, PT_TOKEN, withCardsCore } from './p1-cards.ts';

const fsyncInCommit = process.argv[2] === 'in-commit';
const fake = await startFakePassteam({ token: PT_TOKEN });
fake.setDown(true);
const out = await withCardsCore(
  fake,
  {},
  async (core, running) => {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const l = await load({ url: running.listenerUrl, method: 'PUT', path: '/v1/cards/c{i}?wait=0', token: running.listenerToken, body: CARD_BODY });
    delay.disable();
    return { ...l, commits: core.store.commit.batches, loopDelayMs: [delay.percentile(50) / 1e6, delay.percentile(99) / 1e6, delay.max / 1e6] };
  },
  { fsyncInCommit },
);
await fake.stop();
process.stdout.write(`${JSON.stringify(out)}\n`);
