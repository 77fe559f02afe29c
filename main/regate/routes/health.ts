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

/** GET /regate/v1/health, open to anyone: each base's state (the same figures as Sputnik's own health). */
export const healthRoutes: FastifyPluginAsyncZod<{ health: () => Promise<{ tenants: Record<string, unknown> }> }, RegateServer> = async (app, { health }) => {
  app.get('/regate/v1/health', { schema }, async () => ({ gateway: 'ok', tenants: (await health()).tenants }));
};
