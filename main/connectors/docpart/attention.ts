import { settingsLink, type AttentionList } from '../../core/attention.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import type { Outbox } from '../../store/outbox.ts';

/**
 * Docpart is pulled, not delivered: its last failed run is the item. Refused keys or logins need
 * the settings; anything else (the site down) can work on the next try, so «Загрузить сейчас».
 */
export function docpartAttention(outbox: Outbox, enabled: () => boolean): () => AttentionList {
  return () => {
    const s = outbox.connectorStatus('docpart');
    if (!enabled() || s.state === 'ok') return { items: [], total: 0 };
    const auth = s.lastError?.code === 'docpart_auth';
    return {
      total: 1,
      items: [
        {
          kind: 'connector',
          ref: 'connector:docpart',
          title: 'Docpart',
          reason: `Заказы Docpart не загружаются: ${s.lastError?.message ?? 'сайт не отвечает'}. В 1С уходят заказы из последней удачной загрузки`,
          action: auth ? settingsLink('docpart') : { type: 'call', label: 'Загрузить сейчас', path: '/api/docpart/sync' },
          since: toOnecDateTime(s.since ?? outbox.now()),
        },
      ],
    };
  };
}
