import { useCallback, useEffect, useRef, useState } from 'react';
import { api, journalExportPath, type JournalQuery } from '../api.ts';
import { DateField, Detail, DownloadLink, DetailPanel, ErrorBox, Loading, Pre, RetryButton } from '../components/ui.tsx';
import {
  directionArrow,
  directionTitle,
  errorText,
  formatDateTime,
  formatDuration,
  isFailedEntry,
  SYSTEM_NAMES,
  systemName,
} from '../format.ts';
import { errorMessage, go, PAGE_SIZE, useDebounced, useLive, useResource } from '../hooks.ts';
import type { JournalEntry } from '../types.ts';

function statusClass(status: number | null): string {
  if (status === null || status >= 500) return 'status-bad';
  if (status >= 400) return 'status-warn';
  return 'status-ok';
}

interface Filters {
  q: string;
  system: string;
  direction: string;
  outcome: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { q: '', system: '', direction: '', outcome: '', from: '', to: '' };

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

function Row({ entry, selected, isNew }: { entry: JournalEntry; selected: boolean; isNew: boolean }) {
  const error = errorText(entry.error);
  return (
    <tr className={`${selected ? 'selected' : ''} ${isNew ? 'row-new' : ''} ${isFailedEntry(entry) ? 'row-failed' : ''}`}>
      <td className="nowrap">{formatDateTime(entry.at)}</td>
      <td className="direction" title={directionTitle(entry.direction)} aria-label={directionTitle(entry.direction)}>
        {directionArrow(entry.direction)}
      </td>
      <td>{systemName(entry.system)}</td>
      <td>{entry.method}</td>
      <td className="url">
        <a href={`#/journal/${entry.id}`} title="Открыть запрос и ответ">
          {readableUrl(entry.url)}
        </a>
        {error && <div className="row-error">{error}</div>}
      </td>
      <td className={statusClass(entry.status)}>{entry.status ?? 'нет ответа'}</td>
      <td className="num">{formatDuration(entry.durationMs)}</td>
    </tr>
  );
}

function EntryDetail({ id, onRetried }: { id: number; onRetried: () => void }) {
  const entry = useResource((signal) => api.journalEntry(id, signal), String(id));
  const e = entry.data;
  return (
    <DetailPanel title={`Запись журнала № ${id}`} onClose={() => go('journal')}>
      {entry.error && <ErrorBox message={entry.error} onRetry={entry.reload} />}
      {!e && !entry.error && <Loading />}
      {e && (
        <>
          <Detail
            rows={[
              ['Время', formatDateTime(e.at)],
              ['Направление', directionTitle(e.direction)],
              ['Система', systemName(e.system)],
              ['Запрос', `${e.method} ${readableUrl(e.url)}`],
              ['Статус', e.status ?? 'нет ответа'],
              ['Длительность, мс', formatDuration(e.durationMs)],
              ['Объект', e.entity],
              ['Ошибка', errorText(e.error) ? <span className="error">{errorText(e.error)}</span> : null],
            ]}
          />
          {isFailedEntry(e) && e.entity && (
            <p>
              <RetryButton entity={e.entity} onDone={onRetried} />
            </p>
          )}
          <h4>Тело запроса</h4>
          <Pre text={e.requestBody} />
          <h4>Тело ответа</h4>
          <Pre text={e.responseBody} />
        </>
      )}
    </DetailPanel>
  );
}

export function JournalPage({ selected }: { selected: string | null }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const q = useDebounced(filters.q, 300);
  const active: Filters = { ...filters, q };
  const key = JSON.stringify(active);
  const [entries, setEntries] = useState<JournalEntry[]>([]);
  const [next, setNextState] = useState<string | null>(null);
  // The «Показать ещё» cursor, also as a ref that changes at once (loadMore compares it on return).
  const nextRef = useRef<string | null>(null);
  const setNext = useCallback((v: string | null) => {
    nextRef.current = v;
    setNextState(v);
  }, []);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
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

  const refresh = useCallback((quiet: boolean) => {
    const my = ++seq.current;
    const f = JSON.parse(state.current.key) as Filters;
    if (!quiet) setLoading(true);
    settle(() => my === seq.current, api.journal({ ...toQuery(f), limit: PAGE_SIZE }), (page) => {
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
    });
  }, [settle, setNext]);

  useEffect(() => {
    setEntries([]);
    setNext(null);
    refresh(false);
  }, [key, refresh]);

  useLive((e) => {
    if ((e.type === 'journal' || e.type === 'tick') && !document.hidden) {
      if (e.type === 'journal' && e.lastId !== null && state.current.entries[0]?.id === e.lastId) return;
      refresh(true);
    }
  });

  // Not sequenced with refresh(): a live refresh arriving meanwhile (a Docpart pull writes many rows)
  // must not drop the page the operator asked for. A filter change does; a refresh that replaced
  // the list (and its cursor) meanwhile makes it ask again from the new end.
  const loadMore = () => {
    const before = nextRef.current;
    if (before === null) return;
    const startedFor = state.current.key;
    setLoading(true);
    settle(() => state.current.key === startedFor, api.journal({ ...toQuery(active), limit: PAGE_SIZE, before }), (page) => {
      if (nextRef.current !== before) return void queueMicrotask(loadMore); // after settle's own state updates
      setEntries((old) => {
        const oldest = old.at(-1)?.id ?? Infinity;
        return [...old, ...page.entries.filter((e) => e.id < oldest)];
      });
      setNext(page.next);
    });
  };

  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [k]: e.target.value });
  const exportPath = journalExportPath(toQuery(active));
  const selectedId = selected && /^\d+$/.test(selected) ? Number(selected) : null;
  const filtered = JSON.stringify({ ...active, q: active.q.trim() }) !== JSON.stringify(NO_FILTERS);

  return (
    <>
      <h2 className="page-title">Журнал</h2>
      <div className={selectedId ? 'split' : ''}>
        <section className="panel" aria-labelledby="journal-title">
          <h2 id="journal-title" className="sr-only">
            Журнал обменов
          </h2>
          <form className="filters" role="search" aria-label="Фильтры журнала" onSubmit={(e) => e.preventDefault()}>
            <label className="grow">
              Поиск
              <input type="search" placeholder="адрес, код карты, номер заказа, ошибка" value={filters.q} onChange={set('q')} aria-label="Поиск по журналу" />
            </label>
            <label>
              Система
              <select value={filters.system} onChange={set('system')}>
                <option value="">все</option>
                {Object.entries(SYSTEM_NAMES).map(([k, v]) => (
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
          <table className="journal" aria-label="Журнал обменов">
            <thead>
              <tr>
                <th>Время</th>
                <th title="→ исходящий, ← входящий">Напр.</th>
                <th>Система</th>
                <th>Метод</th>
                <th>Адрес</th>
                <th>Статус</th>
                <th className="num">мс</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <Row key={e.id} entry={e} selected={e.id === selectedId} isNew={fresh.has(e.id)} />
              ))}
              {entries.length === 0 && !error && (
                <tr>
                  <td colSpan={7} className="muted empty">
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
        {selectedId && <EntryDetail id={selectedId} onRetried={() => refresh(true)} />}
      </div>
    </>
  );
}
