import { z } from 'zod';
import { SputnikError, errors } from '../../errors.ts';
import type { ListenerApp } from '../../listener/app.ts';
import { onecDate, onecDecimal, onecKey, onecText, pageLimit, toOnecDateTime } from '../../listener/onec-values.ts';
import type { JobError } from '../../store/outbox.ts';
import { feedNext, feedStart } from '../../core/feed.ts';
import { waitQuery } from '../../core/wait.ts';
import type { ModuleContext } from '../../core/module.ts';
import { normalizePhone } from './phone.ts';
import { cardError, Cards, desiredVars, passteamHas, type CardPatch, type CardRow } from './cards.ts';
import { CARD_JOB, cardKey } from './worker.ts';
import { documented, documentedBody, exampled } from '../../listener/openapi.ts';
import { INVALID_CURSOR, onecError, onecErrors } from '../../listener/error-docs.ts';
import { CARDS_TAG } from './module.ts';
import * as EX from './examples.ts';

const FEED = 'cards';

/** A card as 1C gets it (GET, PUT, the feed), with 1C's local date-time. */
export interface CardView {
  code: string;
  state: CardRow['state'];
  cardId: string | null;
  cardUrl: string | null;
  installed: boolean | null;
  bonus: number | null;
  updatedAt: string;
  lastError: JobError | null;
}

export function view(row: CardRow): CardView {
  return {
    code: row.code,
    state: row.state,
    cardId: row.card_id,
    cardUrl: row.card_url,
    installed: row.installed === null ? null : row.installed === 1,
    bonus: row.bonus === null ? null : Number(row.bonus),
    updatedAt: toOnecDateTime(row.updated_at),
    lastError: cardError(row),
  };
}
/**
 * Bonus changes settle this long before they are sent: a burst (a receipt posting many register
 * records, a bulk accrual) becomes one updatecard with the last balance. A card save is not delayed.
 */
export const BONUS_SETTLE_MS = 1000;
const codeParam = z.object({ code: exampled(onecKey().describe('КодКарты из 1С (номер или UUID)'), '2000000012345') });

/**
 * Text that may be cleared: null or "" clears it, absent keeps it. `.nullable()`, not a union with
 * z.null(): in a union the OpenAPI transform may drop the text branch and document "null only".
 */
const clearable = (schema: z.ZodType<string>) => schema.nullable().optional();

const phone = onecText({ max: 40 }).transform((v, ctx) => {
  if (v === '') return null;
  const p = normalizePhone(v);
  if (p === null) {
    ctx.addIssue({ code: 'custom', message: `«${v}» — не номер телефона (пример: +7 987 654-32-10 или 89876543210)`, input: v });
    return z.NEVER;
  }
  return p;
});
const email = onecText({ max: 200 }).refine((v) => v === '' || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), 'не адрес электронной почты');

export const cardBody = z.strictObject({
  holder: z
    .strictObject({
      name: clearable(onecText({ max: 300 })),
      birthday: z.union([onecDate(), z.null()]).optional(),
      phone: z.union([phone, z.null()]).optional(),
      email: clearable(email),
    })
    .optional(),
  bonus: z.union([onecDecimal({ emptyIsZero: true }), z.null()]).optional().describe('Бонусный баланс (абсолютное значение)'),
  values: z
    .record(z.string().min(1).max(64), z.union([z.string().max(2000), z.number(), z.boolean()]))
    .optional()
    .describe('Дополнительные переменные шаблона Passteam как есть: {"DISCOUNT": "5"}'),
  cardId: onecText({ max: 64 })
    .nullable()
    .optional()
    .describe('cardId, который уже записан в карте 1С (карта создана в Passteam прежней интеграцией): Спутник обновит её, а не создаст новую'),
});

export const bonusBody = z.strictObject({ balance: onecDecimal({ emptyIsZero: true }).describe('Новый бонусный баланс карты (абсолютный, не прибавка)') });

