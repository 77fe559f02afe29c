import { errorOf, settingsLink, type AttentionAction, type AttentionList, type CallSubject, type OnecCall } from '../../core/attention.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import { prop } from '../../unknown.ts';
import type { StoredError } from '../stored-error.ts';
import { cardError, type CardRow, type Cards } from './cards.ts';
import { cardKey } from './worker.ts';

const LIMIT = 200;

const FIELD_NAMES: Readonly<Record<string, string>> = {
  'holder.phone': 'телефон владельца',
  'holder.email': 'e-mail владельца',
  'holder.name': 'имя владельца',
  'holder.birthday': 'дату рождения владельца',
  bonus: 'бонусный баланс',
  balance: 'бонусный баланс',
  cardId: 'cardId',
};

/** What to do in 1C about a card Sputnik or Passteam refused: the one step that makes it go through. */
export function cardFix(code: string, field?: string): string {
  switch (code) {
    case 'phone_required':
      return 'Укажите мобильный телефон владельца карты в 1С и запишите карту ещё раз';
    case 'phone_taken':
      return 'Проверьте телефон владельца карты в 1С: укажите его собственный мобильный номер и запишите карту ещё раз';
    case 'card_unknown':
      return 'Запишите эту карту в 1С (или выполните «Передать все карты в Спутник»): карта уйдёт вместе с балансом';
    case 'create_uncertain':
      return 'Найдите карту в кабинете Passteam по телефону владельца и проверьте её, затем запишите карту в 1С ещё раз';
  }
  const name = field ? FIELD_NAMES[field] : undefined;
  if (name) return `Исправьте ${name} в карточке карты в 1С и запишите карту ещё раз`;
  return 'Исправьте данные карты в 1С и запишите её ещё раз; если ошибка повторится, передайте её текст программисту 1С';
}

function cardAction(code: string, error: StoredError): AttentionAction {
  if (error.code === 'passteam_method_unknown') return settingsLink('passteam'); // the address points at something else
  // Sputnik's own failure, not a refusal of the data: trying again can work.
  if (error.code === 'internal_error') return { type: 'call', label: 'Повторить', path: '/api/retry', body: { entity: cardKey(code) } };
  return { type: 'instruction', label: cardFix(error.code, error.field) };
}

const cardTitle = (code: string, name: string | null | undefined) => `Карта ${code}${name ? ` (${name})` : ''}`;

/** Failed cards for «Требует внимания»: each with Passteam's reason and what to do. */
export function cardsAttention(cards: Cards): () => AttentionList {
  return () => {
    const { rows, total } = cards.failed(LIMIT);
    return {
      total,
      items: rows.map((r: CardRow) => {
        const error: StoredError = cardError(r) ?? { code: 'passteam_refused', message: 'Passteam отказал' };
        return { kind: 'card', ref: cardKey(r.code), title: cardTitle(r.code, r.name), reason: error.message, action: cardAction(r.code, error), since: toOnecDateTime(r.updated_at) };
      }),
    };
  };
}

/**
 * Which card a 1C call was about. A refusal by Passteam itself (the card was stored and failed)
 * is not a refusal at the door: the failed card is listed instead.
 */
export function cardCallSubjects(cards: Cards): (call: OnecCall) => CallSubject[] {
  return (call) => {
    const raw = call.params.code;
    if (typeof raw !== 'string' || !raw.trim()) return [];
    const code = raw.trim();
    const holderName = prop(prop(call.body, 'holder'), 'name');
    const name = typeof holderName === 'string' ? holderName : undefined;
    const entity = cardKey(code);
    if (call.status < 300) return [{ entity, title: cardTitle(code, name) }];
    const row = cards.get(code);
    const title = cardTitle(code, name ?? row?.name);
    const error = errorOf(call.answer()) ?? { code: 'refused', message: `Запрос отклонён (HTTP ${call.status})` };
    if (row?.state === 'failed' && cardError(row)?.code === error.code) return [{ entity, title }];
    return [{ entity, title, refused: { ...error, fix: cardFix(error.code, error.field) } }];
  };
}
