import { useEffect } from 'react';
import { ConnectionBanner } from './components/ConnectionBanner.tsx';
import { Header } from './components/Header.tsx';
import { SandboxBanner } from './components/SandboxBanner.tsx';
import { Loading } from './components/ui.tsx';
import { useRoute } from './hooks.ts';
import { MODULE_PAGES } from './modules.tsx';
import { AttentionPage } from './pages/AttentionPage.tsx';
import { JournalPage } from './pages/JournalPage.tsx';
import { OverviewPage } from './pages/OverviewPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { startHealthFeed, useUi } from './store.ts';
import type { Meta } from './types.ts';

/** The core's own pages around the modules' (their titles and order come with the service's meta). */
const FIRST = [
  { key: 'overview', title: 'Обзор' },
  { key: 'attention', title: 'Требует внимания' },
  { key: 'journal', title: 'Журнал' },
] as const;
const LAST = [{ key: 'settings', title: 'Настройки' }] as const;

/** The menu: the core's pages, and each module's page the window has code for, in the service's order. */
export function pagesOf(meta: Meta | null): Array<{ key: string; title: string }> {
  const modules = (meta?.modules ?? []).flatMap((m) => (m.page && MODULE_PAGES.has(m.page.route) ? [{ key: m.page.route, title: m.page.title }] : []));
  return [...FIRST, ...modules, ...LAST];
}

function Nav({ current, pages }: { current: string; pages: Array<{ key: string; title: string }> }) {
  const attention = useUi((s) => s.attention);
  return (
    <nav className="nav" aria-label="Разделы">
      <ul>
        {pages.map((p) => (
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
  const meta = useUi((s) => s.meta);
  const pages = pagesOf(meta);
  const known = pages.find((p) => p.key === page);
  const lost = useUi((s) => s.link.state !== 'ok');
  const ModulePage = known ? MODULE_PAGES.get(known.key) : undefined;
  // A module's page before the service has said which modules there are: wait rather than say «no such page».
  const waiting = !known && meta === null && MODULE_PAGES.has(page);

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
      <Nav current={known ? page : ''} pages={pages} />
      <ConnectionBanner />
      <SandboxBanner />
      {/* While Sputnik does not answer, what is shown is as of the banner's moment: dimmed, not current. */}
      <main id="content" tabIndex={-1}>
        {page === 'overview' && <OverviewPage />}
        {page === 'attention' && <AttentionPage />}
        {page === 'journal' && <JournalPage selected={param} />}
        {ModulePage && <ModulePage selected={param} />}
        {page === 'settings' && <SettingsPage section={param} />}
        {waiting && <Loading />}
        {!known && !waiting && (
          <section className="panel">
            <h2>Такой страницы нет</h2>
            <a href="#/overview">Перейти к обзору</a>
          </section>
        )}
      </main>
    </div>
  );
}
