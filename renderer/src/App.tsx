import { useEffect } from 'react';
import { ConnectionBanner } from './components/ConnectionBanner.tsx';
import { Header } from './components/Header.tsx';
import { SandboxBanner } from './components/SandboxBanner.tsx';
import { useRoute } from './hooks.ts';
import { AttentionPage } from './pages/AttentionPage.tsx';
import { CardsPage } from './pages/CardsPage.tsx';
import { DocpartPage } from './pages/DocpartPage.tsx';
import { InvoicesPage } from './pages/InvoicesPage.tsx';
import { JournalPage } from './pages/JournalPage.tsx';
import { OverviewPage } from './pages/OverviewPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { startHealthFeed, useUi } from './store.ts';

export const PAGES = [
  { key: 'overview', title: 'Обзор' },
  { key: 'attention', title: 'Требует внимания' },
  { key: 'journal', title: 'Журнал' },
  { key: 'cards', title: 'Карты' },
  { key: 'invoices', title: 'Счета' },
  { key: 'docpart', title: 'Заказы Docpart' },
  { key: 'settings', title: 'Настройки' },
] as const;

function Nav({ current }: { current: string }) {
  const attention = useUi((s) => s.attention);
  return (
    <nav className="nav" aria-label="Разделы">
      <ul>
        {PAGES.map((p) => (
          <li key={p.key}>
            <a href={`#/${p.key}`} aria-current={current === p.key ? 'page' : undefined}>
              {p.title}
              {p.key === 'attention' && attention ? <span className="nav-count" aria-hidden="true">{attention}</span> : null}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function App() {
  const [page, param] = useRoute();
  const known = PAGES.find((p) => p.key === page);
  const lost = useUi((s) => s.link.state !== 'ok');

  useEffect(() => startHealthFeed(), []);
  useEffect(() => {
    document.title = known ? `${known.title} — Спутник` : 'Спутник';
  }, [known]);

  return (
    <div className={`app${lost ? ' stale' : ''}`}>
      <a className="skip" href="#content" onClick={(e) => (e.preventDefault(), document.getElementById('content')?.focus())}>
        К содержимому
      </a>
      <Header />
      <Nav current={known ? page : ''} />
      <ConnectionBanner />
      <SandboxBanner />
      {/* While Sputnik does not answer, what is shown is as of the banner's moment: dimmed, not current. */}
      <main id="content" tabIndex={-1}>
        {page === 'overview' && <OverviewPage />}
        {page === 'attention' && <AttentionPage />}
        {page === 'journal' && <JournalPage selected={param} />}
        {page === 'cards' && <CardsPage selected={param} />}
        {page === 'invoices' && <InvoicesPage selected={param} />}
        {page === 'docpart' && <DocpartPage selected={param} />}
        {page === 'settings' && <SettingsPage section={param} />}
        {!known && (
          <section className="panel">
            <h2>Такой страницы нет</h2>
            <a href="#/overview">Перейти к обзору</a>
          </section>
        )}
      </main>
    </div>
  );
}
