import type { FastifyReply, FastifyRequest } from 'fastify';
import { idempotencyKey } from '../input.ts';
import type { Serve, WriteCall } from '../method.ts';
import { staleReads, timeoutFor } from '../methods.ts';
import { limited, SlotTimeout, writeOutcome } from '../onec.ts';
import { tenantOf } from '../plugins/auth.ts';
import { problemBody } from '../plugins/errors.ts';
import { RegateProblem } from '../problem.ts';
import type { CacheChanges, IdempotencyRepo, WriteQueue, WriteRecord } from '../repos/index.ts';
import { UpstreamFailure, type UpstreamAnswer } from '../upstream.ts';

/**
 * A write (REST route or alias) by Idempotency-Key: replayed, refused, done now, or queued (202)
 * for when 1C is back. Recorded durably before 1C is called; 1C gets the key as its request id.
 */
export function writer(deps: { idempotency: IdempotencyRepo; queue: WriteQueue; changes: CacheChanges }): Serve<WriteCall> {
  const queue = async (reply: FastifyReply, record: WriteRecord) => {
    await deps.queue.enqueue(record);
    return queuedAnswer(reply, { ...record, state: 'queued' });
  };
  return async (req, reply, call) => {
    const tenant = tenantOf(req);
    const key = idempotencyKey(req.headers['idempotency-key']);
    const body = call.body === undefined ? null : JSON.stringify(call.body);
    const begun = await deps.idempotency.begin({ tenant: tenant.tenant.id, key, method: call.method, verb: call.verb, path: call.path, body, line: call.line });
    if (begun.kind === 'mismatch') throw new RegateProblem(422, 'idempotency_key_reused', 'Ключ уже использован', 'Этот Idempotency-Key уже использован с другим запросом', { retryable: false });
    if (begun.kind === 'in_progress') {
      if (begun.record.state === 'queued') return queuedAnswer(reply, begun.record);
      throw new RegateProblem(409, 'idempotency_in_progress', 'Запрос ещё выполняется', 'Запрос с этим Idempotency-Key ещё выполняется; повторите позже', { retryable: true, retryAfterSeconds: 2 });
    }
    if (begun.kind === 'replay') {
      reply.header('Idempotent-Replayed', 'true');
      return replay(req, reply, begun.record);
    }
    const record = begun.record;
    // Writes of one client or order keep their order: behind a queued one, this one queues too.
    if (await deps.queue.busy(record, begun.lineBusy)) return queue(reply, record);
    let answer: UpstreamAnswer;
    try {
      answer = await limited(tenant, 'write', call.line, { method: call.verb, path: call.path, body: call.body, requestId: key, timeoutMs: timeoutFor(tenant.tenant, call.method, 'write') });
    } catch (e) {
      const f = e instanceof UpstreamFailure ? e : null;
      if (f?.kind === 'down' || e instanceof SlotTimeout) return queue(reply, record);
      // Outcome unknown (timeout, unreadable answer) or not done (locks): the key is free for a retry; 1C's register dedupes it.
      await deps.idempotency.forget(record.id);
      throw f ? f.problem : e;
    }
    // 1C's final word, a refusal included, is kept for the key.
    const outcome = writeOutcome(answer);
    await deps.idempotency.finish(record.id, outcome);
    if (outcome.problem) throw outcome.problem;
    // What cached reads showed before this write is stale now, on every gateway (one that misses it forgets its whole cache).
    deps.changes.publish(record.tenant, staleReads(call.method, call.path, body)).catch(() => {});
    reply.code(answer.status);
    return answer.body;
  };
}

function replay(req: FastifyRequest, reply: FastifyReply, r: WriteRecord) {
  // A refusal is answered here rather than thrown: fastify's error path drops the Idempotent-Replayed header.
  if (r.state === 'failed') return problemBody(req, reply, RegateProblem.fromStored(JSON.parse(r.answer ?? 'null')));
  reply.code(r.status ?? 200);
  return r.answer === null ? null : JSON.parse(r.answer);
}

function queuedAnswer(reply: FastifyReply, r: WriteRecord) {
  reply.code(202).header('Location', `/regate/v1/operations/${r.id}`);
  return { operationId: String(r.id), state: r.state };
}
