import { healthSchema } from '../core/health-shape.ts';
import { TAGS } from './docs.ts';
import { onecErrors } from './error-docs.ts';
import { documented } from './openapi.ts';

export { healthSchema, type HealthBody } from '../core/health-shape.ts';

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
