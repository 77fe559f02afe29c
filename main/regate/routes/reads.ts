import type { ReadCall, Serve } from '../method.ts';
import { timeoutFor } from '../methods.ts';
import { businessProblem, limited } from '../onec.ts';
import { tenantOf } from '../plugins/auth.ts';
import { PAGE_TYPE, pageBytes } from '../page-bytes.ts';
import { UpstreamFailure } from '../upstream.ts';

/**
 * A read (REST route or alias): through the base's cache (fresh, stale while one call refreshes
 * it, stale when 1C fails), one call per key at a time, inside the cap. An answer carries X-Cache
 * and an ETag; If-None-Match gets 304. A fresh hit of a URL served here before is answered by
 * fresh-hits.ts ahead of fastify, with the same headers.
 */
export const serveRead: Serve<ReadCall> = async (req, reply, call) => {
  const tenant = tenantOf(req);
  const key = `${tenant.tenant.id}:${call.path}`;
  // A fresh hit (most reads of a hot page) skips the loader's closure and the cache's promise turns.
  const got =
    tenant.cache.fresh(key, call.policy) ??
    (await tenant.cache
      .get(key, call.policy, async () => {
        const answer = await limited(tenant, 'read', undefined, { method: 'GET', path: call.path, timeoutMs: timeoutFor(tenant.tenant, call.method, 'read') });
        if (answer.status >= 400) throw businessProblem(answer);
        return answer.body;
      })
      .catch((e: unknown) => {
        throw e instanceof UpstreamFailure ? e.problem : e;
      }));
  reply.header('X-Cache', got.state === 'fresh' ? 'HIT' : got.state === 'stale' ? 'STALE' : 'MISS');
  if (got.state === 'stale') reply.header('Warning', '110 - "Response is Stale"');
  const { text, bytes, etag } = pageBytes(got.value);
  reply.header('ETag', etag);
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  if (got.state === 'miss') req.replyText = text; // journaled when it came from 1C; a cache hit is only counted
  return reply.type(PAGE_TYPE).send(bytes);
};
