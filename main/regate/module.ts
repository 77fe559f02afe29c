import { z } from 'zod';
import { defineModule } from '../core/module.ts';
import { port, secret, secretMeta, url } from '../config/fields.ts';
import { isRegateMethod, methodNames } from './methods.ts';

/** How long a 1C call may take before the caller gets 504 (outcome unknown), per kind and per method. */
const onecSeconds = z.number().int().min(1).max(600);
const METHOD_NAMES = methodNames();
const namesOf = (kind: 'read' | 'write') => methodNames(kind).join(', ');
export const regateTimeoutsSchema = z
  .strictObject({
    readSeconds: onecSeconds.default(15).describe(`Сколько секунд ждать ответа 1С на чтение (${namesOf('read')}), потом 504`),
    writeSeconds: onecSeconds.default(60).describe(`Сколько секунд ждать ответа 1С на запись (${namesOf('write')}), потом 504`),
    routes: z
      .record(z.string(), onecSeconds)
      .default({})
      .superRefine((routes, ctx) => {
        for (const name of Object.keys(routes)) {
          if (!isRegateMethod(name)) ctx.addIssue({ code: 'custom', path: [name], input: name, message: `«${name}» — нет такого метода ReGate; в timeouts.routes допустимы: ${METHOD_NAMES.join(', ')}` });
        }
      })
      .describe(`Свой таймаут для отдельных методов, секунды, например { "assortment": 30 }; методы: ${METHOD_NAMES.join(', ')}`),
  })
  .prefault({});

/**
 * ReGate: the HTTPS gateway in front of 1C bases (specs/regate.md). Each tenant is one 1C base,
 * bound to the Basic credentials Richest.store uses for it.
 */
export const regateTenantSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'латинские буквы, цифры, - и _ (до 40 символов)'),
  user: z.string().min(1).describe('Логин Basic, под которым Richest.store обращается к этой базе'),
  password: secret(),
  baseUrl: url.describe('HTTP-сервис расширения ReGate в 1С, например https://1c.local/base/hs/regate/v1'),
  onecUser: z.string().min(1).describe('Технический пользователь 1С'),
  onecPassword: z.string().meta(secretMeta()).default(''),
  poolSize: z.number().int().min(2).max(200).default(10).describe('poolSize публикации 1С; Спутник держит не больше poolSize − 1 вызовов'),
  quotaPerMinute: z.number().int().min(1).optional().describe('Не больше стольких вызовов в минуту от этого клиента (иначе 429)'),
  prewarmSeconds: z.number().int().min(0).max(86_400).default(0).describe('Раз в столько секунд заранее читать первую страницу ассортимента каждого магазина (0 — не читать)'),
  timeouts: regateTimeoutsSchema.describe('Таймауты вызовов 1С этой базы: после них клиент получает 504 (результат неизвестен, повтор с тем же Idempotency-Key безопасен)'),
});

/**
 * Where ReGate keeps what outlives a request (keys, queued writes, quota, failed logins): Sputnik's
 * own SQLite (one gateway), or a PostgreSQL shared by several gateways behind a balancer (README
 * «ReGate on several machines»). The password is kept apart from the URL, like every secret.
 */
export const regateStoreSchema = z
  .strictObject({
    kind: z.enum(['sqlite', 'postgres']).default('sqlite').describe('sqlite — своя база Спутника (один шлюз); postgres — общая база нескольких шлюзов'),
    url: z
      .string()
      .optional()
      .describe('Для postgres: адрес вида postgres://пользователь@сервер:5432/база (пароль — в password или SPUTNIK_REGATE_PG_PASSWORD)'),
    password: secret('SPUTNIK_REGATE_PG_PASSWORD').optional(),
    connections: z.number().int().min(2).max(100).default(10).describe('Соединений с PostgreSQL у этого шлюза'),
    leaseSeconds: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe('Через сколько секунд без продления записи упавшего шлюза выполняет другой (сеансы 1С освобождаются вдвое быстрее)'),
  })
  .prefault({});

