import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RegateServer } from '../method.ts';
import { RegateProblem } from '../problem.ts';
import type { QuotaWindows } from '../repos/index.ts';

/** A base's quota (`quotaPerMinute`): one call counts once, by its REST route or its alias alike; over it, 429 with Retry-After. */
const plugin: FastifyPluginAsyncZod<{ quota: QuotaWindows }, RegateServer> = async (app, { quota }) => {
  app.addHook('onRequest', (req, _reply, done) => {
    const t = req.tenant?.tenant;
    if (!t?.quotaPerMinute) return done();
    const limit = t.quotaPerMinute;
    quota.hit(t.id, limit).then(
      (r) => done(r.allowed ? undefined : new RegateProblem(429, 'quota_exceeded', 'Превышена квота', `Не больше ${limit} вызовов в минуту`, { retryAfterSeconds: r.retryAfterSeconds })),
      done,
    );
  });
};

export const quota = fp(plugin, { name: 'regate-quota', dependencies: ['regate-auth'] });
