import { z } from 'zod';

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
  queue: z
    .object({
      depth: z.number().int().describe('Заданий в очереди и в работе'),
      oldestAgeSeconds: z.number().nullable().describe('Возраст самого старого задания, секунд'),
    })
    .optional(),
  store: z.object({ ok: z.boolean() }).optional(),
});

export type HealthBody = z.infer<typeof healthSchema>;
