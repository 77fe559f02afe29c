import { DEFAULT_TEMPLATE, type FakePassteamOptions } from './fake.ts';

/**
 * Sandbox data for the fake Passteam: the 1C example's loyalty template and three clients.
 * Card ids are fixed (ObjectId-like) so the sandbox looks the same after every restart.
 * One DISCOUNT value carries a literal `%` on purpose (a client must not strip `%`).
 */
export function sandboxPassteamSeed(): Required<Pick<FakePassteamOptions, 'templates' | 'seedCards'>> {
  return {
    templates: [{ ...DEFAULT_TEMPLATE, variables: [...DEFAULT_TEMPLATE.variables], unique: [...DEFAULT_TEMPLATE.unique] }],
    seedCards: [
      {
        templateId: 'tpl-loyalty',
        cardId: '5bea7e305abcfd6b708b4573',
        installed: true,
        values: {
          CLIENT_NAME: 'Иванова Мария Сергеевна',
          BIRTHDAY: '14.03.1988',
          PHONE: '+79161234567',
          EMAIL: 'm.ivanova@mail.ru',
          BONUS: '1250',
          DISCOUNT: '5%',
        },
      },
      {
        templateId: 'tpl-loyalty',
        cardId: '5bea7e305abcfd6b708b4574',
        values: {
          CLIENT_NAME: 'Петров Алексей Николаевич',
          BIRTHDAY: '02.11.1975',
          PHONE: '+79037654321',
          EMAIL: 'petrov.an@yandex.ru',
          BONUS: '0',
          DISCOUNT: '3',
        },
      },
      {
        templateId: 'tpl-loyalty',
        cardId: '5bea7e305abcfd6b708b4575',
        values: {
          CLIENT_NAME: 'Смирнова Ольга Викторовна',
          BIRTHDAY: '29.07.1992',
          PHONE: '+79265550112',
          EMAIL: 'olga.smirnova92@gmail.com',
          BONUS: '340',
          DISCOUNT: '3',
        },
      },
    ],
  };
}
