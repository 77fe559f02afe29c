import { useState } from 'react';
import { api } from '../api.ts';
import { Empty, ErrorBox, Loading } from '../components/ui.tsx';
import { formatDateTime } from '../format.ts';
import { errorMessage, useResource } from '../hooks.ts';
import { useUi } from '../store.ts';
import type { AttentionItem, Meta } from '../types.ts';

/** The service's own kinds; a module's (a card, an invoice) are named by the service's meta. */
const KIND_LABELS: ReadonlyMap<string, string> = new Map([
  ['connector', 'Связь'],
  ['queue', 'Очередь'],
  ['refusal', 'Запрос из 1С не принят'],
]);

type Kinds = Meta['attention'] | undefined;
const moduleKind = (kinds: Kinds, kind: string) => (kinds && Object.hasOwn(kinds, kind) ? kinds[kind] : undefined);

/** Where the entity of an item is shown in full (on its module's page: cards, invoices). */
function detailHref(item: AttentionItem, kinds: Kinds): string | null {
  const [type, ...rest] = item.ref.split(':');
  const id = rest.join(':');
  const page = moduleKind(kinds, item.kind)?.page;
  return page && type === item.kind ? `#/${page}/${encodeURIComponent(id)}` : null;
}

function AttentionRow({ item, onChanged }: { item: AttentionItem; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (what: () => Promise<unknown>, doneText: string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await what();
      setDone(doneText);
      onChanged();
      void useUi.getState().refreshAttention();
      void useUi.getState().refreshHealth();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const { action } = item;
  const kinds = useUi((s) => s.meta?.attention);
  const href = detailHref(item, kinds);
  return (
    <li className={`attention-item attention-kind-${item.kind}`} aria-label={item.title}>
      <div className="attention-head">
        <span className="attention-title">{href ? <a href={href}>{item.title}</a> : item.title}</span>
        <span className="muted small">
          {KIND_LABELS.get(item.kind) ?? moduleKind(kinds, item.kind)?.title ?? item.kind} · с {formatDateTime(item.since)}
        </span>
      </div>
      <p className="attention-reason">{item.reason}</p>
      <div className="attention-action">
        {action.type === 'instruction' && (
          <p className="attention-fix">
            <strong>Что сделать:</strong> {action.label}
          </p>
        )}
        {action.type === 'open' && (
          <a className="button primary" href={action.href}>
            {action.label}
          </a>
        )}
        {action.type === 'call' && (
          <button type="button" className="primary" disabled={busy} onClick={() => void run(() => api.act(action.path, action.body), 'Сделано: Спутник пробует снова')}>
            {action.label}
          </button>
        )}
        {item.dismissible && (
          <button type="button" className="link-button" disabled={busy} onClick={() => void run(() => api.dismissAttention(item.ref), 'Убрано из списка')}>
            Убрать из списка
          </button>
        )}
      </div>
      {done && (
        <div className="ok-text small" role="status">
          {done}
        </div>
      )}
      {error && <div className="error">{error}</div>}
    </li>
  );
}

/** «Требует внимания»: everything that waits for the operator, each with what to do about it. */
export function AttentionPage() {
  const list = useResource((signal) => api.attention(200, signal), 'attention', 'attention');
  const data = list.data;
  return (
    <>
      <h2 className="page-title">Требует внимания</h2>
      <section className={`panel ${data && data.total > 0 ? 'panel-bad' : ''}`} aria-label="Требует внимания">
        {list.error && <ErrorBox message={list.error} onRetry={list.reload} />}
        {!data && !list.error && <Loading />}
        {data && data.items.length === 0 && <Empty text="Всё в порядке: ничего не ждёт ваших действий." />}
        {data && data.items.length > 0 && (
          <ul className="attention-list">
            {data.items.map((item) => (
              <AttentionRow key={item.ref} item={item} onChanged={list.reload} />
            ))}
          </ul>
        )}
        {data && data.total > data.items.length && (
          <p className="muted small">
            Показаны {data.items.length} из {data.total}: сначала исправьте эти, список дополнится сам.
          </p>
        )}
      </section>
    </>
  );
}
