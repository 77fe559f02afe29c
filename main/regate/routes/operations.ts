import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorAnswers, exampled } from '../../listener/openapi.ts';
import { onecInteger } from '../../listener/onec-values.ts';
import { EXAMPLES as E, PROBLEMS as P, problemSchema } from '../examples.ts';
import { TAGS, type RegateServer } from '../method.ts';
import { tenantOf } from '../plugins/auth.ts';
import { RegateProblem } from '../problem.ts';
import type { IdempotencyRepo, WriteRecord } from '../repos/index.ts';

const schema = {
  summary: 'Состояние отложенной записи (202)',
  operationId: 'getOperation',
  tags: [TAGS.operations],
  params: z.object({ id: exampled(onecInteger({ min: 1 }).describe('operationId из ответа 202'), '17') }),
  response: { 200: E.operation, ...errorAnswers(problemSchema, [P.invalid, P.unauthorized, P.operationNotFound, P.tooManyLogins, P.quota, P.requestTimeout, P.headers, P.internal]) },
};

/** A write accepted with 202 (or any write of the base's, by its operation id): queued, done with 1C's answer, or failed with its problem. */
export const operationRoutes: FastifyPluginAsyncZod<{ idempotency: IdempotencyRepo }, RegateServer> = async (app, { idempotency }) => {
  app.get('/regate/v1/operations/:id', { schema }, async (req) => {
    const r = await idempotency.get(req.params.id);
    if (!r || r.tenant !== tenantOf(req).tenant.id) throw new RegateProblem(404, 'operation_not_found', 'Нет такой операции', 'Операция не найдена (или старше 72 ч)', { retryable: false });
    return operationView(r);
  });
};

export function operationView(r: WriteRecord) {
  const answer = r.answer === null ? null : JSON.parse(r.answer);
  return {
    operationId: String(r.id),
    state: r.state,
    ...(r.state === 'done' ? { status: r.status, result: answer } : {}),
    ...(r.state === 'failed' ? { status: r.status, problem: answer } : {}),
  };
}
