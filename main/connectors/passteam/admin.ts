import { z } from 'zod';
import { errors } from '../../errors.ts';
import type { AdminApp } from '../../admin/app.ts';
import type { Store } from '../../store/index.ts';
import { likeContains, searchKey } from '../../store/search-text.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import { Cards, view, type CardRow } from './cards.ts';
import { CARD_JOB, cardKey } from './worker.ts';

const listQuery = z.object({
  q: z.string().max(200).optional(),
  state: z.enum(['queued', 'synced', 'failed']).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const adminView = (r: CardRow) => ({ ...view(r), name: r.name, phone: r.phone, email: r.email, birthday: r.birthday, updatedAt: toOnecDateTime(r.updated_at) });

/** Cards in the tray window: search, detail, retry. */
export function cardsAdmin(store: Store, cards: Cards) {
  const db = store.db;
  return (app: AdminApp) => {
    app.get('/api/cards', { schema: { querystring: listQuery } }, async (req) => {
      const q = req.query as z.infer<typeof listQuery>;
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
      if (q.state) (where.push('state = @state'), (params.state = q.state));
      const key = searchKey(q.q ?? '');
      if (key) {
        const digits = key.replace(/\D/g, '');
        // Code, name, e-mail, cardId in any case, ё as е (the search column, see SEARCH_TEXT.card).
        params.q = likeContains(key);
        // A phone in any spelling: its last 10 digits against the stored +7XXXXXXXXXX.
        params.phone = digits.length >= 4 ? `%${digits.slice(-10)}%` : null;
        where.push(`(search LIKE @q ESCAPE '\\' OR (@phone IS NOT NULL AND phone LIKE @phone))`);
      }
      const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const rows = db.prepare(`SELECT * FROM cards ${w} ORDER BY updated_at DESC, code LIMIT @limit OFFSET @offset`).all(params) as CardRow[];
      const total = db.prepare(`SELECT COUNT(*) FROM cards ${w}`).pluck().get(params) as number;
      return { cards: rows.map(adminView), total };
    });
    app.get('/api/cards/:code', async (req) => {
      const row = cards.get((req.params as { code: string }).code);
      if (!row) throw errors.notFound('card_not_found', 'Такой карты нет в Спутнике');
      return { ...adminView(row), values: JSON.parse(row.extra) as Record<string, string>, sent: row.sent ? (JSON.parse(row.sent) as Record<string, string>) : null };
    });
  };
}

/** «Повторить» for a card: a failed card is queued again; a waiting one is sent now. */
export function retryCard(store: Store, cards: Cards, entity: string): { state: string } | null {
  if (!entity.startsWith('card:')) return null;
  const code = entity.slice('card:'.length);
  return store.db.transaction(() => {
    const row = cards.get(code);
    if (!row) return null;
    const now = store.outbox.now();
    if (row.state === 'failed') {
      cards.save(row, { ...row, state: 'queued', last_error: null }, now);
      store.outbox.enqueue({ connector: 'passteam', kind: CARD_JOB, key: cardKey(code), payload: { code } });
    } else if (!store.outbox.retryNow(cardKey(code)) && row.state === 'queued') {
      store.outbox.enqueue({ connector: 'passteam', kind: CARD_JOB, key: cardKey(code), payload: { code } });
    }
    return { state: cards.get(code)!.state };
  })();
}
