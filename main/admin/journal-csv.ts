import type { JournalEntry } from '../journal/index.ts';

const HEADER = ['Номер', 'Время', 'Направление', 'Система', 'Метод', 'Адрес', 'Код ответа', 'Длительность, мс', 'Объект', 'Ошибка'];

/** RFC 4180 field, `;`-separated as Russian Excel expects. */
function field(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The filtered journal as a CSV Russian Excel opens correctly: UTF-8 with BOM, `;`, CRLF. */
export function journalCsv(rows: () => Iterable<JournalEntry>): string {
  const lines = [HEADER.join(';')];
  for (const e of rows()) {
    lines.push(
      [e.id, e.at.replace('T', ' '), e.direction === 'in' ? 'от 1С' : 'во внешний сервис', e.system, e.method, e.url, e.status, Math.round(e.durationMs), e.entity, e.error].map(field).join(';'),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
