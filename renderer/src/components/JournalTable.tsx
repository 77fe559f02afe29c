import { directionArrow, directionTitle, errorText, formatDuration, formatTime, systemName } from '../format.ts';
import { useUi } from '../store.ts';
import type { JournalEntry } from '../types.ts';

function statusClass(status: number | null): string {
  if (status === null || status >= 500) return 'status-bad';
  if (status >= 400) return 'status-warn';
  return 'status-ok';
}

function Row({ entry }: { entry: JournalEntry }) {
  const error = errorText(entry.error);
  return (
    <tr>
      <td className="nowrap">{formatTime(entry.at)}</td>
      <td className="direction" title={directionTitle(entry.direction)} aria-label={directionTitle(entry.direction)}>
        {directionArrow(entry.direction)}
      </td>
      <td>{systemName(entry.system)}</td>
      <td>{entry.method}</td>
      <td className="url" title={error || entry.url}>
        {entry.url}
        {error && <div className="row-error">{error}</div>}
      </td>
      <td className={statusClass(entry.status)}>{entry.status ?? 'нет ответа'}</td>
      <td className="num">{formatDuration(entry.durationMs)}</td>
    </tr>
  );
}

export function JournalTable() {
  const entries = useUi((s) => s.entries);
  const next = useUi((s) => s.next);
  const q = useUi((s) => s.q);
  const error = useUi((s) => s.journalError);
  const loading = useUi((s) => s.journalLoading);
  const setQuery = useUi((s) => s.setQuery);
  const loadMore = useUi((s) => s.loadMore);

  return (
    <section className="panel" aria-labelledby="journal-title">
      <div className="journal-head">
        <h2 id="journal-title">Журнал обменов</h2>
        <input
          type="search"
          className="search"
          placeholder="Поиск: адрес, код карты, ошибка"
          aria-label="Поиск по журналу"
          value={q}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      {error && <div className="error">{error}</div>}
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
            <Row key={e.id} entry={e} />
          ))}
          {entries.length === 0 && !loading && !error && (
            <tr>
              <td colSpan={7} className="muted empty">
                {q.trim() ? 'Ничего не найдено' : 'Журнал пока пуст'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" className="more" disabled={loading} onClick={() => void loadMore()}>
          Показать ещё
        </button>
      )}
    </section>
  );
}
