import { useEffect, useState } from 'react';
import type { CoreStatus } from '../../../preload/bridge.ts';
import { formatTime } from '../format.ts';
import { errorMessage } from '../hooks.ts';
import { useUi } from '../store.ts';

/** How often the window asks the desktop shell about its core while Sputnik does not answer. */
const CORE_STATUS_EVERY_MS = 2000;

/**
 * In the desktop app, while the link is lost: what the shell knows of its core (the tray's line:
 * restarting after a crash, stopped after a crash loop, not answering) and whether it offers
 * «Перезапустить службу». Null in a browser (no shell) or while the link is fine.
 */
function useCoreStatus(lost: boolean) {
  const bridge = typeof window !== 'undefined' ? window.sputnik : undefined;
  const [status, setStatus] = useState<CoreStatus | null>(null);
  useEffect(() => {
    setStatus(null);
    if (!lost || !bridge) return;
    let live = true;
    const ask = () =>
      void bridge.coreStatus().then(
        (s) => live && setStatus(s),
        () => {},
      );
    ask();
    const timer = setInterval(ask, CORE_STATUS_EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [lost, bridge]);
  return { bridge, status, setStatus };
}

/**
 * Every page, while Sputnik does not answer: says so, and that what is below is as of the last
 * moment it did. It goes away by itself when the live connection is back. In the desktop app it
 * also says what the shell knows of the service and offers the tray's «Перезапустить службу».
 */
export function ConnectionBanner() {
  const link = useUi((s) => s.link);
  const { bridge, status, setStatus } = useCoreStatus(link.state === 'lost');
  const [restarting, setRestarting] = useState(false);
  const [restartError, setRestartError] = useState<string | null>(null);
  if (link.state === 'ok') return null;
  const at = link.lastSeen ? formatTime(new Date(link.lastSeen).toISOString()) : null;
  const asOf = at ? `Ниже — данные на момент ${at}: они могут быть устаревшими.` : 'Данных от Спутника ещё нет.';
  if (link.state === 'denied') {
    return (
      <div className="link-banner" role="alert">
        <strong>Вход в окно Спутника устарел.</strong> Откройте Спутник по адресу входа, который служба напечатала при запуске. {asOf}
      </div>
    );
  }
  const core = status?.down ? status : null;
  const restart = () => {
    if (!bridge) return;
    setRestarting(true);
    setRestartError(null);
    bridge
      .restartCore()
      .then(
        (s) => setStatus(s),
        (e: unknown) => setRestartError(errorMessage(e)),
      )
      .finally(() => setRestarting(false));
  };
  return (
    <div className="link-banner" role="alert">
      <strong>Спутник не отвечает.</strong> {core && <span className="core-line">{sentence(core.line)} </span>}
      {asOf} Окно подключится само, как только Спутник снова заработает
      {core?.restart ? '.' : '; если этого долго не происходит, запустите Спутник заново.'}
      {core?.restart && (
        <div className="link-banner-action">
          <button type="button" className="primary" disabled={restarting} onClick={restart}>
            {restarting ? 'Служба перезапускается…' : 'Перезапустить службу'}
          </button>
          {restartError && <span> {restartError}</span>}
        </div>
      )}
    </div>
  );
}

/** The tray's line as a sentence in the banner's text. */
function sentence(line: string): string {
  return /[.…!?]$/.test(line) ? line : `${line}.`;
}
