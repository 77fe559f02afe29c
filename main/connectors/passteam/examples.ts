/**
 * Examples for /v1/openapi.json's card operations: what 1C sends (as the onec/ extension builds
 * it) and what Sputnik answers with the sandbox's fake Passteam.
 */

export const CARD = {
  holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: '+7 (987) 654-32-10', email: 'ivanov@example.ru' },
  bonus: 1250.5,
  values: { DISCOUNT: '5' },
};

/** A card the earlier integration made in Passteam: its cardId is in 1C, Sputnik updates that card. */
export const OLD_CARD = { holder: { name: 'Иванова Мария', phone: '8 916 123-45-67', email: '' }, bonus: 10, cardId: '5bea7e305abcfd6b708b4573' };

/** The card as a form: every value is text, 1C's own spellings included. */
export const CARD_FORM = { holder: { name: 'Иванов Иван Иванович', birthday: '17.05.1990', phone: '+7 987 654-32-10', email: 'ivanov@example.ru' }, bonus: '1 250,5' };

export const SYNCED = {
  code: '2000000012345',
  state: 'synced' as const,
  cardId: '6b15c589b05bd595726492fc',
  cardUrl: 'https://getpass.passteam.ru/card/6b15c589b05bd595726492fc',
  installed: false,
  bonus: 1250.5,
  updatedAt: '2026-12-06T20:28:57',
  lastError: null,
};

export const QUEUED_NEW = { ...SYNCED, state: 'queued' as const, cardId: null, cardUrl: null, installed: null };
export const QUEUED_BONUS = { ...SYNCED, state: 'queued' as const, bonus: 1300.5 };
export const INSTALLED = { ...SYNCED, installed: true };
export const FAILED = {
  ...SYNCED,
  code: '2000000012346',
  state: 'failed' as const,
  cardId: null,
  cardUrl: null,
  installed: null,
  lastError: { code: 'phone_taken', message: 'Этот номер телефона уже привязан к другой карте в Passteam: проверьте телефон владельца карты' },
};