/** The store's URL, if it is one ReGate can use: postgres(ql)://, a host, a database, no password in it. */
function pgUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'нужен адрес вида postgres://пользователь@сервер:5432/база';
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return 'нужен адрес вида postgres://пользователь@сервер:5432/база';
  if (!u.hostname) return 'в адресе нет сервера: postgres://пользователь@сервер:5432/база';
  if (u.password) return 'пароль не пишите в адрес: укажите его в regate.store.password или в переменной SPUTNIK_REGATE_PG_PASSWORD';
  if (u.pathname.length <= 1) return 'в адресе нет базы данных: postgres://пользователь@сервер:5432/база';
  return null;
}

export const regateSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    host: z.string().min(1).default('0.0.0.0').describe('Адрес, где ReGate ждёт Richest.store: 0.0.0.0 — из сети (в песочнице по умолчанию 127.0.0.1: её вход известен всем)'),
    port: port.default(37443),
    tls: z
      .strictObject({
        certFile: z.string().min(1).optional().describe('PEM-сертификат (с цепочкой)'),
        keyFile: z.string().min(1).optional().describe('PEM-ключ'),
        pfxFile: z.string().min(1).optional().describe('или PFX/PKCS#12 с ключом'),
        pfxPassword: z.string().meta(secretMeta()).optional(),
      })
      .prefault({}),
    // A tenant's passwords are kept by its id (the desktop's safeStorage, the window's blank = keep).
    tenants: z.array(regateTenantSchema).default([]).meta({ itemKey: 'id' }),
    store: regateStoreSchema.describe('Где ReGate хранит ключи записей, очередь, квоты и неудачные входы'),
    trustedProxies: z
      .array(z.string().min(1))
      .default([])
      .describe('Адреса балансировщика перед шлюзами (IP или подсеть, например 10.0.0.5 или 10.0.0.0/24): от них адрес клиента берётся из X-Forwarded-For (для ограничения неверных входов)'),
  })
  .prefault({});

/** ReGate: what the rest of Sputnik knows of the gateway without loading it (core/module.ts). */
export const regate = defineModule({
  name: 'regate',
  title: 'ReGate',
  config: regateSchema,
  refine: (c, issue) => {
    // Tenants are found by id (1C calls, queued writes, kept passwords): two with one id would be one.
    const ids = c.tenants.map((t) => t.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) issue(['tenants', i, 'id'], `код «${id}» уже у другой базы: у каждой базы свой код`);
    });
    if (c.store.kind === 'postgres') {
      const problem = c.store.url === undefined ? 'нужен адрес PostgreSQL: postgres://пользователь@сервер:5432/база' : pgUrlProblem(c.store.url);
      if (problem) issue(['store', 'url'], problem);
    }
    if (!c.enabled) return;
    if (c.tenants.length === 0) issue(['tenants'], 'нужна хотя бы одна база (tenant), когда ReGate включён');
    const hasPem = Boolean(c.tls.certFile && c.tls.keyFile);
    if (!hasPem && !c.tls.pfxFile) issue(['tls'], 'нужен сертификат: certFile + keyFile (PEM) или pfxFile');
    const users = c.tenants.map((t) => t.user);
    users.forEach((u, i) => {
      if (users.indexOf(u) !== i) issue(['tenants', i, 'user'], `логин «${u}» уже у другой базы: у каждой базы свой логин`);
    });
  },
  // Its HTTPS listener, its tenants' pools and caps are built once at start.
  restart: true,
  journal: {
    subjects: { regate: { title: (id) => `Запрос ${id}` } },
    subsystems: { calls: '1С' },
    jobTitle: (key, systemTitle) => {
      const tenant = key.split(':')[1];
      return `${systemTitle(tenant ? `regate:${tenant}` : 'regate')} → 1С: отложенная запись`;
    },
  },
  load: () => import('./index.ts').then((m) => ({ module: m.regateModule })),
});
