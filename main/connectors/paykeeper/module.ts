import { z } from 'zod';
import { defineModule } from '../../core/module.ts';
import { secret, url } from '../../config/fields.ts';

/** Its section of the 1C API's OpenAPI document. */
export const INVOICES_TAG = 'Счета';

export const paykeeperSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.optional(),
    user: z.string().min(1).optional(),
    password: secret('SPUTNIK_PAYKEEPER_PASSWORD').optional(),
    concurrency: z.number().int().min(1).max(32).default(4),
  })
  .prefault({});

/** PayKeeper invoices: what the rest of Sputnik knows of the module without loading it (core/module.ts). */
export const paykeeper = defineModule({
  name: 'paykeeper',
  title: 'PayKeeper',
  config: paykeeperSchema,
  requiredWhenEnabled: [['baseUrl', 'адрес вида https://магазин.server.paykeeper.ru'], ['user', 'логин личного кабинета PayKeeper'], ['password']],
  connector: { pausable: true, testable: true },
  feeds: [{ kind: 'invoices', table: 'invoices' }],
  journal: {
    subjects: { invoice: { title: (id) => `Счёт по заказу ${id}`, delivered: 'передан', retry: true, failed: 'Счёт не выставлен в PayKeeper' } },
    paths: [
      { match: /^\/v1\/invoices\/([^/]+)$/, entity: (m) => (m[1] !== 'export' ? `invoice:${m[1]}` : null) },
      { match: /^\/v1\/invoices$/, noun: 'Счета' },
      { match: /^\/v1\/invoices\/export$/, noun: 'Выгрузка счетов' },
    ],
  },
  docs: {
    tags: [{ name: INVOICES_TAG, description: 'Счета PayKeeper: выставить (один или пачкой), узнать состояние и оплату, отозвать, выгрузить за период' }],
  },
  ui: {
    page: { route: 'invoices', title: 'Счета' },
    settings: {
      title: 'PayKeeper (счета на оплату)',
      fields: [
        { key: 'enabled', label: 'Включён' },
        { key: 'baseUrl', label: 'Адрес личного кабинета', hint: 'вида https://магазин.server.paykeeper.ru' },
        { key: 'user', label: 'Логин' },
        { key: 'password', label: 'Пароль' },
        { key: 'concurrency', label: 'Одновременных запросов' },
      ],
    },
  },
  load: () => import('./index.ts').then((m) => ({ module: m.paykeeperModule, check: m.check })),
});
