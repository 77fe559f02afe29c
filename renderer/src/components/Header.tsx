import { useUi } from '../store.ts';

/** The attention count on every page: the one place that says whether anything needs doing. */
function AttentionCount() {
  const total = useUi((s) => s.attention);
  if (total === null) return null;
  return (
    <a className={`attention-count ${total > 0 ? 'attention-bad' : 'attention-none'}`} href="#/attention">
      Требует внимания: <span className="attention-total">{total}</span>
    </a>
  );
}

export function Header() {
  const version = useUi((s) => s.health?.version);
  return (
    <header className="header">
      <h1>Спутник</h1>
      {version && <span className="version">версия {version}</span>}
      <AttentionCount />
    </header>
  );
}
