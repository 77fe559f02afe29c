import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { CopyButton, ErrorBox, Loading } from '../components/ui.tsx';
import { connectorName, connectorStateLabel, formatAge, formatDateTime, formatTime } from '../format.ts';
import { errorMessage } from '../hooks.ts';
import { useUi } from '../store.ts';
import type { ConnectorHealth, Health } from '../types.ts';

function ConnectorCard({ name, health }: { name: string; health: ConnectorHealth }) {
  // The name and whether it can be paused (only senders: Docpart is pulled on a schedule) come with the service's meta.
  const meta = useUi((s) => s.meta);
  const pausable = meta?.modules.some((m) => m.name === name && m.connector?.pausable) ?? false;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const bad = health.state === 'failing' || health.state === 'paused';
  const act = async (pause: boolean) => {
    setBusy(true);
    setError(null);
    try {
      useUi.getState().setHealth(await (pause ? api.pause(name) : api.resume(name)));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className={`connector state-${health.state}`} aria-label={connectorName(name)}>
      <div className="connector-line">
        <span className="connector-name">{connectorName(name)}</span>
        <span className="connector-state">{connectorStateLabel(health.state)}</span>
        {health.since && <span className="muted connector-since">с {formatDateTime(health.since)}</span>}
      </div>
      {health.lastError && (bad || health.state === 'disabled') && (
        <div className="connector-error">
          Причина: {health.lastError.message}
        </div>
      )}
      {health.lastError && health.state === 'ok' && (
        <div className="muted small">Последняя ошибка: {health.lastError.message}</div>
      )}
      {pausable && health.state !== 'disabled' && (
        <div className="connector-actions">
          {health.state === 'paused' ? (
            <button type="button" disabled={busy} onClick={() => void act(false)}>
              Возобновить
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => void act(true)}>
              Приостановить отправку
            </button>
          )}
        </div>
      )}
      {error && <div className="error">{error}</div>}
    </li>
  );
}

function ListenerBox() {
  const listener = useUi((s) => s.listener);
  const error = useUi((s) => s.listenerError);
  const exposed = useUi((s) => s.health?.listener.exposed);
  const [shown, setShown] = useState(false);
  useEffect(() => void useUi.getState().refreshListener(), []);
  if (error) return <ErrorBox message={error} onRetry={() => void useUi.getState().refreshListener()} />;
  if (!listener) return <Loading />;
  return (
    <dl className="status-grid">
      <dt>Адрес для 1С</dt>
      <dd>
        <code className="listener-url">{listener.url}</code> <CopyButton text={listener.url} what="адрес для 1С" />{' '}
        {exposed !== undefined && (
          <span className="muted">{exposed ? '(открыт для других компьютеров сети)' : '(только этот компьютер)'}</span>
        )}
      </dd>
      <dt>Токен для 1С</dt>
      <dd>
        <code className="listener-token">{shown ? listener.token : '•'.repeat(Math.min(24, listener.token.length))}</code>{' '}
        <button type="button" onClick={() => setShown(!shown)} aria-pressed={shown}>
          {shown ? 'Скрыть' : 'Показать'}
        </button>{' '}
        <CopyButton text={listener.token} what="токен для 1С" />
      </dd>
    </dl>
  );
}

export function OverviewPage() {
  const health = useUi((s) => s.health);
  const error = useUi((s) => s.healthError);
  const attention = useUi((s) => s.attention);
  const anyBad = health && Object.values(health.connectors ?? {}).some((c) => c.state === 'failing' || c.state === 'paused');
  const needs = attention !== null && attention > 0;
  return (
    <>
      <h2 className="page-title">Обзор</h2>
      <section className={`panel ${anyBad || needs ? 'panel-bad' : ''}`} aria-labelledby="status-title">
        <h2 id="status-title">Состояние</h2>
        {error && <ErrorBox message={error} onRetry={() => void useUi.getState().refreshHealth()} />}
        {!health && !error && <Loading />}
        {health && (
          <>
            {needs && (
              <div className="alert-bad overview-attention" role="alert">
                Требует внимания: {attention} — <a href="#/attention">открыть список и исправить</a>
              </div>
            )}
            {anyBad && (
              <div className="alert-bad" role="alert">
                Есть проблема со связью: данные копятся в очереди и уйдут, когда связь вернётся.
              </div>
            )}
            <ul className="connectors">
              {Object.entries(health.connectors ?? {}).map(([name, c]) => (
                <ConnectorCard key={name} name={name} health={c} />
              ))}
            </ul>
            <dl className="status-grid">
              <dt>Очередь</dt>
              <dd>
                <span className="queue-depth">{health.queue.depth}</span>
                {health.queue.depth > 0 ? (
                  <span className="muted"> · самое старое ждёт {formatAge(health.queue.oldestAgeSeconds)}</span>
                ) : needs ? (
                  // Nothing queued is not «all sent» while something failed.
                  <span className="muted">
                    {' '}
                    · в очереди пусто, но <a href="#/attention">требует внимания: {attention}</a>
                  </span>
                ) : attention === 0 ? (
                  <span className="muted"> · всё отправлено</span>
                ) : null}
              </dd>
              <dt>База данных</dt>
              <dd className={health.store.ok ? '' : 'error'}>{health.store.ok ? 'в порядке' : 'недоступна'}</dd>
            </dl>
          </>
        )}
      </section>
      {health?.regate && <RegatePanel regate={health.regate} />}
      <section className="panel" aria-labelledby="listener-title">
        <h2 id="listener-title">Подключение 1С</h2>
        <ListenerBox />
        <p className="muted small">
          Готовый код для 1С — в разделе <a href="#/settings">Настройки</a>.
        </p>
      </section>
    </>
  );
}

