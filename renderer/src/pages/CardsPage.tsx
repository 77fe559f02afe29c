import { useState } from 'react';
import { api } from '../api.ts';
import { Badge, Detail, DetailPanel, ErrorBox, ListState, Loading, MoreButton, Pre, REFUSED_HINT, RetryButton, retryCanWork } from '../components/ui.tsx';
import { CARD_STATES, cardStateLabel, errorText, formatDate, formatDateTime, formatPoints, yesNo } from '../format.ts';
import { go, useDebounced, usePagedList, useResource } from '../hooks.ts';
import type { Card } from '../types.ts';

function CardDetail({ code, onRetried }: { code: string; onRetried: () => void }) {
  const card = useResource((signal) => api.card(code, signal), code, 'cards');
  const c = card.data;
  return (
    <DetailPanel title={`Карта ${code}`} onClose={() => go('cards')}>
      {card.error && <ErrorBox message={card.error} onRetry={card.reload} />}
      {!c && !card.error && <Loading />}
      {c && (
        <>
          <Detail
            rows={[
              ['Состояние', <Badge kind={c.state}>{cardStateLabel(c.state)}</Badge>],
              ['Владелец', c.name],
              ['Телефон', c.phone],
              ['Эл. почта', c.email],
              ['День рождения', c.birthday ? formatDate(c.birthday) : null],
              ['Бонусы', c.bonus === null ? null : formatPoints(c.bonus)],
              ['cardId в Passteam', c.cardId ? <code>{c.cardId}</code> : null],
              [
                'Ссылка на карту',
                c.cardUrl ? (
                  <a href={c.cardUrl} target="_blank" rel="noreferrer noopener">
                    {c.cardUrl}
                  </a>
                ) : null,
              ],
              ['Установлена в телефон', yesNo(c.installed)],
              ['Изменена', formatDateTime(c.updatedAt)],
              ['Ошибка', c.lastError ? <span className="error">{errorText(c.lastError)}</span> : null],
            ]}
          />
          {c.state === 'failed' && (retryCanWork(c.lastError) ? <RetryButton entity={`card:${c.code}`} onDone={onRetried} /> : <p className="muted">{REFUSED_HINT}</p>)}
          {c.values && Object.keys(c.values).length > 0 && (
            <>
              <h4>Дополнительные поля шаблона</h4>
              <Pre text={JSON.stringify(c.values)} />
            </>
          )}
          {c.sent && (
            <>
              <h4>Что сейчас в Passteam</h4>
              <Pre text={JSON.stringify(c.sent)} />
            </>
          )}
        </>
      )}
    </DetailPanel>
  );
}

export function CardsPage({ selected }: { selected: string | null }) {
  const [q, setQ] = useState('');
  const [state, setState] = useState('');
  const dq = useDebounced(q);
  const list = usePagedList<Card>(
    (offset, limit, signal) => api.cards({ q: dq.trim(), state, offset, limit }, signal).then((r) => ({ items: r.cards, total: r.total })),
    `${dq}|${state}`,
    'cards',
  );
  return (
    <>
      <h2 className="page-title">Карты</h2>
      <div className={selected ? 'split' : ''}>
        <section className="panel" aria-label="Список карт">
          <form className="filters" role="search" aria-label="Поиск карт" onSubmit={(e) => e.preventDefault()}>
            <label className="grow">
              Поиск
              <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="код, телефон, имя, эл. почта" aria-label="Поиск карт" />
            </label>
            <label>
              Состояние
              <select value={state} onChange={(e) => setState(e.target.value)}>
                <option value="">все</option>
                {CARD_STATES.map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
          </form>
          <ListState loading={list.loading} error={list.error} count={list.items.length} onRetry={list.reload} emptyText={dq || state ? 'Ничего не найдено' : undefined} />
          {list.items.length > 0 && (
            <table className="list" aria-label="Карты">
              <thead>
                <tr>
                  <th>Код</th>
                  <th>Владелец</th>
                  <th>Телефон</th>
                  <th className="wide-only">Эл. почта</th>
                  <th className="num">Бонусы</th>
                  <th>Состояние</th>
                  <th>Изменена</th>
                </tr>
              </thead>
              <tbody>
                {list.items.map((c) => (
                  <tr key={c.code} className={c.code === selected ? 'selected' : ''}>
                    <td>
                      <a href={`#/cards/${encodeURIComponent(c.code)}`}>{c.code}</a>
                    </td>
                    <td>{c.name ?? '—'}</td>
                    <td className="nowrap">{c.phone ?? '—'}</td>
                    <td className="wide-only">{c.email ?? '—'}</td>
                    <td className="num nowrap">{formatPoints(c.bonus)}</td>
                    <td>
                      <Badge kind={c.state}>{cardStateLabel(c.state)}</Badge>
                      {c.lastError && <div className="row-error">{c.lastError.message}</div>}
                    </td>
                    <td className="nowrap">{formatDateTime(c.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {list.items.length > 0 && <MoreButton shown={list.items.length} total={list.total} loading={list.loading} onMore={list.loadMore} />}
        </section>
        {selected && <CardDetail code={selected} onRetried={list.reload} />}
      </div>
    </>
  );
}
