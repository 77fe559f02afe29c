import { formatTime } from '../format.ts';
import { useUi } from '../store.ts';

/**
 * Every page, while Sputnik does not answer: says so, and that what is below is as of the last
 * moment it did. It goes away by itself when the live connection is back.
 */
export function ConnectionBanner() {
  const link = useUi((s) => s.link);
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
  return (
    <div className="link-banner" role="alert">
      <strong>Спутник не отвечает.</strong> {asOf} Окно подключится само, как только Спутник снова заработает; если этого долго не происходит, запустите Спутник заново.
    </div>
  );
}
