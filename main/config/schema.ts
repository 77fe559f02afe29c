import { z } from 'zod';
import { isRegateMethod, methodNames } from '../regate/methods.ts';
import { parseClientRule } from '../listener/clients.ts';

/**
 * The one config schema. Types, defaults, validation, the JSON Schema the UI uses and the
 * `check` command all come from here. Every object is strict: a typo must not silently
 * disable a connector.
 */
// 0 = any free port (tests, several instances on one machine).
const port = z.number().int().min(0).max(65535);
const url = z.url({ protocol: /^https?$/, error: 'нужен адрес вида https://host или http://127.0.0.1:порт' });
const secret = z.string().min(1);

export const listenerSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(37080),
    token: secret.optional().describe('Bearer-токен для 1С; если не задан, Спутник создаёт его сам и хранит в своей базе'),
    requestTimeoutSeconds: z.number().int().min(5).max(300).default(60),
    allowedClients: z
      .array(
        z.string().superRefine((v, ctx) => {
          if (!parseClientRule(v)) ctx.addIssue({ code: 'custom', input: v, message: `«${v}» — не IP-адрес и не подсеть (пример: 192.168.1.25, 192.168.1.0/24 или fd00::/64)` });
        }),
      )
      .max(1000)
      .default([])
      .describe('Кассы, которым можно обращаться к API, когда host — адрес в сети: IP-адреса и подсети, например ["192.168.1.0/24"]. Этот компьютер (127.0.0.1, ::1) можно всегда'),
  })
  .prefault({});

export const uiSchema = z
  .strictObject({
    port: port.default(37081),
  })
  .prefault({});

export const passteamSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.default('https://getpass.passteam.ru'),
    token: secret.optional(),
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

export const paykeeperSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.optional(),
    user: z.string().min(1).optional(),
    password: secret.optional(),
    concurrency: z.number().int().min(1).max(32).default(4),
  })
  .prefault({});

export const docpartSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    baseUrl: url.optional(),
    path: z.string().startsWith('/').default('/api/agent_1c/execute.php'),
    techKey: secret.optional(),
    basicAuth: z.strictObject({ user: z.string().default(''), password: z.string().default('') }).prefault({}),
    everySeconds: z.number().int().min(30).max(86400).default(300),
    lookbackDays: z.number().int().min(1).max(365).default(14),
  })
  .prefault({});

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
  password: secret,
  baseUrl: url.describe('HTTP-сервис расширения ReGate в 1С, например https://1c.local/base/hs/regate/v1'),
  onecUser: z.string().min(1).describe('Технический пользователь 1С'),
  onecPassword: z.string().default(''),
  poolSize: z.number().int().min(2).max(200).default(10).describe('poolSize публикации 1С; Спутник держит не больше poolSize − 1 вызовов'),
  quotaPerMinute: z.number().int().min(1).optional().describe('Не больше стольких вызовов в минуту от этого клиента (иначе 429)'),
  prewarmSeconds: z.number().int().min(0).max(86_400).default(0).describe('Раз в столько секунд заранее читать первую страницу ассортимента каждого магазина (0 — не читать)'),
  timeouts: regateTimeoutsSchema.describe('Таймауты вызовов 1С этой базы: после них клиент получает 504 (результат неизвестен, повтор с тем же Idempotency-Key безопасен)'),
});

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
        pfxPassword: z.string().optional(),
      })
      .prefault({}),
    tenants: z.array(regateTenantSchema).default([]),
  })
  .prefault({});

export const httpSchema = z
  .strictObject({
    proxy: url.optional().describe('HTTP(S)-прокси для исходящих запросов; иначе берутся HTTPS_PROXY/HTTP_PROXY/NO_PROXY'),
    caFile: z.string().min(1).optional().describe('PEM-файл с дополнительными корневыми сертификатами'),
    connectTimeoutSeconds: z.number().min(1).max(120).default(10),
    timeoutSeconds: z.number().min(1).max(600).default(30),
  })
  .prefault({});

export const journalSchema = z
  .strictObject({
    retentionDays: z.number().int().min(1).max(3650).default(30),
    maxMegabytes: z.number().int().min(10).max(100_000).default(200),
    bodyLimitBytes: z.number().int().min(256).max(1_048_576).default(16_384),
  })
  .prefault({});

