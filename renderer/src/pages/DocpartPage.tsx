import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from '../api.ts';
import { Detail, DetailPanel, ErrorBox, ListState, Loading, MoreButton, Pre } from '../components/ui.tsx';
import { docpartPaidLabel, docpartStatusLabel, docpartUserFields, formatCount, formatDateTime, formatMoney } from '../format.ts';
import { errorMessage, go, useDebounced, useLive, usePagedList, useResource } from '../hooks.ts';
import type { DocpartOrder, DocpartSyncView } from '../types.ts';

const STAGES: Record<string, string> = { items: 'заказы и строки', payments: 'движения по балансу' };

type Item = Record<string, unknown>;
const has = (v: unknown) => v !== null && v !== undefined && v !== '';
const str = (v: unknown) => (has(v) ? String(v) : '');

/**
 * An order line's columns. The name, maker and article share one cell, the price sits under the
 * sum, long texts wrap: the table fits the detail panel at 1366 px (every field is still under
 * «Все поля строк»).
 */
const ITEM_COLUMNS: Array<{ title: string; className?: string; show: (items: Item[]) => boolean; cell: (i: Item) => ReactNode }> = [
  {
    title: 'Товар',
    className: 'item-product',
    show: () => true,
    cell: (i) => (
      <>
        <div>{str(i.productName) || '—'}</div>
        {(has(i.brand) || has(i.article)) && <div className="muted small">{[str(i.brand), str(i.article)].filter(Boolean).join(' · ')}</div>}
      </>
    ),
  },
  { title: 'Кол-во', className: 'num nowrap', show: () => true, cell: (i) => str(i.count) || '—' },
  {
    title: 'Сумма',
    className: 'num nowrap',
    show: () => true,
    // The price only where it differs from the sum: one column fewer for the panel.
    cell: (i) => (
      <>
        <div>{formatMoney(i.amount as string | null)}</div>
        {Number(i.count) > 1 && has(i.price) && <div className="muted small">по {formatMoney(i.price as string)}</div>}
      </>
    ),
  },
  { title: 'Статус', show: () => true, cell: (i) => str(i.statusName) || (has(i.statusId) ? `статус ${str(i.statusId)}` : '—') },
  {
    title: 'Срок',
    className: 'nowrap',
    show: (items) => items.some((i) => has(i.termDays)),
    cell: (i) => (has(i.termDays) ? `${str(i.termDays)} дн.` : '—'),
  },
];

/** The buyer as staff know them: labelled fields, never Docpart's keys. */
function UserView({ user }: { user: Record<string, unknown> }) {
  const fields = (user.fields ?? {}) as Record<string, unknown>;
  const account = user.unlocked === false ? 'заблокирована' : user.activated === false ? 'не активирована' : 'активна';
  return (
    <Detail
      rows={[
        ...docpartUserFields(fields),
        ['Логин', str(user.regField)],
        ['Номер в Docpart', str(user.userId)],
        ['Зарегистрирован', formatDateTime(user.timeRegistered as string | null)],
        ['Последний визит', formatDateTime(user.timeLastVisit as string | null)],
        ['Учётная запись', account],
      ]}
    />
  );
}

