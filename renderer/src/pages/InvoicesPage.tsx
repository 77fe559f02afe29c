import { useState } from 'react';
import { api, invoicesExportPath } from '../api.ts';
import { Badge, DateField, Detail, DownloadLink, DetailPanel, ErrorBox, ListState, Loading, MoreButton, RetryButton } from '../components/ui.tsx';
import { currentMonth, errorText, formatDate, formatDateTime, formatMoney, INVOICE_STATES, invoiceStateLabel } from '../format.ts';
import { errorMessage, go, useDebounced, usePagedList, useResource } from '../hooks.ts';
import type { Invoice } from '../types.ts';

function InvoiceDetail({ orderId, onRetried }: { orderId: string; onRetried: () => void }) {
  const inv = useResource((signal) => api.invoice(orderId, signal), orderId, 'invoices');
  const i = inv.data;
  return (
    <DetailPanel title={`Счёт по заказу ${orderId}`} onClose={() => go('invoices')}>
      {inv.error && <ErrorBox message={inv.error} onRetry={inv.reload} />}
      {!i && !inv.error && <Loading />}
      {i && (
        <>
          <Detail
            rows={[
              ['Состояние', <Badge kind={i.state}>{invoiceStateLabel(i.state)}</Badge>],
              ['Заказ', i.orderId],
              ['Сумма', formatMoney(i.amount)],
              ['Услуга', i.serviceName],
              ['Клиент', i.clientId],
              ['Эл. почта', i.email],
              ['Телефон', i.phone],
              ['Счёт PayKeeper', i.invoiceId],
              [
                'Ссылка на оплату',
                i.invoiceUrl ? (
                  <a href={i.invoiceUrl} target="_blank" rel="noreferrer noopener">
                    {i.invoiceUrl}
                  </a>
                ) : null,
              ],
              ['Оплатить до', i.expiry ? (i.expiry.length > 10 ? formatDateTime(i.expiry) : formatDate(i.expiry)) : null],
              ['Создан', formatDateTime(i.createdAt)],
              ['Оплачен', i.paidAt ? formatDateTime(i.paidAt) : null],
              ['Платёж', i.paymentId],
              ['Ошибка', errorText(i.error) ? <span className="error">{errorText(i.error)}</span> : null],
            ]}
          />
          {i.state === 'failed' && <RetryButton entity={`invoice:${i.orderId}`} onDone={onRetried} />}
        </>
      )}
    </DetailPanel>
  );
}

function ExportLink({ from, to, format }: { from: string; to: string; format: 'xlsx' | 'csv' }) {
  return (
    <DownloadLink path={invoicesExportPath(from, to, format)} fileName={`invoices.${format}`}>
      Скачать {format.toUpperCase()}
    </DownloadLink>
  );
}

export function InvoicesPage({ selected }: { selected: string | null }) {
  const [q, setQ] = useState('');
  const [state, setState] = useState('');
  const [period, setPeriod] = useState(currentMonth);
  const dq = useDebounced(q);
  const list = usePagedList<Invoice>(
    (offset, limit, signal) =>
      api.invoices({ q: dq.trim(), state, from: period.from, to: period.to, offset, limit }, signal).then((r) => ({ items: r.invoices, total: r.total })),
    `${dq}|${state}|${period.from}|${period.to}`,
    'invoices',
  );
  return (
    <>
      <h2 className="page-title">Счета</h2>
      <div className={selected ? 'split' : ''}>
        <section className="panel" aria-label="Список счетов">
          <form className="filters" role="search" aria-label="Поиск счетов" onSubmit={(e) => e.preventDefault()}>
            <label className="grow">
              Поиск
              <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="заказ, эл. почта, клиент, номер счёта" aria-label="Поиск счетов" />
            </label>
            <label>
              Состояние
              <select value={state} onChange={(e) => setState(e.target.value)}>
                <option value="">все</option>
                {INVOICE_STATES.map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
            <label>
              С
              <DateField label="С" value={period.from} required onChange={(v) => setPeriod({ ...period, from: v })} />
            </label>
            <label>
              По
              <DateField label="По" value={period.to} required onChange={(v) => setPeriod({ ...period, to: v })} />
            </label>
            <div className="filter-actions">
              <button type="button" onClick={() => setPeriod(currentMonth())}>
                Этот месяц
              </button>
              <ExportLink from={period.from} to={period.to} format="xlsx" />
              <ExportLink from={period.from} to={period.to} format="csv" />
            </div>
          </form>
          <ListState loading={list.loading} error={list.error} count={list.items.length} onRetry={list.reload} emptyText={dq || state ? 'Ничего не найдено' : 'Пока пусто… За этот период счетов нет.'} />
          {list.items.length > 0 && (
            <table className="list" aria-label="Счета">
              <thead>
                <tr>
                  <th>Заказ</th>
                  <th>Создан</th>
                  <th className="num">Сумма</th>
                  <th>Клиент</th>
                  <th className="wide-only">Эл. почта</th>
                  <th>Состояние</th>
                  <th>Оплачен</th>
                </tr>
              </thead>
              <tbody>
                {list.items.map((i) => (
                  <tr key={i.orderId} className={i.orderId === selected ? 'selected' : ''}>
                    <td>
                      <a href={`#/invoices/${encodeURIComponent(i.orderId)}`}>{i.orderId}</a>
                    </td>
                    <td className="nowrap">{formatDateTime(i.createdAt)}</td>
                    <td className="num nowrap">{formatMoney(i.amount)}</td>
                    <td>{i.clientId ?? '—'}</td>
                    <td className="wide-only">{i.email ?? '—'}</td>
                    <td>
                      <Badge kind={i.state}>{invoiceStateLabel(i.state)}</Badge>
                      {errorText(i.error) && <div className="row-error">{errorText(i.error)}</div>}
                    </td>
                    <td className="nowrap">{i.paidAt ? formatDateTime(i.paidAt) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {list.items.length > 0 && <MoreButton shown={list.items.length} total={list.total} loading={list.loading} onMore={list.loadMore} />}
        </section>
        {selected && <InvoiceDetail orderId={selected} onRetried={list.reload} />}
      </div>
    </>
  );
}
