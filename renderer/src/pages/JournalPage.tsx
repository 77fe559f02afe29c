import { useCallback, useEffect, useRef, useState } from 'react';
import { api, journalExportPath, type JournalQuery } from '../api.ts';
import { DateField, DownloadLink, ErrorBox, Loading, Pre, RetryButton } from '../components/ui.tsx';
import {
  directionArrow,
  directionTitle,
  errorText,
  exchangeWhat,
  exchangesWord,
  formatDateTime,
  formatDuration,
  isFailedEntry,
  outcomeLabel,
  systemList,
  systemName,
  unsearchedNote,
} from '../format.ts';
import { errorMessage, go, PAGE_SIZE, useDebounced, useLive, useResource } from '../hooks.ts';
import { useUi } from '../store.ts';
import type { JournalEntry, JournalEvent } from '../types.ts';

/**
 * The journal as a record of events (the n8n executions list is the model): one row per thing
 * that happened, named by its subject, judged by what the answer meant; «Подробнее» unfolds its
 * HTTP exchanges, each with its request and answer.
 */

interface Filters {
  q: string;
  system: string;
  direction: string;
  outcome: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { q: '', system: '', direction: '', outcome: '', from: '', to: '' };
const COLUMNS = 6;

function toQuery(f: Filters): JournalQuery {
  return { q: f.q, system: f.system, direction: f.direction, failed: f.outcome === 'failed', from: f.from, to: f.to };
}

/** `/v1/invoices/%D0%9F…` → `/v1/invoices/П…`: the operator searches by what 1C shows. */
function readableUrl(url: string): string {
  try {
    return decodeURI(url);
  } catch {
    return url;
  }
}

const outcomeClass = (e: JournalEvent) => (e.outcome === 'failed' ? 'status-bad' : e.outcome === 'ok' ? 'status-ok' : 'muted');

/** The line under the title: why it failed and what to do, or what came of it. */
function EventLine({ e }: { e: JournalEvent }) {
  if (e.outcome === 'failed') {
    return (
      <div className="row-error">
        {e.summary && <span className="event-verdict">{e.summary}: </span>}
        {e.error ?? 'без пояснения'}
      </div>
    );
  }
  if (e.outcome === 'running') return <div className="muted small">идёт…</div>;
  return e.summary ? <div className="muted small">{e.summary}</div> : null;
}

function EventRow({ e, open, isNew, onToggle }: { e: JournalEvent; open: boolean; isNew: boolean; onToggle: () => void }) {
  return (
    <tr data-event={e.id} className={`${open ? 'selected' : ''} ${isNew ? 'row-new' : ''} ${e.outcome === 'failed' ? 'row-failed' : ''}`}>
      <td className="nowrap">{formatDateTime(e.at)}</td>
      <td className="direction" title={directionTitle(e.direction)} aria-label={directionTitle(e.direction)}>
        {directionArrow(e.direction)}
      </td>
      <td>{systemName(e.system)}</td>
      <td className="event">
        <div className="event-title">{e.title}</div>
        <EventLine e={e} />
      </td>
      <td className={outcomeClass(e)}>{outcomeLabel(e.outcome)}</td>
      <td className="nowrap">
        <button type="button" className="more-toggle" aria-expanded={open} aria-label={`Подробнее: ${e.title}`} onClick={onToggle}>
          {open ? 'Свернуть' : 'Подробнее'}
        </button>
        {e.exchanges > 1 && (
          <div className="muted small">
            {e.exchanges} {exchangesWord(e.exchanges)}
          </div>
        )}
      </td>
    </tr>
  );
}

const COUNT_LABELS: ReadonlyArray<[string, string]> = [
  ['orders', 'Заказов'],
  ['newOrders', 'из них новых'],
  ['changedOrders', 'изменённых'],
  ['items', 'Строк заказов'],
  ['users', 'Покупателей'],
  ['payments', 'Платежей'],
  ['paymentsChanged', 'новых или изменённых'],
];

/** A request or answer body: a form as its decoded fields, JSON pretty-printed, anything else as is. */
function Body({ text, form }: { text: string | null; form?: Array<{ name: string; value: string }> | null }) {
  if (form && form.length > 0) {
    return (
      <table className="list compact form-fields" aria-label="Поля формы">
        <tbody>
          {form.map((f, i) => (
            <tr key={i}>
              <th scope="row">{f.name}</th>
              <td>{f.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <Pre text={text} />;
}

/**
 * Like useResource, but what was loaded stays on screen while the next load runs: a running pull
 * adds exchanges every moment, and the ones the operator unfolded must stay unfolded.
 */
function useKeptResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const c = new AbortController();
    loadRef.current(c.signal).then(
      (d) => {
        if (c.signal.aborted) return;
        setData(d);
        setError(null);
      },
      (err: unknown) => {
        if (!c.signal.aborted && (err as Error).name !== 'AbortError') setError(errorMessage(err));
      },
    );
    return () => c.abort();
  }, [key, attempt]);
  return { data, error, reload: () => setAttempt((a) => a + 1) };
}

/** One exchange: a line, and its request and answer when unfolded (loaded then). */
function Exchange({ x }: { x: JournalEntry }) {
  const [open, setOpen] = useState(false);
  const full = useResource((signal) => (open ? api.journalExchange(x.id, signal) : Promise.resolve(null)), `${x.id}:${open}`);
  const failed = isFailedEntry(x);
  const error = errorText(x.error);
  return (
    <li className={failed ? 'exchange exchange-failed' : 'exchange'}>
      <details onToggle={(ev) => setOpen((ev.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          <span className="nowrap">{formatDateTime(x.at)}</span> <span title={directionTitle(x.direction)}>{directionArrow(x.direction)}</span>{' '}
          {exchangeWhat(x.entity) && <span className="exchange-what">{exchangeWhat(x.entity)} · </span>}
          <span className="url">
            {x.method} {readableUrl(x.url)}
          </span>{' '}
          — <span className={failed ? 'status-bad' : 'status-ok'}>{x.status ?? 'нет ответа'}</span>
          {failed && x.status !== null && x.status < 400 && <span className="status-bad"> (ответ означает отказ)</span>}
          <span className="muted"> · {formatDuration(x.durationMs)} мс</span>
        </summary>
        <div className="exchange-body">
          {error && <p className="error">{error}</p>}
          {x.detail && (
            <p className="muted small">
              Техническая подробность: <code>{x.detail}</code>
            </p>
          )}
          {full.error && <ErrorBox message={full.error} onRetry={full.reload} />}
          {!full.data && !full.error && <Loading />}
          {full.data && (
            <>
              <h5>Запрос</h5>
              <Body text={full.data.requestBody} form={full.data.requestForm} />
              <h5>Ответ</h5>
              <Body text={full.data.responseBody} />
            </>
          )}
        </div>
      </details>
    </li>
  );
}

/** «Подробнее»: what to do, the counts, and the exchanges (reloaded as the event changes). */
function EventDetail({ e, onRetried }: { e: JournalEvent; onRetried: () => void }) {
  const full = useKeptResource((signal) => api.journalEvent(e.id, signal), `${e.id}:${e.outcome}:${e.exchanges}`);
  const counts = e.counts ? COUNT_LABELS.filter(([k]) => e.counts![k] !== undefined) : [];
  return (
    <div className="event-detail" role="region" aria-label={`Подробности: ${e.title}`}>
      {e.retry && e.entity && (
        <p>
          {/* Keyed by the event: a newer failure is a new row with its own button, never this one's «Отправлено повторно». */}
          <RetryButton key={e.id} entity={e.entity} onDone={onRetried} />
        </p>
      )}
      {counts.length > 0 && (
        <p className="event-counts">
          {counts.map(([k, label]) => (
            <span key={k}>
              {label}: <strong>{e.counts![k]}</strong>
            </span>
          ))}
        </p>
      )}
      <h4>
        {e.exchanges} {exchangesWord(e.exchanges)} с {e.direction === 'in' ? 'Спутником' : systemName(e.system)}
      </h4>
      {full.error && <ErrorBox message={full.error} onRetry={full.reload} />}
      {!full.data && !full.error && <Loading />}
      {full.data && full.data.items.length === 0 && <p className="muted">Обменов не было: ошибка случилась до них.</p>}
      {full.data && full.data.items.length > 0 && (
        <ol className="exchanges">
          {full.data.items.map((x) => (
            <Exchange key={x.id} x={x} />
          ))}
        </ol>
      )}
    </div>
  );
}

export function JournalPage({ selected }: { selected: string | null }) {
  // The systems' names come with the service's meta: shown again once it arrives.
  useUi((s) => s.meta);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const q = useDebounced(filters.q, 300);
  const active: Filters = { ...filters, q };
  const key = JSON.stringify(active);
  const [entries, setEntries] = useState<JournalEvent[]>([]);
  const [next, setNextState] = useState<string | null>(null);
  // The «Показать ещё» cursor, also as a ref that changes at once (loadMore compares it on return).
  const nextRef = useRef<string | null>(null);
  const setNext = useCallback((v: string | null) => {
    nextRef.current = v;
    setNextState(v);
  }, []);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  // Rows the search left because the background indexing has not reached them (as the last page said).
  const [unsearched, setUnsearched] = useState(0);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const selectedId = selected && /^\d+$/.test(selected) ? Number(selected) : null;
  // Unfolded events; one opened by its address (#/journal/123) is unfolded too.
  const [open, setOpen] = useState<Set<number>>(() => new Set(selectedId ? [selectedId] : []));
  useEffect(() => {
    if (selectedId) setOpen((o) => (o.has(selectedId) ? o : new Set(o).add(selectedId)));
  }, [selectedId]);
  const seq = useRef(0);
  const state = useRef({ entries, key });
  state.current = { entries, key };

  /** Applies one journal request's page while `current()` says it still counts (refs and setters only: stable). */
  const settle = useCallback(<T,>(current: () => boolean, request: Promise<T>, apply: (page: T) => void) => {
    request.then(
      (page) => {
        if (!current()) return;
        apply(page);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!current()) return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
  }, []);

  const refresh = useCallback(
    (quiet: boolean) => {
      const my = ++seq.current;
      const f = JSON.parse(state.current.key) as Filters;
      if (!quiet) setLoading(true);
      settle(
        () => my === seq.current,
        api.journal({ ...toQuery(f), limit: PAGE_SIZE }),
        (page) => {
          setUnsearched(page.unsearched ?? 0);
          setEntries((old) => {
            // Keep older pages the operator opened with «Показать ещё», as long as the new first page
            // reaches down to them (more than a page of new rows would leave a hole): the list stays
            // one unbroken run and the «Показать ещё» cursor still continues it.
            const oldest = page.entries.at(-1)?.id;
            const keep = quiet && oldest !== undefined && old.length > PAGE_SIZE && old[0].id >= oldest;
            const older = keep ? old.filter((e) => e.id < oldest) : [];
            if (quiet && old.length > 0) {
              const known = new Set(old.map((e) => e.id));
              const added = page.entries.filter((e) => !known.has(e.id)).map((e) => e.id);
              if (added.length) setFresh(new Set(added));
            }
            if (!keep) setNext(page.next);
            return [...page.entries, ...older];
          });
        },
      );
    },
    [settle, setNext],
  );

  useEffect(() => {
    setEntries([]);
    setNext(null);
    setUnsearched(0);
    refresh(false);
  }, [key, refresh]);

  // The indexing moves no journal signal: while the search has rows left, it asks again.
  const incomplete = unsearched > 0;
  useEffect(() => {
    if (!incomplete) return;
    const timer = setInterval(() => {
      if (!document.hidden) refresh(true);
    }, 5000);
    return () => clearInterval(timer);
  }, [incomplete, refresh]);

  // An event changes in place too (a pull that ends): every journal signal refreshes the page.
  useLive((e) => {
    if ((e.type === 'journal' || e.type === 'tick') && !document.hidden) refresh(true);
  });

  // Not sequenced with refresh(): a live refresh arriving meanwhile must not drop the page the
  // operator asked for. A filter change does; a refresh that replaced the list (and its cursor)
  // meanwhile makes it ask again from the new end.
  const loadMore = () => {
    const before = nextRef.current;
    if (before === null) return;
    const startedFor = state.current.key;
    setLoading(true);
    settle(
      () => state.current.key === startedFor,
      api.journal({ ...toQuery(active), limit: PAGE_SIZE, before }),
      (page) => {
        if (nextRef.current !== before) return void queueMicrotask(loadMore); // after settle's own state updates
        setUnsearched(page.unsearched ?? 0);
        setEntries((old) => {
          const oldest = old.at(-1)?.id ?? Infinity;
          return [...old, ...page.entries.filter((e) => e.id < oldest)];
        });
        setNext(page.next);
      },
    );
  };

  const toggle = (id: number) => {
    const willOpen = !open.has(id);
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
    // The address follows the last one unfolded, so it can be sent or bookmarked.
    if (willOpen) go('journal', String(id));
    else if (selectedId === id) go('journal');
  };

  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [k]: e.target.value });
  const exportPath = journalExportPath(toQuery(active));
  const filtered = JSON.stringify({ ...active, q: active.q.trim() }) !== JSON.stringify(NO_FILTERS);

  return (
    <>
      <h2 className="page-title">Журнал</h2>
      <section className="panel" aria-labelledby="journal-title">
        <h2 id="journal-title" className="sr-only">
          Журнал событий
        </h2>
        <form className="filters" role="search" aria-label="Фильтры журнала" onSubmit={(e) => e.preventDefault()}>
          <label className="grow">
            Поиск
            <input type="search" placeholder="код карты, заказ, имя, телефон, ошибка" value={filters.q} onChange={set('q')} aria-label="Поиск по журналу" />
          </label>
          <label>
            Система
            <select value={filters.system} onChange={set('system')}>
              <option value="">все</option>
              {systemList().map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          <label>
            Направление
            <select value={filters.direction} onChange={set('direction')}>
              <option value="">оба</option>
              <option value="in">← входящие</option>
              <option value="out">→ исходящие</option>
            </select>
          </label>
          <label>
            Итог
            <select value={filters.outcome} onChange={set('outcome')}>
              <option value="">любой</option>
              <option value="failed">только ошибки</option>
            </select>
          </label>
          <label>
            С
            <DateField label="С" value={filters.from} onChange={(v) => setFilters({ ...filters, from: v })} />
          </label>
          <label>
            По
            <DateField label="По" value={filters.to} onChange={(v) => setFilters({ ...filters, to: v })} />
          </label>
          <div className="filter-actions">
            {filtered && (
              <button type="button" onClick={() => setFilters(NO_FILTERS)}>
                Сбросить
              </button>
            )}
            <DownloadLink path={exportPath} fileName="journal.csv">
              Выгрузить
            </DownloadLink>
          </div>
        </form>
        {error && <ErrorBox message={error} onRetry={() => refresh(false)} />}
        {unsearched > 0 && (
          <p className="muted small" role="status">
            {unsearchedNote(unsearched)}
          </p>
        )}
        <table className="journal" aria-label="Журнал событий">
          <thead>
            <tr>
              <th>Время</th>
              <th title="→ Спутник обращается к внешнему сервису, ← обращаются к Спутнику">Напр.</th>
              <th>Система</th>
              <th>Событие</th>
              <th>Итог</th>
              <th>
                <span className="sr-only">Подробнее</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <EventRows key={e.id} e={e} open={open.has(e.id)} isNew={fresh.has(e.id)} onToggle={() => toggle(e.id)} onRetried={() => refresh(true)} />
            ))}
            {entries.length === 0 && !error && (
              <tr>
                <td colSpan={COLUMNS} className="muted empty">
                  {loading ? 'Загрузка…' : filtered ? 'Ничего не найдено' : 'Пока пусто…'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        {next !== null && (
          <div className="pager">
            <button type="button" className="more" disabled={loading} onClick={loadMore}>
              Показать ещё
            </button>
          </div>
        )}
      </section>
    </>
  );
}

function EventRows({ e, open, isNew, onToggle, onRetried }: { e: JournalEvent; open: boolean; isNew: boolean; onToggle: () => void; onRetried: () => void }) {
  return (
    <>
      <EventRow e={e} open={open} isNew={isNew} onToggle={onToggle} />
      {open && (
        <tr className="event-detail-row">
          <td colSpan={COLUMNS}>
            <EventDetail e={e} onRetried={onRetried} />
          </td>
        </tr>
      )}
    </>
  );
}
