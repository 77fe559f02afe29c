import { z } from 'zod';

/**
 * The core's health, once: GET /v1/health (its OpenAPI schema, main/listener/health.ts) and
 * /api/health answer it, the tray (main/desktop/status.ts) and the window (renderer/src/types.ts)
 * read its type. Imports nothing but zod, so the window's type check can follow it.
 */
const connectorHealth = z.object({
  state: z.enum(['disabled', 'ok', 'failing', 'paused']).describe('disabled — выключен; ok — работает; failing — нет связи, повторяем; paused — учётные данные отклонены'),
  lastError: z.object({ code: z.string(), message: z.string() }).nullable(),
  since: z.string().nullable().describe('С какого момента в этом состоянии (локальное время)'),
});

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  sandbox: z.boolean().optional().describe('true — Спутник работает с поддельными сервисами (песочница)'),
  connectors: z.record(z.string(), connectorHealth).optional(),
  regate: z
    .object({
      url: z.string().nullable(),
      tenants: z.record(
        z.string(),
        z.object({
          onec: z.enum(['ok', 'degraded', 'down']),
          limit: z.number().int().describe('Текущий предел одновременных вызовов 1С (AIMD, не больше poolSize − 1)'),
          inFlight: z.number().int(),
          waiting: z.number().int(),
          queuedWrites: z.number().int().describe('Записи, ждущие 1С'),
          cacheHitRate: z.number(),
        }),
      ),
      store: z
        .object({
          kind: z.enum(['sqlite', 'postgres']).describe('sqlite — своя база Спутника; postgres — общая база нескольких шлюзов'),
          state: z.enum(['up', 'down', 'reconnecting']).describe('up — работает; down — недоступна; reconnecting — подключается снова'),
          since: z.string().nullable().describe('С какого момента недоступна (локальное время)'),
          reason: z.string().nullable().describe('Почему недоступна'),
        })
        .optional()
        .describe('Где ReGate хранит ключи записей, очередь, квоты'),
      instances: z
        .array(
          z.object({
            id: z.string().describe('Экземпляр: сервер/процесс/случайная часть — один запуск одного процесса'),
            host: z.string().describe('Имя сервера'),
            pid: z.number().int().nullable().describe('Номер процесса'),
            self: z.boolean().describe('true — этот экземпляр (тот, что отвечает)'),
            alive: z.boolean().describe('true — на связи: отмечался в общей базе не позже аренды (leaseSeconds); иначе его записи отправят другие'),
            startedAt: z.string().describe('С какого момента работает (локальное время)'),
            seenAt: z.string().nullable().describe('Последняя отметка в общей базе (локальное время); null — один шлюз на базе Спутника'),
            slots: z.number().int().describe('Сеансов 1С занято сейчас'),
            writes: z.number().int().nullable().describe('Записей отправляет сейчас; null — не считается (база Спутника)'),
          }),
        )
        .optional()
        .describe('Экземпляры шлюза, как их знает хранилище: на PostgreSQL — все, кто отмечался за последний час; на базе Спутника — один, этот'),
    })
    .optional()
    .describe('Шлюз ReGate, когда включён'),
  queue: z
    .object({
      depth: z.number().int().describe('Заданий в очереди и в работе'),
      oldestAgeSeconds: z.number().nullable().describe('Возраст самого старого задания, секунд'),
    })
    .optional(),
  store: z.object({ ok: z.boolean() }).optional(),
});

export type HealthBody = z.infer<typeof healthSchema>;
export type ConnectorHealth = NonNullable<HealthBody['connectors']>[string];

