import { z } from 'zod';
import { defineModule } from '../../core/module.ts';
import { secret, secretMeta, url } from '../../config/fields.ts';

/** Its section of the 1C API's OpenAPI document. */
export const DOCPART_TAG = 'Docpart';

export const docpartSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.optional(),
    path: z.string().startsWith('/').default('/api/agent_1c/execute.php'),
    techKey: secret('SPUTNIK_DOCPART_TECH_KEY').optional(),
    basicAuth: z.strictObject({ user: z.string().default(''), password: z.string().meta(secretMeta('SPUTNIK_DOCPART_BASIC_PASSWORD')).default('') }).prefault({}),
    everySeconds: z.number().int().min(30).max(86400).default(300),
    lookbackDays: z.number().int().min(1).max(365).default(14),
  })
  .prefault({});

/** The shop's agent tasks a pull calls, as the journal names them (`docpart:get_orders`). */
const TASKS: ReadonlyMap<string, string> = new Map([
  ['check_connection', 'проверка связи'],
  ['get_orders', 'заказы'],
  ['get_orders_items', 'строки заказов'],
  ['get_user_info', 'покупатели'],
  ['get_payments', 'платежи'],
  ['get_article_info', 'сведения об артикуле'],
]);

/** Docpart orders: what the rest of Sputnik knows of the module without loading it (core/module.ts). */
export const docpart = defineModule({
  name: 'docpart',
  title: 'Docpart',
  config: docpartSchema,
  requiredWhenEnabled: [['baseUrl', 'адрес сайта Docpart'], ['techKey']],
  connector: { testable: true },
  feeds: [{ kind: 'docpart', table: 'docpart_orders' }],
  journal: {
    subjects: { docpart: { title: (id) => (id === 'pull' ? 'Загрузка заказов Docpart' : `Docpart: ${TASKS.get(id) ?? id}`) } },
    paths: [
      { match: /^\/v1\/docpart\/orders$/, noun: 'Заказы Docpart' },
      { match: /^\/v1\/docpart\/payments$/, noun: 'Платежи Docpart' },
      { match: /^\/v1\/docpart\/articles\//, noun: 'Артикул Docpart' },
      { match: /^\/v1\/docpart\/sync$/, noun: 'Загрузка заказов Docpart' },
    ],
  },
  docs: {
    tags: [{ name: DOCPART_TAG, description: 'Заказы и движения по балансу покупателей интернет-магазина Docpart (Спутник загружает их по расписанию), артикулы' }],
  },
  ui: {
    page: { route: 'docpart', title: 'Заказы Docpart' },
    settings: {
      title: 'Docpart (заказы интернет-магазина)',
      fields: [
        { key: 'enabled', label: 'Включён' },
        { key: 'baseUrl', label: 'Адрес сайта' },
        { key: 'path', label: 'Путь к агенту 1С', hint: 'по умолчанию /api/agent_1c/execute.php' },
        { key: 'techKey', label: 'Технический ключ' },
        { key: 'basicAuth.user', label: 'Пользователь Basic-авторизации', hint: 'если сайт закрыт паролем' },
        { key: 'basicAuth.password', label: 'Пароль Basic-авторизации' },
        { key: 'everySeconds', label: 'Загружать каждые, секунд' },
        { key: 'lookbackDays', label: 'Глубина загрузки, дней' },
      ],
    },
  },
  load: () => import('./index.ts').then((m) => ({ module: m.docpartModule, check: m.check })),
});
