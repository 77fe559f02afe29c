import type { AddressInfo } from 'node:net';
import { parseConfig } from '../main/config/load.ts';
import type { ConfigInput } from '../main/config/schema.ts';
import { createCore, type Core, type RunningCore } from '../main/core/index.ts';
import type { StoreOptions } from '../main/store/index.ts';
import { passteamModule } from '../main/connectors/passteam/index.ts';
import { startFakePassteam, type FakePassteam } from '../main/sandbox/passteam/fake.ts';
import { fmt, withTempDir, type BenchResult } from './common.ts';
import { echoServer, load, P1_CONNECTIONS, P1_SECONDS as SECONDS, P1_WARMUP as WARMUP, row, type Load } from './http-load.ts';
export { P1_CONNECTIONS };

/**
 * P1 on the specified route: `PUT /v1/cards/{code}?wait=0` → 202 after the commit, unique codes,
 * 10 keep-alive connections from a separate load process (bench/load.ts), against a node:http
 * JSON echo measured in the same run. Delivery must not compete with intake, so the connector's
 * remote is the fake Passteam switched off (`setDown(true)`: the connector goes `failing` and only
 * probes); a second row repeats it with the connector `paused` (the fake refuses the token).
 */
export const PT_TOKEN = 'pt-bench-token';

// A card save as 1C sends it, ~340 bytes. load.ts sends one body for all requests, so every card
// has the same phone: irrelevant to intake (Passteam's unique check is remote; nothing is delivered).
export const CARD_BODY = JSON.stringify({
  holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: '+7 (987) 654-32-10', email: 'ivanov.ivan@example.ru' },
  bonus: '1 250,50',
  values: { DISCOUNT: '5', CITY: 'Екатеринбург', SHOP: 'ТЦ Гринвич, 3 этаж', LEVEL: 'Золотая', MANAGER: 'Сидорова Е.'  },
});

/** The real core with the Passteam connector pointed at `fake`, in a temp data dir. */
export async function withCardsCore<T>(
  fake: FakePassteam,
  passteam: NonNullable<ConfigInput['passteam']>,
  fn: (core: Core, running: RunningCore) => Promise<T>,
  store: StoreOptions = {},
): Promise<T> {
  return withTempDir(async (dataDir) => {
    const { config } = parseConfig(
      { listener: { port: 0 }, ui: { port: 0 }, passteam: { enabled: true, baseUrl: fake.url, token: PT_TOKEN, templateId: 'tpl-loyalty', ...passteam } },
      {},
    );
    const core = await createCore({ config, dataDir, modules: [passteamModule], quiet: true, outbox: store });
    const running = await core.start();
    try {
      return await fn(core, running);
    } finally {
      await core.stop(1000);
    }
  });
}


async function cards(mode: 'down' | 'paused'): Promise<Load & { commits: number; state: string; delivered: number; queued: number }> {
  // Paused: the fake expects another token, so the first delivery is refused and the connector pauses.
  const fake = await startFakePassteam({ token: mode === 'paused' ? 'some-other-token' : PT_TOKEN });
  if (mode === 'down') fake.setDown(true);
  try {
    return await withCardsCore(fake, {}, async (core, running) => {
      const l = await load({ url: running.listenerUrl, method: 'PUT', path: '/v1/cards/c{i}?wait=0', token: running.listenerToken, body: CARD_BODY });
      const queued = core.store.sql.value<number>(`SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND kind <> 'recurring'`) ?? 0;
      return {
        ...l,
        commits: core.store.commit.batches,
        state: core.health().connectors!.passteam.state,
        delivered: fake.cards().length,
        queued,
      };
    });
  } finally {
    await fake.stop();
  }
}

export async function benchP1Cards(): Promise<BenchResult> {
  const echo = await echoServer();
  const base = await load({ url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}`, method: 'POST', path: '/echo', body: CARD_BODY });
  await new Promise((r) => echo.close(r));

  const down = await cards('down');
  const paused = await cards('paused');

  const ratio = down.requests / base.requests;
  const p99 = down.latenciesMs[1];
  return {
    id: 'p1-cards',
    title: `P1 durable ack on PUT /v1/cards/{code}?wait=0: ${P1_CONNECTIONS} keep-alive connections, ${SECONDS} s (+${WARMUP} s warm-up), ${Buffer.byteLength(CARD_BODY)}-byte JSON, unique codes`,
    rows: [
      row('node:http JSON echo (baseline)', base, base),
      row('PUT /v1/cards → 202, fake Passteam down', down, base),
      row('  same, connector paused (diagnostic)', paused, base),
    ],
    notes: [
      `Delivery kept out of the way: Passteam fake down (connector ended "${down.state}", it only probes; ${down.delivered} cards reached the fake) — the headline row; ` +
        `second row: fake refuses the token, connector "${paused.state}" (no calls after the first).`,
      `Cards queued at the end: ${fmt(down.queued)} / ${fmt(paused.queued)}; group commits (incl. warm-up): ${fmt(down.commits)} / ${fmt(paused.commits)}.`,
      'One body for every request (bench/load.ts), so all cards share a phone; intake does not check phones across cards.',
    ],
    summary: `P1 cards ratio ${fmt(ratio, 2)} (target ≥ 0.33) ${ratio >= 1 / 3 ? 'MET' : 'MISSED'}; p99 ${fmt(p99, 2)} ms (target ≤ 5) ${p99 <= 5 ? 'MET' : 'MISSED'}`,
  };
}