const cardView = z.object({
  code: z.string(),
  state: z.enum(['queued', 'synced', 'failed']).describe('queued — ждёт отправки; synced — в Passteam то же, что в 1С; failed — Passteam отказал (см. lastError)'),
  cardId: z.string().nullable(),
  cardUrl: z.string().nullable(),
  installed: z.boolean().nullable(),
  bonus: z.number().nullable(),
  updatedAt: z.string().describe('Локальное время, YYYY-MM-DDTHH:MM:SS'),
  lastError: z.object({ code: z.string(), message: z.string() }).nullable(),
});

/** Refusals a card's delivery may end in (the answer when the wait outlasts Passteam's reply). */
const PASSTEAM_REFUSALS = [
  onecError(
    new SputnikError(409, 'phone_taken', 'Этот номер телефона уже привязан к другой карте в Passteam: проверьте телефон владельца карты', { field: 'holder.phone' }),
    'телефон уже у другой карты в Passteam: проверьте телефон владельца',
  ),
  onecError(
    new SputnikError(
      409,
      'create_uncertain',
      'Passteam говорит, что телефон уже занят, а прошлый ответ на создание этой карты потерялся: возможно, карта уже создана. Найдите её в кабинете Passteam по телефону и проверьте, прежде чем сохранять карту снова.',
    ),
    'ответ Passteam на создание потерялся, а телефон уже занят: возможно, карта создана — проверьте в кабинете Passteam',
  ),
  onecError(
    new SputnikError(422, 'passteam_1007', 'Passteam отклонил updatecard (код 1007: Card is blocked)'),
    'Passteam отклонил карту: passteam_<код Passteam>, текст Passteam — в message (также passteam_method_unknown)',
  ),
];
const phoneRequired = onecError(
  new SputnikError(422, 'phone_required', 'Для создания карты в Passteam нужен номер мобильного телефона владельца (holder.phone)', { field: 'holder.phone' }),
  'новой карте (без cardId) нужен телефон владельца: holder.phone',
);
const cardView200 = (what: string) => documented(cardView, what, { synced: { summary: 'Доставлена в Passteam', value: EX.SYNCED } });

function toPatch(body: z.output<typeof cardBody>): CardPatch {
  const nul = (v: string | null | undefined) => (v === undefined ? undefined : v === '' ? null : v);
  const patch: CardPatch = {
    name: nul(body.holder?.name),
    birthday: body.holder?.birthday,
    phone: body.holder?.phone,
    email: nul(body.holder?.email),
    bonus: body.bonus,
    knownCardId: body.cardId || undefined,
  };
  if (body.values) {
    patch.extra = {};
    for (const [k, v] of Object.entries(body.values)) patch.extra[k.replace(/^%|%$/g, '')] = String(v);
  }
  return patch;
}

/**
 * A card Sputnik can deliver: one 1C has sent by PUT (which needs a phone or a cardId). A row with
 * neither holds only a balance that an earlier version kept for a card never sent.
 */
function deliverable(row: CardRow | undefined): boolean {
  return row !== undefined && (row.card_id !== null || row.phone !== null);
}

/**
 * A balance alone cannot make a Passteam card (no phone, no cardId): refused at the door so 1C sends
 * the card (with the cardId it has) and then the balance again, instead of a card that fails later.
 */
function cardUnknown(code: string): SputnikError {
  return new SputnikError(
    409,
    'card_unknown',
    `Карта ${code} ещё не передана в Спутник: запишите карту или выполните «Передать все карты в Спутник», затем отправьте баланс снова`,
  );
}

function refusal(row: CardRow): SputnikError {
  const e = cardError(row) ?? { code: 'passteam_refused', message: 'Passteam отказал' };
  const status = e.code === 'phone_taken' || e.code === 'create_uncertain' ? 409 : 422;
  return new SputnikError(status, e.code, e.message, { field: e.code.startsWith('phone') ? 'holder.phone' : undefined });
}

