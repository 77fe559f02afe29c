import { useEffect } from 'react';
import { Header } from './components/Header.tsx';
import { JournalTable } from './components/JournalTable.tsx';
import { SandboxBanner } from './components/SandboxBanner.tsx';
import { StatusPanel } from './components/StatusPanel.tsx';
import { useUi } from './store.ts';

const REFRESH_MS = 5000;
const SEARCH_DEBOUNCE_MS = 300;

export function App() {
  const q = useUi((s) => s.q);

  useEffect(() => {
    const { refreshHealth, refreshJournal } = useUi.getState();
    void refreshHealth();
    const timer = setInterval(() => {
      // A hidden window (tray app minimised) has no reader; skip the work.
      if (document.hidden) return;
      void refreshHealth();
      void refreshJournal();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void useUi.getState().refreshJournal(), q === '' ? 0 : SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [q]);

  return (
    <div className="app">
      <Header />
      <SandboxBanner />
      <main>
        <StatusPanel />
        <JournalTable />
      </main>
    </div>
  );
}
