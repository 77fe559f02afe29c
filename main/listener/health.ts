import { z } from 'zod';
import { TAGS } from './docs.ts';
import { onecErrors } from './error-docs.ts';
import { documented } from './openapi.ts';

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

const brief = { status: 'ok' as const, version: '0.1.0' };
const connectors = { passteam: { state: 'ok' as const, lastError: null, since: null }, docpart: { state: 'disabled' as const, lastError: null, since: null } };

/** GET /v1/health's route schema: public, so no 401; with a token the answer is detailed. */
export const healthRoute = {
  summary: 'Состояние Спутника',
  description: 'Без токена — только status и version; с токеном — ещё состояние коннекторов, очереди и хранилища.',
  operationId: 'getHealth',
  tags: [TAGS.service],
  security: [],
  response: {
    200: documented(healthSchema, 'Спутник отвечает; status degraded — что-то не так (см. connectors и store)', {
      brief: { summary: 'Без токена', value: brief },
      detailed: { summary: 'С токеном', value: { ...brief, sandbox: false, connectors, queue: { depth: 2, oldestAgeSeconds: 4 }, store: { ok: true } } },
      degraded: {
        summary: 'Passteam не отвечает',
        value: {
          ...brief,
          status: 'degraded' as const,
          sandbox: false,
          connectors: { ...connectors, passteam: { state: 'failing' as const, lastError: { code: 'network_error', message: 'Passteam не отвечает: соединение отклонено' }, since: '2026-12-06T10:15:00' } },
          queue: { depth: 40, oldestAgeSeconds: 310 },
          store: { ok: true },
        },
      },
    }),
    ...onecErrors([], { auth: false, values: false }),
  },
};
