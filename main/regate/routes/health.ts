import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorAnswers } from '../../listener/openapi.ts';
import { EXAMPLES as E, PROBLEMS as P, problemSchema } from '../examples.ts';
import { TAGS, type RegateServer } from '../method.ts';

const schema = {
  summary: 'Шлюз и каждая база 1С: состояние, текущий лимит, вызовы и очереди',
  operationId: 'getHealth',
  tags: [TAGS.service],
  security: [],
  response: { 200: E.health, ...errorAnswers(problemSchema, [{ ...P.invalid, means: 'запрос не по протоколу HTTP/1.1' }, P.requestTimeout, P.headers, P.internal]) },
};

/**
 * GET /regate/v1/health, open to anyone: each base's state (the same figures as Sputnik's own
 * health) and the store's. Always 200 while the gateway answers: with its store away it still
 * serves cached reads, so a balancer should not take it out for that (`gateway: degraded` says so).
 */
export const healthRoutes: FastifyPluginAsyncZod<{ health: () => Promise<{ tenants: Record<string, unknown>; store?: { state: string } }> }, RegateServer> = async (app, { health }) => {
  app.get('/regate/v1/health', { schema }, async () => {
    const h = await health();
    return { gateway: !h.store || h.store.state === 'up' ? 'ok' : 'degraded', ...(h.store ? { store: h.store } : {}), tenants: h.tenants };
  });
};
