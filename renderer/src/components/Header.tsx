import { useUi } from '../store.ts';

export function Header() {
  const version = useUi((s) => s.health?.version);
  return (
    <header className="header">
      <h1>Спутник</h1>
      {version && <span className="version">версия {version}</span>}
    </header>
  );
}