/** Loyalty-card routes (listener-api.md, "Loyalty cards (Passteam)"). */
export function cardRoutes(ctx: ModuleContext, cards: Cards) {
  const { store } = ctx;
  const fields = () => ctx.config().passteam.fields;

  /** Stores a change and queues delivery unless Passteam already has exactly this. */
  async function accept(code: string, patch: CardPatch, opts: { requirePhone: boolean; requireCard?: boolean; settleMs?: number }): Promise<{ row: CardRow; jobId: number | null }> {
    return store.write(() => {
      const now = store.outbox.now();
      if (opts.requireCard && !deliverable(cards.get(code))) throw cardUnknown(code);
      const { before, after } = cards.merge(code, patch, now);
      if (opts.requirePhone && !after.card_id && !after.phone) {
        throw new SputnikError(422, 'phone_required', 'Для создания карты в Passteam нужен номер мобильного телефона владельца (holder.phone)', { field: 'holder.phone' });
      }
      if (before && after.card_id && after.state !== 'failed' && passteamHas(after, desiredVars(after, fields()))) {
        return { row: cards.save(before, after, now), jobId: null }; // Passteam already has this
      }
      after.state = 'queued';
      after.last_error = null;
      const row = before ? cards.save(before, after, now) : after;
      const job = store.outbox.enqueue({ connector: 'passteam', kind: CARD_JOB, key: cardKey(code), payload: { code }, runAt: now + (opts.settleMs ?? 0) });
      return { row, jobId: job?.id ?? null };
    }, { durability: 'durable' });
  }

  async function answer(code: string, accepted: { row: CardRow; jobId: number | null }, wait: number, reply: { code(n: number): unknown }) {
    const { jobId } = accepted;
    if (jobId !== null && wait <= 0) {
      reply.code(202); // wait=0 never blocks the operator
      return view(accepted.row);
    }
    if (jobId !== null) {
      const r = await ctx.waits.wait(cardKey(code), jobId, wait);
      const row = cards.existing(code);
      if (r.outcome === 'failed') throw refusal(row);
      reply.code(r.outcome === 'done' && row.state === 'synced' ? 200 : 202);
      return view(row);
    }
    const row = cards.existing(code);
    reply.code(row.state === 'synced' ? 200 : 202);
    return view(row);
  }

  return (app: ListenerApp) => {
    app.put(
      '/v1/cards/:code',
      {
        schema: {
          summary: 'Создать или обновить карту Passteam',
          description:
            'Сохраняет состояние карты и отправляет в Passteam всё объединённое состояние (createcard без cardId, иначе updatecard). ' +
            'Ждёт ответа Passteam до wait секунд (по умолчанию 5): 200 — готово, 202 — в очереди, 409 phone_taken, 422 phone_required.',
          params: codeParam,
          querystring: z.object({ wait: exampled(waitQuery(5), 5) }),
          operationId: 'putCard',
          tags: [CARDS_TAG],
          body: documentedBody(cardBody, {
            description: 'Состояние карты из 1С; отсутствующее поле не меняется, null или "" — очищает',
            examples: {
              full: { summary: 'Новая карта, все поля', value: EX.CARD },
              old: { summary: 'Карта, созданная прежней интеграцией (cardId из 1С)', value: EX.OLD_CARD },
            },
            forms: { full: { summary: 'Новая карта формой', value: EX.CARD_FORM } },
          }),
          response: {
            200: documented(cardView, 'Passteam принял: в cardId и cardUrl — его карта', {
              synced: { summary: 'Доставлена в Passteam', value: EX.SYNCED },
              installed: { summary: 'Уже установлена в кошельке', value: EX.INSTALLED },
            }),
            202: documented(cardView, 'Сохранена, Passteam ещё не ответил за wait секунд (state queued): Спутник доставит сам, cardId придёт в GET /v1/cards', {
              queued: { summary: 'Новая карта ждёт Passteam', value: EX.QUEUED_NEW },
            }),
            ...onecErrors([...PASSTEAM_REFUSALS, phoneRequired], { body: true, write: true }),
          },
        },
      },
      async (req, reply) => {
        const { code } = req.params;
        const accepted = await accept(code, toPatch(req.body), { requirePhone: true });
        return answer(code, accepted, req.query.wait, reply);
      },
    );

    app.post(
      '/v1/cards/:code/bonus',
      {
        schema: {
          summary: 'Новый бонусный баланс карты',
          description:
            'Абсолютный баланс (повтор безвреден). Отвечает 202 сразу; изменения за 1 с объединяются: в Passteam уходит последнее. ' +
            'Карту, которую Спутник ещё не получал (PUT /v1/cards/{code}), он не создаёт из баланса: 409 card_unknown, ничего не сохранено — передайте карту, затем баланс.',
          params: codeParam,
          querystring: z.object({ wait: exampled(waitQuery(0), 0) }),
          operationId: 'postBonus',
          tags: [CARDS_TAG],
          body: documentedBody(bonusBody, {
            description: 'Новый баланс',
            examples: { number: { summary: 'Число', value: { balance: 1300.5 } }, text: { summary: 'Как пишет Формат() в 1С', value: { balance: '1 300,5' } } },
            forms: { form: { summary: 'Формой', value: { balance: '1 300,5' } } },
          }),
          response: {
            200: cardView200('Passteam принял новый баланс (только с wait > 0)'),
            202: documented(cardView, 'Сохранён и будет отправлен (по умолчанию отвечает сразу)', { queued: { summary: 'Баланс ждёт отправки', value: EX.QUEUED_BONUS } }),
            ...onecErrors(
              [
                onecError(cardUnknown('2000000012345'), 'карту Спутник ещё не получал (PUT /v1/cards/{code}): ничего не сохранено — передайте карту, затем баланс'),
                ...PASSTEAM_REFUSALS,
              ],
              { body: true, write: true },
            ),
          },
        },
      },
      async (req, reply) => {
        const { code } = req.params;
        const accepted = await accept(code, { bonus: req.body.balance }, { requirePhone: false, requireCard: true, settleMs: BONUS_SETTLE_MS });
        return answer(code, accepted, req.query.wait, reply);
      },
    );

    app.get(
      '/v1/cards/:code',
      {
        schema: {
          summary: 'Состояние карты',
          params: codeParam,
          operationId: 'getCard',
          tags: [CARDS_TAG],
          response: {
            200: documented(cardView, 'Карта, как её знает Спутник', {
              synced: { summary: 'Доставлена', value: EX.SYNCED },
              failed: { summary: 'Passteam отказал (lastError)', value: EX.FAILED },
            }),
            ...onecErrors([onecError(errors.notFound('card_not_found', 'Такой карты нет в Спутнике: она ещё не передавалась из 1С'), 'карта ещё не передавалась из 1С')]),
          },
        },
      },
      async (req) => {
        const row = cards.get(req.params.code);
        if (!row) throw errors.notFound('card_not_found', 'Такой карты нет в Спутнике: она ещё не передавалась из 1С');
        return view(row);
      },
    );

    app.get(
      '/v1/cards',
      {
        schema: {
          summary: 'Изменившиеся карты (для регламентного задания 1С)',
          description: 'Карты, у которых изменились cardId, cardUrl, installed или state, от старых к новым. changedSince — значение next из прошлого ответа или дата.',
          querystring: z.object({
            changedSince: exampled(z.string().max(200).optional().describe('next из прошлого ответа, дата (17.05.2026 10:00:00) или пусто — с начала'), '', 'Y2FyZHM6NQ'),
            limit: exampled(pageLimit(1000, 100), 100),
          }),
          operationId: 'listChangedCards',
          tags: [CARDS_TAG],
          response: {
            200: documented(z.object({ cards: z.array(cardView), next: z.string().describe('Курсор для следующего вызова (changedSince)') }), 'Изменившиеся карты; пустой список — изменений нет', {
              page: { summary: 'Изменения', value: { cards: [EX.INSTALLED, EX.FAILED], next: 'Y2FyZHM6NQ' } },
              empty: { summary: 'Изменений нет', value: { cards: [], next: 'Y2FyZHM6NQ' } },
            }),
            ...onecErrors([INVALID_CURSOR]),
          },
        },
      },
      async (req) => {
        const { changedSince, limit } = req.query;
        const start = feedStart(FEED, changedSince);
        const rows = cards.changed(start.after, start.sinceMs, limit);
        return { cards: rows.map(view), next: feedNext(FEED, rows, start, () => cards.head()) };
      },
    );
  };
}

