import type { AttentionList } from '../core/attention-shape.ts';
import { toOnecDateTime } from '../listener/onec-values.ts';
import type { StoreHealth } from './repos/index.ts';

/**
 * ReGate's line in «Требует внимания»: its shared store (PostgreSQL) out of reach. Until it is
 * back Richest.store gets 503 for every write and every read not in the cache, so the operator
 * should know at a glance, not only from the red line in Обзор. The gateway reconnects by itself:
 * the item goes when it has. Sputnik's own SQLite store is never listed (it is the core's).
 */
export function regateAttention(store: StoreHealth): AttentionList {
  if (store.kind !== 'postgres' || store.state === 'up' || store.since === null) return { items: [], total: 0 };
  return {
    total: 1,
    items: [
      {
        kind: 'connector',
        ref: 'connector:regate-store',
        title: 'ReGate: общее хранилище (PostgreSQL)',
        reason:
          `${store.reason ?? 'PostgreSQL недоступен'}. Пока его нет, шлюз отвечает Richest.store из кеша, ` +
          'а на записи и остальные чтения — 503 (Richest.store повторит их позже); Спутник подключается снова сам',
        action: { type: 'instruction', label: 'Проверьте, что сервер PostgreSQL запущен и доступен с этого компьютера по адресу из настройки regate.store.url' },
        since: toOnecDateTime(store.since),
      },
    ],
  };
}
