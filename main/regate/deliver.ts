import { DeliveryError } from '../errors.ts';
import { staleReads, timeoutFor } from './methods.ts';
import { underCap, writeOutcome, type TenantRuntime } from './onec.ts';
import type { CacheChanges, Deliver } from './repos/index.ts';
import { UpstreamFailure } from './upstream.ts';

const isWriteVerb = (v: string): v is 'POST' | 'PUT' | 'PATCH' => v === 'POST' || v === 'PUT' || v === 'PATCH';

/**
 * Sends a queued write to its base's 1C: with its method's timeout (as on the direct path), its
 * Idempotency-Key as the request id (1C's register makes a retry after a timeout safe, so every
 * failure is retried), and its line as the cap's key (a queued write and a direct one of the same
 * client are never in 1C side by side). 1C's answer, a refusal too, is the write's final word.
 */
export function deliverQueued(tenants: Map<string, TenantRuntime>, changes?: CacheChanges): Deliver {
  return async (w) => {
    const tenant = tenants.get(w.tenant);
    if (!tenant) throw new DeliveryError('refused', 'regate_tenant_gone', `База ${w.tenant} больше не настроена в ReGate`);
    if (!isWriteVerb(w.verb)) throw new DeliveryError('refused', 'regate_bad_record', `Запись ${w.id}: метод ${w.verb} — не запись`);
    try {
      const call = { method: w.verb, path: w.path, body: w.body === null ? undefined : JSON.parse(w.body), requestId: w.key, timeoutMs: timeoutFor(tenant.tenant, w.method || undefined, 'write') };
      const { state, status, answer } = writeOutcome(await underCap(tenant, 'write', call, { key: w.line }));
      // 1C did it: what cached reads showed before is stale on every gateway.
      if (state === 'done') changes?.publish(w.tenant, staleReads(w.method, w.path, w.body)).catch(() => {});
      return { state, status, answer };
    } catch (e) {
      const f = e instanceof UpstreamFailure ? e : null;
      throw new DeliveryError(f?.kind === 'refused_auth' ? 'auth' : 'retry', f?.problem.code ?? 'regate_failed', f?.problem.message ?? String(e));
    }
  };
}
