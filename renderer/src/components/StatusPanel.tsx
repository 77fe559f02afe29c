import { connectorName, formatAge, formatTime, stateLabel } from '../format.ts';
import { useUi } from '../store.ts';
import type { ConnectorHealth } from '../types.ts';

function ConnectorRow({ name, health }: { name: string; health: ConnectorHealth }) {
  return (
    <li className={`connector state-${health.state}`}>
      <span className="connector-name">{connectorName(name)}</span>
      <span className="connector-state">{stateLabel(health.state)}</span>
      {health.since && health.state !== 'ok' && health.state !== 'disabled' && (
        <span className="muted"> с {formatTime(health.since)}</span>
      )}
      {health.lastError && health.state !== 'ok' && (
        <div className="connector-error">{health.lastError.message}</div>
      )}
    </li>
  );
}

export function StatusPanel() {
  const health = useUi((s) => s.health);
  const error = useUi((s) => s.healthError);
  return (
    <section className="panel" aria-labelledby="status-title">
      <h2 id="status-title">Состояние</h2>
      {error && <div className="error">{error}</div>}
      {!health && !error && <div className="muted">Загрузка…</div>}
      {health && (
        <dl className="status-grid">
          <dt>Адрес для 1С</dt>
          <dd>
            <code>{health.listener.url}</code>{' '}
            <span className="muted">
              {health.listener.exposed ? '(открыт для других компьютеров сети)' : '(только этот компьютер)'}
            </span>
          </dd>
          <dt>Сервисы</dt>
          <dd>
            <ul className="connectors">
              {Object.entries(health.connectors).map(([name, c]) => (
                <ConnectorRow key={name} name={name} health={c} />
              ))}
            </ul>
          </dd>
          <dt>Очередь</dt>
          <dd>
            <span className="queue-depth">{health.queue.depth}</span>
            {health.queue.depth > 0 && (
              <span className="muted"> · самое старое ждёт {formatAge(health.queue.oldestAgeSeconds)}</span>
            )}
          </dd>
          {!health.store.ok && (
            <>
              <dt>База данных</dt>
              <dd className="error">недоступна</dd>
            </>
          )}
        </dl>
      )}
    </section>
  );
}
