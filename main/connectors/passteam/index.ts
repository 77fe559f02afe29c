import type { ModuleFactory } from '../../core/module.ts';
import type { ConnectorCheck } from '../../core/check.ts';
import { DeliveryError } from '../../errors.ts';
import { PassteamClient } from './client.ts';
import { Cards } from './cards.ts';
import { cardRoutes } from './routes.ts';
import { cardsAdmin, retryCard } from './admin.ts';
import { cardDeliverer } from './worker.ts';
import { cardCallSubjects, cardsAttention } from './attention.ts';

/** Passteam loyalty cards: 1C's card saves and bonus changes become Wallet cards, durably. */
export const passteamModule: ModuleFactory = (ctx) => {
  const cards = new Cards(ctx.store);
  const config = () => ctx.config().passteam;
  const client = new PassteamClient(ctx.http, config);
  return {
    name: 'passteam',
    connector: 'passteam',
    routes: cardRoutes(ctx, cards),
    admin: cardsAdmin(cards),
    retry: (entity) => retryCard(ctx.store, cards, entity),
    attention: cardsAttention(cards),
    callSubjects: cardCallSubjects(cards),
    workers: { connector: 'passteam', concurrency: config().concurrency, handle: cardDeliverer({ store: ctx.store, cards, client, config }) },
  };
};

/** «Проверить соединение» / `sputnik check` tried a token Passteam refused: only that try failed, nothing is paused. */
export const TRIED_TOKEN_REFUSED = 'Passteam не принял токен: проверьте его в личном кабинете Passteam';

// `sputnik check`: the token and template are tried with a read-only call (an ASSUMED method, see client.ts).
export const check: ConnectorCheck = async (config, http) => {
  const client = new PassteamClient(http, () => config.passteam);
  try {
    const found = await client.findCards({});
    if (found === null) return { ok: true, message: 'сервер отвечает; проверить токен без изменения карт этот сервер не позволяет' };
    return { ok: true, message: `токен и шаблон ${config.passteam.templateId} приняты` };
  } catch (e) {
    // The client's wording is for the token in use, whose refusal pauses sending; a check pauses nothing.
    if (e instanceof DeliveryError && e.outcome === 'auth') return { ok: false, message: TRIED_TOKEN_REFUSED };
    return { ok: false, message: e instanceof DeliveryError ? e.message : String(e) };
  }
};
