import { csvQuote, csvText } from '../connectors/paykeeper/export.ts';
import type { JournalEvent } from '../journal/index.ts';
import { systemTitle } from '../journal/wording.ts';

const HEADER = ['Номер', 'Время', 'Направление', 'Система', 'Событие', 'Итог', 'Что произошло', 'Ошибка', 'Объект', 'Обменов', 'Длительность, мс', 'Последний запрос'];

const OUTCOMES: Readonly<Record<JournalEvent['outcome'], string>> = { ok: 'успешно', failed: 'ошибка', running: 'идёт' };

/** `ДД.ММ.ГГГГ ЧЧ:ММ:СС` on this computer's clock (or `timeZone`'s), as Russian Excel reads a date and time. */
export function localDateTime(ms: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('ru-RU', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(ms);
  const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? '';
  return `${p('day')}.${p('month')}.${p('year')} ${p('hour')}:${p('minute')}:${p('second')}`;
}

/**
 * The filtered journal's events as a CSV Russian Excel opens correctly: UTF-8 with BOM, `;`, CRLF,
 * local time, systems and outcomes in Russian, the error sentence filled in; text that Excel would
 * run as a formula or turn into a number is written as a literal (csvText).
 */
export function journalCsv(rows: () => Iterable<JournalEvent>, timeZone?: string): string {
  const lines = [HEADER.join(';')];
  for (const e of rows()) {
    lines.push(
      [
        String(e.id),
        localDateTime(Date.parse(e.at), timeZone),
        e.direction === 'in' ? 'входящий' : 'исходящий',
        csvQuote(systemTitle(e.system)),
        csvText(e.title),
        OUTCOMES[e.outcome],
        csvText(e.summary),
        csvText(e.error),
        csvText(e.entity),
        String(e.exchanges),
        String(Math.round(e.durationMs)),
        csvText(e.method && e.url ? `${e.method} ${e.url}` : null),
      ].join(';'),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
