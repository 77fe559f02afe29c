import { excelCsv, Formatted, type CsvCell } from '../excel-csv.ts';
import type { JournalEvent } from '../journal/index.ts';
import { systemTitle } from '../journal/wording.ts';

const HEADER = ['Номер', 'Время', 'Направление', 'Система', 'Событие', 'Итог', 'Что произошло', 'Ошибка', 'Объект', 'Обменов', 'Длительность, мс', 'Последний запрос'];

const OUTCOMES: Readonly<Record<JournalEvent['outcome'], string>> = { ok: 'успешно', failed: 'ошибка', running: 'идёт', interrupted: 'прервано' };

/** `ДД.ММ.ГГГГ ЧЧ:ММ:СС` on this computer's clock (or `timeZone`'s), as Russian Excel reads a date and time. */
export function localDateTime(ms: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('ru-RU', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(ms);
  const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? '';
  return `${p('day')}.${p('month')}.${p('year')} ${p('hour')}:${p('minute')}:${p('second')}`;
}

/**
 * The filtered journal's events as a CSV Russian Excel opens correctly (main/excel-csv.ts: UTF-8
 * with BOM, `;`, CRLF), local time, systems and outcomes in Russian, the error sentence filled in;
 * text that Excel would run as a formula or turn into a number is written as a literal.
 */
export function journalCsv(rows: () => Iterable<JournalEvent>, timeZone?: string): string {
  const records: CsvCell[][] = [HEADER];
  for (const e of rows()) {
    records.push([
      e.id,
      new Formatted(localDateTime(Date.parse(e.at), timeZone)),
      e.direction === 'in' ? 'входящий' : 'исходящий',
      systemTitle(e.system),
      e.title,
      OUTCOMES[e.outcome],
      e.summary,
      e.error,
      e.entity,
      e.exchanges,
      Math.round(e.durationMs),
      e.method && e.url ? `${e.method} ${e.url}` : null,
    ]);
  }
  return excelCsv(records, { bom: true });
}