const ONEC_LABEL = { ok: 'работает', degraded: 'отвечает с ошибками', down: 'недоступна' } as const;

type RegateStore = NonNullable<NonNullable<Health['regate']>['store']>;

/** Where ReGate keeps keys and queued writes: said only for the shared PostgreSQL, and loudly when it is away. */
function RegateStoreLine({ store }: { store: RegateStore }) {
  if (store.kind === 'sqlite') return null;
  if (store.state === 'up') return <p className="muted small">Общее хранилище шлюзов (PostgreSQL): работает</p>;
  return (
    <p className="error" role="status">
      Общее хранилище шлюзов (PostgreSQL) недоступно{store.since ? ` с ${formatDateTime(store.since)}` : ''}
      {store.reason ? `: ${store.reason}` : ''}. {store.state === 'reconnecting' ? 'Спутник подключается снова' : 'Спутник переподключится сам'}; пока записи и чтения не из кеша получают ответ 503.
    </p>
  );
}

type RegateInstance = NonNullable<NonNullable<Health['regate']>['instances']>[number];

/** One instance in a line: which server and process, whether it is on the line, what it holds (nothing but who while the list is old). */
function instanceLine(i: RegateInstance, current: boolean): string {
  const who = `сервер ${i.host}${i.pid !== null ? `, процесс ${i.pid}` : ''}${i.self ? ' (этот)' : ''}`;
  if (!current) return who;
  const holds = `занято сеансов 1С: ${i.slots}${i.writes !== null ? `; отправляет записей: ${i.writes}` : ''}`;
  if (i.alive) return `${who} — на связи; ${holds}`;
  const since = i.seenAt ? ` с ${formatTime(i.seenAt)}` : '';
  // Past the lease the others send its writes again (with the same request id): nothing is lost.
  const writes = i.writes ? `; его записи (${i.writes}) отправят другие экземпляры` : '';
  return `${who} — не на связи${since} (остановлен или потерял связь с PostgreSQL)${writes}`;
}

/**
 * The gateways sharing PostgreSQL, as it knows them: how many and how many are on the line, then
 * one line each. Said only for the shared store (one gateway on Sputnik's own base is the only one).
 */
function RegateInstances({ instances, store }: { instances: RegateInstance[]; store: RegateStore }) {
  if (store.kind !== 'postgres' || instances.length === 0) return null;
  // With PostgreSQL away nobody's beat can be read: the list is the last one, without who is on the line.
  const current = store.state === 'up';
  const alive = instances.filter((i) => i.alive).length;
  const dead = current ? instances.length - alive : 0;
  return (
    <div className="regate-instances">
      <p className={dead > 0 ? 'error' : 'muted small'} id="regate-instances-title">
        Экземпляров шлюза в кластере: {instances.length}
        {current ? `, на связи: ${alive}` : ' (последние сведения: пока PostgreSQL недоступен, кто на связи — не узнать)'}
        {dead > 0 ? `, не на связи: ${dead}` : ''}
      </p>
      <ul className="small" aria-labelledby="regate-instances-title">
        {instances.map((i) => (
          <li key={i.id} className={i.alive || !current ? '' : 'error'}>
            {instanceLine(i, current)}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** ReGate like the other connectors: each 1C base behind the gateway, its current limit, queue and cache. */
function RegatePanel({ regate }: { regate: NonNullable<Health['regate']> }) {
  return (
    <section className="panel" aria-labelledby="regate-title">
      <h2 id="regate-title">ReGate — шлюз для Richest.store</h2>
      {regate.url && <p className="muted small">Адрес: <code>{regate.url}/regate/v1</code> · документация: <code>{regate.url}/regate/docs</code></p>}
      {regate.store && <RegateStoreLine store={regate.store} />}
      {regate.store && regate.instances && <RegateInstances instances={regate.instances} store={regate.store} />}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">База 1С</th>
            <th scope="col">Состояние</th>
            <th scope="col">Вызовов сейчас / предел</th>
            <th scope="col">Ждут сеанса</th>
            <th scope="col">Записей в очереди</th>
            <th scope="col">Из кеша</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(regate.tenants).map(([id, t]) => (
            <tr key={id}>
              <td>{id}</td>
              <td className={t.onec === 'ok' ? 'ok' : 'error'}>{ONEC_LABEL[t.onec]}</td>
              <td>
                {t.inFlight} / {t.limit}
              </td>
              <td>{t.waiting}</td>
              <td>{t.queuedWrites}</td>
              <td>{Math.round(t.cacheHitRate * 100)} %</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
