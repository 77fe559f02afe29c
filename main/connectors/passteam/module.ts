import { z } from 'zod';
import { defineModule } from '../../core/module.ts';
import { secret, url } from '../../config/fields.ts';

/** Its section of the 1C API's OpenAPI document. */
export const CARDS_TAG = 'Карты';

export const passteamSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.default('https://getpass.passteam.ru'),
    token: secret('SPUTNIK_PASSTEAM_TOKEN').optional(),
    templateId: z.string().min(1).optional(),
    fields: z
      .strictObject({
        name: z.string().min(1).default('CLIENT_NAME'),
        birthday: z.string().min(1).default('BIRTHDAY'),
        phone: z.string().min(1).default('PHONE'),
        email: z.string().min(1).default('EMAIL'),
        bonus: z.string().min(1).default('BONUS'),
      })
      .prefault({}),
    concurrency: z.number().int().min(1).max(32).default(8),
  })
  .prefault({});

/** Passteam loyalty cards: what the rest of Sputnik knows of the module without loading it (core/module.ts). */
export const passteam = defineModule({
  name: 'passteam',
  title: 'Passteam',
  config: passteamSchema,
  requiredWhenEnabled: [['token'], ['templateId', 'id шаблона карты выдаёт менеджер Passteam']],
  connector: { pausable: true, testable: true },
  feeds: [{ kind: 'cards', table: 'cards' }],
  journal: {
    subjects: {
      card: { title: (id) => `Карта ${id}`, delivered: 'отправлена', retry: true, failed: 'Карта не отправлена в Passteam' },
      bonus: { title: (id) => `Бонусы карты ${id}`, delivered: 'отправлены' },
    },
    paths: [
      { match: /^\/v1\/cards\/([^/]+)\/bonus$/, entity: (m) => `bonus:${m[1]}` },
      { match: /^\/v1\/cards\/([^/]+)$/, entity: (m) => `card:${m[1]}` },
      { match: /^\/v1\/cards$/, noun: 'Карты' },
    ],
  },
  docs: {
    tags: [{ name: CARDS_TAG, description: 'Карты лояльности Passteam: 1С записывает карту и бонусный баланс, Спутник доставляет их в Passteam и сообщает cardId и ссылку на карту' }],
  },
  ui: {
    page: { route: 'cards', title: 'Карты' },
    settings: {
      title: 'Passteam (электронные карты)',
      fields: [
        { key: 'enabled', label: 'Включён' },
        { key: 'baseUrl', label: 'Адрес API', hint: 'обычно https://getpass.passteam.ru' },
        { key: 'token', label: 'Токен' },
        { key: 'templateId', label: 'Шаблон карты (templateId)', hint: 'id шаблона выдаёт менеджер Passteam' },
        { key: 'concurrency', label: 'Одновременных запросов' },
      ],
    },
  },
  load: () => import('./index.ts').then((m) => ({ module: m.passteamModule, check: m.check })),
});