function OrderDetail({ id }: { id: string }) {
  const order = useResource((signal) => api.docpartOrder(id, signal), id, 'docpart');
  const o = order.data;
  const items = o?.items ?? [];
  const cols = ITEM_COLUMNS.filter((c) => c.show(items));
  return (
    <DetailPanel title={`Заказ Docpart № ${id}`} onClose={() => go('docpart')}>
      {order.error && <ErrorBox message={order.error} onRetry={order.reload} />}
      {!o && !order.error && <Loading />}
      {o && (
        <>
          <Detail
            rows={[
              ['Дата', formatDateTime(o.time)],
              ['Покупатель', o.buyer],
              ['Статус', docpartStatusLabel(o.status)],
              ['Оплата', docpartPaidLabel(Number(o.paid))],
              ['Сумма', formatMoney(o.amount)],
              ['Получение', o.obtainCaption],
              ['Офис', o.officeName],
              ['Изменён', formatDateTime(o.changedAt)],
            ]}
          />
          <h4>Строки ({items.length})</h4>
          {items.length === 0 ? (
            <div className="muted">Строк нет</div>
          ) : (
            <table className="list compact order-lines" aria-label="Строки заказа">
              <thead>
                <tr>
                  {cols.map((c) => (
                    <th key={c.title} className={c.className}>
                      {c.title}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {items.map((item, n) => (
                  <tr key={n}>
                    {cols.map((c) => (
                      <td key={c.title} className={c.className}>
                        {c.cell(item)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h4>Покупатель</h4>
          {o.user ? <UserView user={o.user} /> : <div className="muted">гость (без регистрации)</div>}
          <details>
            <summary>Все поля строк</summary>
            <Pre text={JSON.stringify(items)} />
          </details>
        </>
      )}
    </DetailPanel>
  );
}

function SyncPanel() {
  const [sync, setSync] = useState<DocpartSyncView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const poll = async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    try {
      const s = await api.docpartSync();
      setSync(s);
      setError(null);
      if (s.running) timer.current = setTimeout(() => void poll(), 500);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  useEffect(() => {
    void poll();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, []);

  useLive((e) => {
    if ((e.type === 'tick' || (e.type === 'change' && e.kind === 'docpart')) && !timer.current) void poll();
  });

  const start = async () => {
    setStarting(true);
    setError(null);
    try {
      const s = await api.docpartSyncNow();
      setSync(s);
      timer.current = setTimeout(() => void poll(), 500);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setStarting(false);
    }
  };

  const counts = sync?.counts;
  // Orders are read first, then payments: a rough but honest share of the pull.
  const share = !sync?.running ? 0 : sync.stage === 'payments' ? 0.85 : counts && counts.orders > 0 ? Math.min(0.8, (counts.saved / counts.orders) * 0.8) : 0.05;

  return (
    <section className="panel" aria-labelledby="sync-title">
      <div className="panel-head">
        <h2 id="sync-title">Загрузка из Docpart</h2>
        <button type="button" onClick={() => void start()} disabled={starting || sync?.running === true}>
          Синхронизировать сейчас
        </button>
      </div>
      {error && <ErrorBox message={error} onRetry={() => void poll()} />}
      {!sync && !error && <Loading />}
      {sync && (
        <>
          {sync.running && (
            <div className="sync-progress">
              <progress max={1} value={share} aria-label="Ход загрузки" />
              <div>
                Идёт загрузка: {sync.stage ? STAGES[sync.stage] ?? sync.stage : 'подготовка'}
                {counts && (
                  <span className="muted">
                    {' '}
                    · заказов {formatCount(counts.orders)}, строк {formatCount(counts.items)}, покупателей {formatCount(counts.users)}, движений{' '}
                    {formatCount(counts.payments)}, сохранено {formatCount(counts.saved)}
                  </span>
                )}
              </div>
            </div>
          )}
          <dl className="status-grid">
            <dt>Последняя загрузка</dt>
            <dd className="sync-last">
              {sync.last
                ? `${formatDateTime(sync.last.finishedAt)}: заказов ${formatCount(sync.last.orders)} (изменилось ${formatCount(sync.last.changed)}), движений ${formatCount(sync.last.payments)} (изменилось ${formatCount(sync.last.paymentsChanged)}), покупателей ${formatCount(sync.last.users)}`
                : 'ещё не было'}
            </dd>
            <dt>Последняя ошибка</dt>
            <dd className={sync.lastError ? 'error' : ''}>
              {sync.lastError ? `${formatDateTime(sync.lastError.at)}: ${sync.lastError.message}` : 'нет'}
            </dd>
            <dt>Следующая по расписанию</dt>
            <dd>{sync.nextAt ? formatDateTime(sync.nextAt) : '—'}</dd>
            {sync.stored && (
              <>
                <dt>В базе Спутника</dt>
                <dd>
                  заказов {formatCount(sync.stored.orders)}, движений {formatCount(sync.stored.payments)}
                </dd>
              </>
            )}
          </dl>
        </>
      )}
    </section>
  );
}

export function DocpartPage({ selected }: { selected: string | null }) {
  const [q, setQ] = useState('');
  const dq = useDebounced(q);
  const list = usePagedList<DocpartOrder>(
    (offset, limit, signal) => api.docpartOrders({ q: dq.trim(), offset, limit }, signal).then((r) => ({ items: r.orders, total: r.total })),
    dq,
    'docpart',
  );
  return (
    <>
      <h2 className="page-title">Заказы Docpart</h2>
      <SyncPanel />
      <div className={selected ? 'split' : ''}>
        <section className="panel" aria-label="Список заказов Docpart">
          <form className="filters" role="search" aria-label="Поиск заказов" onSubmit={(e) => e.preventDefault()}>
            <label className="grow">
              Поиск
              <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="номер заказа, покупатель, артикул" aria-label="Поиск заказов" />
            </label>
          </form>
          <ListState loading={list.loading} error={list.error} count={list.items.length} onRetry={list.reload} emptyText={dq ? 'Ничего не найдено' : undefined} />
          {list.items.length > 0 && (
            <table className="list" aria-label="Заказы Docpart">
              <thead>
                <tr>
                  <th>Заказ</th>
                  <th>Дата</th>
                  <th>Покупатель</th>
                  <th className="num wide-only">Строк</th>
                  <th className="num">Сумма</th>
                  <th>Статус</th>
                  <th>Оплата</th>
                  <th className="wide-only">Получение</th>
                </tr>
              </thead>
              <tbody>
                {list.items.map((o) => (
                  <tr key={o.orderId} className={String(o.orderId) === selected ? 'selected' : ''}>
                    <td>
                      <a href={`#/docpart/${encodeURIComponent(String(o.orderId))}`}>{o.orderId}</a>
                    </td>
                    <td className="nowrap">{formatDateTime(o.time)}</td>
                    <td>{o.buyer ?? 'гость'}</td>
                    <td className="num wide-only">{o.itemsCount ?? '—'}</td>
                    <td className="num nowrap">{formatMoney(o.amount)}</td>
                    <td className="nowrap">{docpartStatusLabel(o.status)}</td>
                    <td className="nowrap">{docpartPaidLabel(Number(o.paid))}</td>
                    <td className="wide-only">{[o.obtainCaption, o.officeName].filter(Boolean).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {list.items.length > 0 && <MoreButton shown={list.items.length} total={list.total} loading={list.loading} onMore={list.loadMore} />}
        </section>
        {selected && <OrderDetail id={selected} />}
      </div>
    </>
  );
}