export const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    maxFileMegabytes: z.number().int().min(1).max(1024).default(10),
    files: z.number().int().min(1).max(100).default(10),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    listener: listenerSchema,
    ui: uiSchema,
    passteam: passteamSchema,
    paykeeper: paykeeperSchema,
    docpart: docpartSchema,
    regate: regateSchema,
    http: httpSchema,
    journal: journalSchema,
    log: logSchema,
  })
  .superRefine((c, ctx) => {
    const need = (on: boolean, value: unknown, path: string[], hint: string) => {
      if (on && (value === undefined || value === '')) ctx.addIssue({ code: 'custom', path, message: `обязательно, когда коннектор включён (${hint})` });
    };
    need(c.passteam.enabled, c.passteam.token, ['passteam', 'token'], 'или переменная SPUTNIK_PASSTEAM_TOKEN');
    need(c.passteam.enabled, c.passteam.templateId, ['passteam', 'templateId'], 'id шаблона карты выдаёт менеджер Passteam');
    need(c.paykeeper.enabled, c.paykeeper.baseUrl, ['paykeeper', 'baseUrl'], 'адрес вида https://магазин.server.paykeeper.ru');
    need(c.paykeeper.enabled, c.paykeeper.user, ['paykeeper', 'user'], 'логин личного кабинета PayKeeper');
    need(c.paykeeper.enabled, c.paykeeper.password, ['paykeeper', 'password'], 'или переменная SPUTNIK_PAYKEEPER_PASSWORD');
    need(c.docpart.enabled, c.docpart.baseUrl, ['docpart', 'baseUrl'], 'адрес сайта Docpart');
    need(c.docpart.enabled, c.docpart.techKey, ['docpart', 'techKey'], 'или переменная SPUTNIK_DOCPART_TECH_KEY');
    // Tenants are found by id (1C calls, queued writes, kept passwords): two with one id would be one.
    const ids = c.regate.tenants.map((t) => t.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: ['regate', 'tenants', i, 'id'], message: `код «${id}» уже у другой базы: у каждой базы свой код` });
    });
    if (c.regate.enabled) {
      if (c.regate.tenants.length === 0) ctx.addIssue({ code: 'custom', path: ['regate', 'tenants'], message: 'нужна хотя бы одна база (tenant), когда ReGate включён' });
      const hasPem = Boolean(c.regate.tls.certFile && c.regate.tls.keyFile);
      if (!hasPem && !c.regate.tls.pfxFile) ctx.addIssue({ code: 'custom', path: ['regate', 'tls'], message: 'нужен сертификат: certFile + keyFile (PEM) или pfxFile' });
      const users = c.regate.tenants.map((t) => t.user);
      users.forEach((u, i) => {
        if (users.indexOf(u) !== i) ctx.addIssue({ code: 'custom', path: ['regate', 'tenants', i, 'user'], message: `логин «${u}» уже у другой базы: у каждой базы свой логин` });
      });
    }
    if (!isLoopback(c.listener.host) && !c.listener.token) {
      ctx.addIssue({
        code: 'custom',
        path: ['listener', 'token'],
        message: `обязателен, когда listener.host не loopback (${c.listener.host}): иначе API открыт всей сети`,
      });
    }
    if (!isLoopback(c.listener.host) && c.listener.allowedClients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['listener', 'allowedClients'],
        message: `обязателен, когда listener.host не loopback (${c.listener.host}): перечислите адреса касс, которым можно обращаться к Спутнику, например ["192.168.1.0/24"]`,
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ConnectorName = 'passteam' | 'paykeeper' | 'docpart';
export const CONNECTORS: readonly ConnectorName[] = ['passteam', 'paykeeper', 'docpart'];

/** Secrets: where they live in the config and the environment variable that may supply each. */
export const SECRETS = [
  { path: ['listener', 'token'], env: 'SPUTNIK_LISTENER_TOKEN' },
  { path: ['passteam', 'token'], env: 'SPUTNIK_PASSTEAM_TOKEN' },
  { path: ['paykeeper', 'password'], env: 'SPUTNIK_PAYKEEPER_PASSWORD' },
  { path: ['docpart', 'techKey'], env: 'SPUTNIK_DOCPART_TECH_KEY' },
  { path: ['docpart', 'basicAuth', 'password'], env: 'SPUTNIK_DOCPART_BASIC_PASSWORD' },
] as const;

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function defaultConfig(): Config {
  return configSchema.parse({});
}
