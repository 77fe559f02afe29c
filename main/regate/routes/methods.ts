import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ReadCall, RegateServer, Serve, WriteCall } from '../method.ts';
import { methodsInOrder, REGATE_METHODS } from '../methods.ts';

/** How reads and writes are served (reads.ts, writes.ts): the REST routes and the aliases run the same two. */
export interface Serves {
  read: Serve<ReadCall>;
  write: Serve<WriteCall>;
}

/** Every method's REST route, in the table's order (the OpenAPI document's). */
export const methodRoutes: FastifyPluginAsyncZod<Serves, RegateServer> = async (app, serve) => {
  for (const name of methodsInOrder()) {
    const m = REGATE_METHODS[name];
    if (m.kind === 'read') m.route(app, name, serve.read);
    else m.route(app, name, serve.write);
  }
};
