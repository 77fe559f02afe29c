import { DeliveryError } from '../../errors.ts';
import { prop } from '../../unknown.ts';
import type { Config } from '../../config/schema.ts';
import type { Job } from '../../store/outbox.ts';
import type { JobContext, JobDone } from '../../store/worker-pool.ts';
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
 *
 * A run reads the card once and builds its variables once; Passteam's answer (or the error) is
 * written with the job's outcome, in one transaction. Before a createcard something durable must
 * say that a create may be in flight: the lease itself when it is on disk (leased with the intake,
 * or with a durable completion; a run cut off then leaves the job with `attempts > 0`), otherwise
 * the card's `create_unsure`, written first; a run a stop cut short writes it as it goes back.
 */
export function cardDeliverer(deps: { store: Store; cards: Cards; client: PassteamClient; config: () => Config['passteam'] }) {
  const { store, cards, client } = deps;
  const now = () => store.outbox.now();

  // Updates are idempotent (relaxed completion); a create is not, so its completion is durable.
  return async function deliver(job: Job, ctx: JobContext): Promise<void | JobDone> {
    const cfg = deps.config();
    if (!cfg.enabled) throw new DeliveryError('auth', 'passteam_disabled', 'Passteam выключен в настройках: карты ждут включения');
    const code = prop(job.payload, 'code');
    // Sputnik enqueues `{ code }` itself: anything else is its own fault, retried like one.
    if (typeof code !== 'string') throw new Error(`${CARD_JOB} job ${job.id} has no card code`);
    const stored = cards.get(code);
    if (!stored) return;
    let card = stored;
    const vars = desiredVars(card, cfg.fields);
    // Whether a createcard of this run may have reached Passteam: undefined until one is sent.
    let createMayHaveReached: boolean | undefined;
    ctx.onFailure((error, outcome) => cards.setError(card, error, { failed: outcome === 'failed', createUnsure: createMayHaveReached }, now()));
    // A stop that cuts a create short puts the job back with its attempts unchanged: the card says it instead.
    ctx.onInterrupt(() => {
      if (createMayHaveReached && card.create_unsure !== 1) cards.setCreateUnsure(card, now());
    });
    const call = { entity: cardKey(code), jobId: job.id, signal: ctx.signal };
    let remote: RemoteCard | undefined;
    let cardId = card.card_id;
    if (!cardId) {
      const phone = card.phone;
      if (!phone) {
        throw new DeliveryError('refused', 'phone_required', 'Для карты в Passteam нужен мобильный телефон владельца: укажите его в карточке карты в 1С и запишите её ещё раз', {
          status: 422,
          field: 'holder.phone',
        });
      }
      // An earlier create of this card may have reached Passteam: its answer was lost, or its run was cut off.
      const unsure = card.create_unsure === 1 || job.attempts > 0;
      if (unsure) {
        const found = await client.findCards({ [cfg.fields.phone]: phone }, call);
        if (found && found.length > 0) cardId = found[0].cardId; // our lost create: adopt it
        if (found && found.length > 0 && found[0].cardUrl) remote = found[0];
      }
      if (!cardId) {
        // Durable before the call: a crash or a lost answer from here on makes the next attempt look first.
        if (!ctx.durable && card.create_unsure !== 1) {
          const read = card;
          card = await store.write(() => cards.setCreateUnsure(read, now()), { durability: 'durable' });
        }
        createMayHaveReached = true;
        try {
          remote = await client.createCard(vars, call);
        } catch (e) {
          if (e instanceof DeliveryError && e.outcome === 'refused') {
            if (e.code === 'phone_taken' && unsure) {
              throw new DeliveryError(
                'refused',
                'create_uncertain',
                'Passteam говорит, что телефон уже занят, а прошлый ответ на создание этой карты потерялся: возможно, карта уже создана. Найдите её в кабинете Passteam по телефону и проверьте, прежде чем сохранять карту снова.',
                { status: 409 },
              );
            }
            createMayHaveReached = false; // definitely not created
            if (e.code === 'phone_taken') throw phoneTaken(e, phone, cards.holderOf(phone, code));
          }
          throw e;
        }
        const [read, created] = [card, remote];
        return { record: () => void cards.acknowledged(read, vars, created, cfg.fields, now()) };
      }
    }
    const read = card;
    if (passteamHas(read, vars) && read.card_id === cardId) {
      const known = { cardId, cardUrl: read.card_url, installed: read.installed === null ? null : read.installed === 1 };
      return { record: () => void cards.acknowledged(read, vars, known, cfg.fields, now()), durability: 'relaxed' };
    }
    const updated = await client.updateCard(cardId, vars, call);
    const answer = { ...updated, cardUrl: updated.cardUrl ?? remote?.cardUrl ?? null };
    return { record: () => void cards.acknowledged(read, vars, answer, cfg.fields, now()), durability: 'relaxed' };
  };
}
