import { z } from 'zod';
import { parseClientRule } from '../listener/clients.ts';
import { MODULES } from '../connectors/index.ts';
import type { ModuleDescriptor } from '../core/module.ts';
import { port, secret, url } from './fields.ts';
import { secretFieldsOf, type SecretField } from './secrets.ts';
import { isRecord, prop } from '../unknown.ts';

/**
 * The one config schema: the core's own parts here, each module's slice from its descriptor
 * (main/connectors/index.ts). Types, defaults, validation, the secrets and the `check` command all
 * come from it. Every object is strict: a typo must not silently disable a connector.
 */

export const listenerSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(37080),
    token: secret('SPUTNIK_LISTENER_TOKEN').optional().describe('Bearer-токен для 1С; если не задан, Спутник создаёт его сам и хранит в своей базе'),
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
  .superRefine((listener, ctx) => {
    if (isLoopback(listener.host)) return;
    if (!listener.token) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `обязателен, когда listener.host не loopback (${listener.host}): иначе API открыт всей сети` });
    }
    if (listener.allowedClients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowedClients'],
        message: `обязателен, когда listener.host не loopback (${listener.host}): перечислите адреса касс, которым можно обращаться к Спутнику, например ["192.168.1.0/24"]`,
      });
    }
  })
  .prefault({});

export const uiSchema = z
  .strictObject({
    port: port.default(37081),
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

type Slices<M extends readonly ModuleDescriptor[]> = { [D in M[number] as D['name']]: D['config'] };

/**
 * The root schema for a set of modules (the registered ones; a test may add its own): the core's
 * parts around each module's slice at `config[name]`, each module's required-when-enabled fields
 * and its own checks (the listener checks its own host/token/allowedClients).
 */
export function buildConfigSchema<const M extends readonly ModuleDescriptor[]>(modules: M) {
  // A mapped type from a runtime list: TypeScript cannot follow Object.fromEntries, the keys are the modules' names.
  const slices = Object.fromEntries(modules.map((m) => [m.name, m.config])) as Slices<M>;
  const core = { $schema: z.string().optional(), listener: listenerSchema, ui: uiSchema };
  const tail = { http: httpSchema, journal: journalSchema, log: logSchema };
  // A required secret's hint, unless given, is the environment variable that may supply it.
  const required = modules.map((m) => {
    const secrets = secretFieldsOf(m.config);
    return (m.requiredWhenEnabled ?? []).map(([field, hint]) => [field, hint ?? `или переменная ${secrets.find((f) => f.path.join('.') === field)?.env}`] as const);
  });
  return z.strictObject({ ...core, ...slices, ...tail }).superRefine((value, ctx) => {
    modules.forEach((m, i) => {
      const slice = prop(value, m.name);
      if (!isRecord(slice)) return;
      const issue = (path: ReadonlyArray<string | number>, message: string) => ctx.addIssue({ code: 'custom', path: [m.name, ...path], message });
      for (const [field, hint] of required[i]) {
        const value = slice[field];
        if (slice.enabled === true && (value === undefined || value === '')) issue([field], `обязательно, когда коннектор включён (${hint})`);
      }
      m.refine?.(slice, issue);
    });
  });
}

export const configSchema = buildConfigSchema(MODULES);

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
/** A module with a connector state (outbox lane, health entry): its descriptor's `connector`. */
export type ConnectorName = string;
export const CONNECTORS: readonly ConnectorName[] = MODULES.filter((m) => 'connector' in m && m.connector).map((m) => m.name);

/** A module's slice of the config, by its name (the registered ones only: no prototype key). */
export function sliceOf(config: Config, name: string): { enabled?: boolean; baseUrl?: string } & Record<string, unknown> {
  return Object.hasOwn(config, name) ? Reflect.get(config, name) : {};
}

/** Every secret field of the config: where it is, and the environment variable that may supply it. */
export const SECRET_FIELDS: readonly SecretField[] = secretFieldsOf(configSchema);
/** The secrets an environment variable may supply (`SPUTNIK_PAYKEEPER_PASSWORD` …), in the schema's order. */
export const SECRETS = SECRET_FIELDS.flatMap((f) => (f.env ? [{ path: f.path, env: f.env }] : []));

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function defaultConfig(): Config {
  return configSchema.parse({});
}

export { passteamSchema } from '../connectors/passteam/module.ts';
export { paykeeperSchema } from '../connectors/paykeeper/module.ts';
export { docpartSchema } from '../connectors/docpart/module.ts';
export { regateSchema, regateTenantSchema, regateTimeoutsSchema } from '../regate/module.ts';
