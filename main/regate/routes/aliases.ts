import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AliasInput, Method, RegateServer } from '../method.ts';
import { methodsInOrder, REGATE_METHODS } from '../methods.ts';
import { RegateProblem } from '../problem.ts';
import type { Serves } from './methods.ts';

/**
 * The task's own method names, `/regate/{method}` (GET or POST, parameters in the query or a JSON
 * body, the name in any case): each a route of its own that runs its REST route's function within
 * the same request — one call, one quota unit, one journal row under the address it was called by.
 */
export const aliasRoutes: FastifyPluginAsyncZod<Serves, RegateServer> = async (app, serve) => {
  const byName = new Map<string, (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>>();
  for (const name of methodsInOrder()) {
    const m = REGATE_METHODS[name];
    const handler = (req: FastifyRequest, reply: FastifyReply) => {
      const input = aliasInput(m, req);
      return m.kind === 'read' ? serve.read(req, reply, m.fromAlias(name, req, input)) : serve.write(req, reply, m.fromAlias(name, req, input));
    };
    byName.set(name, handler);
    app.route({ method: ['GET', 'POST'], url: `/regate/${name}`, schema: { hide: true }, handler });
  }
  // The names in another case (/regate/CITY), and names that are no method.
  app.route({
    method: ['GET', 'POST'],
    url: '/regate/:method',
    schema: { hide: true, params: z.object({ method: z.string() }) },
    handler: (req, reply) => {
      const name = req.params.method.toLowerCase();
      const handler = byName.get(name);
      if (!handler) throw new RegateProblem(404, 'unknown_method', 'Нет такого метода', `Метод «${name}» неизвестен; методы: ${[...byName.keys()].join(', ')}`, { retryable: false });
      return handler(req, reply);
    },
  });
};

/** An alias call's parts: its path parameters and query from the query string and a JSON body (text or numbers), the body for a write. */
function aliasInput(m: Method, req: FastifyRequest): AliasInput {
  const body = req.body ?? {};
  const given = new Map<string, string>();
  const query = req.query !== null && typeof req.query === 'object' ? req.query : {};
  for (const [k, v] of Object.entries({ ...query, ...(typeof body === 'object' ? body : {}) })) if (typeof v === 'string' || typeof v === 'number') given.set(k, String(v));
  return {
    params: Object.fromEntries(m.paramNames.flatMap((k) => (given.has(k) ? [[k, String(given.get(k))]] : []))),
    query: Object.fromEntries([...given].filter(([k]) => !m.paramNames.includes(k))),
    body: m.kind === 'read' ? undefined : body,
  };
}
