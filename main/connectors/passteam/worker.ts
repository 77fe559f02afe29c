import { DeliveryError } from '../../errors.ts';
import type { Config } from '../../config/schema.ts';
import type { Job } from '../../store/outbox.ts';
import type { JobDone } from '../../store/worker-pool.ts';
import type { Store } from '../../store/index.ts';
import type { PassteamClient, RemoteCard } from './client.ts';
import { Cards, desiredVars, passteamHas } from './cards.ts';

export const CARD_JOB = 'card.sync';

/** Passteam's «phone taken», naming the card of ours that has this phone, when there is one. */
function phoneTaken(e: DeliveryError, phone: string, holder: string | null): DeliveryError {
  if (!holder) return e;
  return new DeliveryError(
    'refused',
    'phone_taken',
    `Этот номер телефона уже привязан к другой карте в Passteam — телефон ${phone} у карты ${holder}. Укажите владельцу его собственный мобильный номер в 1С и запишите карту ещё раз`,
    { status: 409, cause: e },
  );
}
export const cardKey = (code: string) => `card:${code}`;

/**
 * Delivers one card's merged state: createcard while Passteam has no cardId for it, updatecard
 * otherwise, nothing when Passteam already has exactly these values. A create whose answer was
 * lost (timeout, reset after Passteam processed it) leaves the card "unsure": before creating
 * again the worker looks the card up by phone and adopts it, so one 1C card never gets two
 * Wallet cards; where the lookup is impossible and Passteam then says the phone is taken, the
 * card is marked for the operator instead of guessed.
 */
export function cardDeliverer(deps: { store: Store; cards: Cards; client: PassteamClient; config: () => Config['passteam'] }) {
  const { store, cards, client } = deps;
  const now = () => store.outbox.now();

  // Each success returns the record of Passteam's answer; the pool commits it with the job's completion.
  // Updates are idempotent (repeatable); a create is not, so its completion is fsynced.
  return async function deliver(job: Job, ctx: { signal: AbortSignal }): Promise<void | JobDone> {
    const cfg = deps.config();
    if (!cfg.enabled) throw new DeliveryError('auth', 'passteam_disabled', 'Passteam выключен в настройках: карты ждут включения');
    const code = (job.payload as { code: string }).code;
    const card = cards.get(code);
    if (!card) return;
    const vars = desiredVars(card, cfg.fields);
    const call = { entity: cardKey(code), jobId: job.id, signal: ctx.signal };
    try {
      let remote: RemoteCard | undefined;
      let cardId = card.card_id;
      if (!cardId) {
        if (!card.phone) {
          throw new DeliveryError('refused', 'phone_required', 'Для карты в Passteam нужен мобильный телефон владельца: укажите его в карточке карты в 1С и запишите её ещё раз', {
            status: 422,
            field: 'holder.phone',
          });
        }
        if (card.create_unsure) {
          const found = await client.findCards({ [cfg.fields.phone]: card.phone }, call);
          if (found && found.length > 0) cardId = found[0].cardId; // our lost create: adopt it
          if (found && found.length > 0 && found[0].cardUrl) remote = found[0];
        }
        if (!cardId) {
          // Durable before the call: a crash or a lost answer from here on makes the next attempt look first.
          store.db.transaction(() => cards.setCreateUnsure(code, true, now()))();
          try {
            remote = await client.createCard(vars, call);
          } catch (e) {
            if (e instanceof DeliveryError && e.outcome === 'refused') {
              if (e.code === 'phone_taken' && card.create_unsure) {
                throw new DeliveryError(
                  'refused',
                  'create_uncertain',
                  'Passteam говорит, что телефон уже занят, а прошлый ответ на создание этой карты потерялся: возможно, карта уже создана. Найдите её в кабинете Passteam по телефону и проверьте, прежде чем сохранять карту снова.',
                  { status: 409 },
                );
              }
              store.db.transaction(() => cards.setCreateUnsure(code, false, now()))(); // definitely not created
              if (e.code === 'phone_taken') throw phoneTaken(e, card.phone, cards.holderOf(card.phone, code));
            }
            throw e;
          }
          const created = remote;
          return { record: () => void cards.acknowledged(code, vars, created, cfg.fields, now()) };
        }
      }
      if (passteamHas(card, vars) && card.card_id === cardId) {
        const known = { cardId, cardUrl: card.card_url, installed: card.installed === null ? null : card.installed === 1 };
        return { record: () => void cards.acknowledged(code, vars, known, cfg.fields, now()), durability: 'relaxed' };
      }
      const updated = await client.updateCard(cardId, vars, call);
      const answer = { ...updated, cardUrl: updated.cardUrl ?? remote?.cardUrl ?? null };
      return { record: () => void cards.acknowledged(code, vars, answer, cfg.fields, now()), durability: 'relaxed' };
    } catch (e) {
      const err = e instanceof DeliveryError ? e : null;
      const info = { code: err?.code ?? 'internal_error', message: err?.message ?? String((e as Error)?.message ?? e) };
      store.db.transaction(() => cards.setError(code, info, err?.outcome === 'refused', now()))();
      throw e;
    }
  };
}
