import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { Store } from '../../store/index.ts';
import { searchKey } from '../../store/search-text.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import { cardExtra, cardSent, Cards, type CardRow } from './cards.ts';
import { view } from './routes.ts';
import { CARD_JOB, cardKey } from './worker.ts';
import { writeNow } from '../../store/write-now.ts';

const listQuery = z.object({
  q: z.string().max(200).optional(),
  state: z.enum(['queued', 'synced', 'failed']).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const adminView = (r: CardRow) => ({ ...view(r), name: r.name, phone: r.phone, email: r.email, birthday: r.birthday, updatedAt: toOnecDateTime(r.updated_at) });

/** Cards in the tray window: search, detail, retry. */
export function cardsAdmin(cards: Cards) {
  return (app: AdminApp) => {
    app.get('/api/cards', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query;
      const { rows, total } = cards.list({ state: q.state, search: searchKey(q.q ?? ''), offset: q.offset, limit: q.limit });
      return { cards: rows.map(adminView), total };
    });
    app.get<{ Params: { code: string } }>('/api/cards/:code', async (req) => {
      const row = cards.get(req.params.code);
      if (!row) throw errors.notFound('card_not_found', 'Такой карты нет в Спутнике');
      return { ...adminView(row), values: cardExtra(row), sent: cardSent(row) };
    });
  };
}

/** «Повторить» for a card: a failed card is queued again; a waiting one is sent now. */
export function retryCard(store: Store, cards: Cards, entity: string): { state: string } | null {
  if (!entity.startsWith('card:')) return null;
  const code = entity.slice('card:'.length);
  return writeNow(store, () => {
    const row = cards.get(code);
    if (!row) return null;
    const now = store.outbox.now();
    if (row.state === 'failed') {
      cards.save(row, { ...row, state: 'queued', last_error: null }, now);
      store.outbox.enqueue({ connector: 'passteam', kind: CARD_JOB, key: cardKey(code), payload: { code } });
    } else if (!store.outbox.retryNow(cardKey(code)) && row.state === 'queued') {
      store.outbox.enqueue({ connector: 'passteam', kind: CARD_JOB, key: cardKey(code), payload: { code } });
    }
    return { state: cards.existing(code).state };
  });
}
