import { useState } from 'react';
import { absoluteUrl, api, ApiError, downloadFile, invoicesExportPath } from '../api.ts';
import { Badge, DateField, Detail, DetailPanel, ErrorBox, ListState, Loading, MoreButton, REFUSED_HINT, RetryButton, retryCanWork } from '../components/ui.tsx';
import { currentMonth, errorText, formatCount, formatDate, invoiceCount, formatDateTime, formatMoney, INVOICE_STATES, invoiceStateLabel } from '../format.ts';
import { errorMessage, go, useDebounced, usePagedList, useResource } from '../hooks.ts';
import type { Invoice, InvoiceTotals } from '../types.ts';

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
          {i.state === 'failed' && (retryCanWork(i.error) ? <RetryButton entity={`invoice:${i.orderId}`} onDone={onRetried} /> : <p className="muted">{REFUSED_HINT}</p>)}
        </>
      )}
    </DetailPanel>
  );
}

/** The period as the operator reads it: «01.11.2026 — 30.11.2026». */
const periodText = (from: string, to: string) => `${formatDate(from)} — ${formatDate(to)}`;

/** What the filter matches in sum (every row, not only the page shown). */
function Totals({ totals, from, to, filtered }: { totals: InvoiceTotals; from: string; to: string; filtered: boolean }) {
  return (
    <div className="invoice-totals" role="group" aria-label="Итого">
      <span>
        Итого за {periodText(from, to)}
        {filtered ? ' с отбором' : ''}: <strong>{invoiceCount(totals.count)}</strong> на <strong className="nowrap">{formatMoney(totals.amount)}</strong>
      </span>
      <span>
        из них оплачено: <strong>{invoiceCount(totals.paid.count)}</strong> на <strong className="nowrap">{formatMoney(totals.paid.amount)}</strong>
      </span>
    </div>
  );
}

/**
 * «Скачать XLSX/CSV» of exactly what the list shows. The page fetches the file itself, so a large
 * one shows that it is being made (and can be cancelled) instead of a button that seems dead.
 */
function ExportButtons({ filter, count, disabled }: { filter: { from: string; to: string; state: string; q: string }; count: number; disabled: boolean }) {
  const [job, setJob] = useState<{ format: 'xlsx' | 'csv'; bytes: number; abort: AbortController } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = (format: 'xlsx' | 'csv') => {
    const abort = new AbortController();
    setError(null);
    setJob({ format, bytes: 0, abort });
    downloadFile(invoicesExportPath(filter, format), `invoices.${format}`, {
      signal: abort.signal,
      onBytes: (bytes) => setJob((j) => (j && j.abort === abort ? { ...j, bytes } : j)),
    }).then(
      () => setJob((j) => (j?.abort === abort ? null : j)),
      (e: unknown) => {
        setJob((j) => (j?.abort === abort ? null : j));
        if ((e as Error).name !== 'AbortError') setError(errorMessage(e));
      },
    );
  };
  return (
    <>
      {(['xlsx', 'csv'] as const).map((format) =>
        disabled || job ? (
          <button key={format} type="button" disabled>
            Скачать {format.toUpperCase()}
          </button>
        ) : (
          <a
            key={format}
            className="button"
            href={absoluteUrl(invoicesExportPath(filter, format))}
            download
            onClick={(e) => {
              e.preventDefault();
              start(format);
            }}
          >
            Скачать {format.toUpperCase()}
          </a>
        ),
      )}
      {job && (
        <div className="export-progress" role="status">
          <progress aria-label="Файл готовится" />
          <span>
            Готовится файл {job.format.toUpperCase()}: {invoiceCount(count)}
            {job.bytes > 0 ? `, получено ${formatBytes(job.bytes)}` : '…'}
          </span>
          <button type="button" onClick={() => job.abort.abort()}>
            Отменить
          </button>
        </div>
      )}
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

const formatBytes = (n: number) => (n < 1024 * 1024 ? `${formatCount(Math.max(1, Math.round(n / 1024)))} КБ` : `${(n / 1024 / 1024).toLocaleString('ru-RU', { maximumFractionDigits: 1 })} МБ`);

export function InvoicesPage({ selected }: { selected: string | null }) {
  const [q, setQ] = useState('');
  const [state, setState] = useState('');
  const [period, setPeriod] = useState(currentMonth);
  /** What the operator typed in «С»/«По» when it is not a date: sent as is, so the service says what is wrong. */
  const [typed, setTyped] = useState<{ from?: string; to?: string }>({});
  /** The totals with the filter they are of: a new filter hides the old sum until its own arrives. */
  const [summed, setSummed] = useState<{ key: string; totals: InvoiceTotals } | null>(null);
  /** The service refused the period (a bad date, an end before the start): said under the fields, no list. */
  const [periodError, setPeriodError] = useState<ApiError | null>(null);
  const dq = useDebounced(q);
  const from = useDebounced(typed.from ?? period.from);
  const to = useDebounced(typed.to ?? period.to);
  const key = `${dq}|${state}|${from}|${to}`;
  const list = usePagedList<Invoice>(
    (offset, limit, signal) =>
      api.invoices({ q: dq.trim(), state, from, to, offset, limit }, signal).then(
        (r) => {
          if (!signal.aborted) (setSummed({ key, totals: r.totals }), setPeriodError(null));
          return { items: r.invoices, total: r.total };
        },
        (e: unknown) => {
          if (!signal.aborted) {
            setSummed(null);
            setPeriodError(e instanceof ApiError && (e.field === 'from' || e.field === 'to') ? e : null);
          }
          throw e;
        },
      ),
    key,
    'invoices',
  );
  const setDay = (field: 'from' | 'to', iso: string) => {
    setTyped(({ [field]: _, ...rest }) => rest);
    setPeriod((p) => ({ ...p, [field]: iso }));
  };
  const filtered = Boolean(dq.trim() || state);
  const totals = summed?.key === key ? summed.totals : null;
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
              <DateField label="С" value={period.from} required invalid={periodError?.field === 'from'} onChange={(v) => setDay('from', v)} onInvalid={(t) => setTyped((d) => ({ ...d, from: t }))} />
            </label>
            <label>
              По
              <DateField label="По" value={period.to} required invalid={periodError?.field === 'to'} onChange={(v) => setDay('to', v)} onInvalid={(t) => setTyped((d) => ({ ...d, to: t }))} />
            </label>
            <div className="filter-actions">
              <button
                type="button"
                onClick={() => {
                  setTyped({});
                  setPeriod(currentMonth());
                }}
              >
                Этот месяц
              </button>
              <ExportButtons filter={{ from, to, state, q: dq }} count={totals?.count ?? list.total} disabled={periodError !== null || list.error !== null} />
            </div>
          </form>
          {periodError ? (
            <ErrorBox message={periodError.message} />
          ) : (
            <ListState loading={list.loading} error={list.error} count={list.items.length} onRetry={list.reload} emptyText={filtered ? 'Ничего не найдено' : 'Пока пусто… За этот период счетов нет.'} />
          )}
          {totals && !periodError && totals.count > 0 && <Totals totals={totals} from={from} to={to} filtered={filtered} />}
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
