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

/**
 * The same three clients as 1C would send them, through Sputnik's API: each card is saved with the
 * cardId the fake Passteam already has (the way an earlier integration's cards are adopted), so the
 * window shows synced cards at once. Skipped when the data folder already has them.
 */
export async function seedSandboxCards(listenerUrl: string, token: string): Promise<void> {
  const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, listenerUrl), { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  const { seedCards } = sandboxPassteamSeed();
  for (const [i, c] of seedCards.entries()) {
    const code = `200000000000${i + 1}`;
    if ((await api(`/v1/cards/${code}`)).status === 200) continue;
    const v = c.values;
    await api(`/v1/cards/${code}?wait=5`, {
      method: 'PUT',
      body: JSON.stringify({ cardId: c.cardId, holder: { name: v.CLIENT_NAME, birthday: v.BIRTHDAY, phone: v.PHONE, email: v.EMAIL }, bonus: v.BONUS, values: { DISCOUNT: v.DISCOUNT } }),
    });
  }
}
