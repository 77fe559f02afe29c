import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { parsePart } from '../input.ts';
import type { RegateServer } from '../method.ts';

/**
 * Routes validate with their zod schemas (typed by fastify-type-provider-zod); a refusal is the
 * 400 problem naming the field or header (input.ts). Answers go out as JSON as they are.
 */
const plugin: FastifyPluginAsyncZod<Record<never, never>, RegateServer> = async (app) => {
  app.setValidatorCompiler<z.ZodType>(({ schema, httpPart }) => (data) => {
    try {
      if (httpPart !== 'headers') return { value: parsePart(schema, data, 'field') };
      // Headers are checked, not replaced: a replaced set is copied on every later read of req.headers.
      parsePart(schema, data, 'headers');
      return {};
    } catch (e) {
      return { error: e instanceof Error ? e : new Error(String(e)) };
    }
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
};

export const validation = fp(plugin, { name: 'regate-validation' });
