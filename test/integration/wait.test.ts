import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { z } from 'zod';
import { assertDelivered } from '../../main/http/client.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { waitQuery } from '../../main/core/wait.ts';
import { SputnikError } from '../../main/errors.ts';
import { startTestCore } from '../helpers/core.ts';
import { until } from '../helpers/until.ts';

/**
 * A remote whose answer per path is `status` after `delay` ms, or never for `hold` (until close()).
 * No upper bounds on real time here: what must not be waited for is held for good, so waiting for
 * it would run into the test's timeout; waits that must end in a delivery are the longest (30 s).
 */
async function remote() {
  const seen: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const [, status, delay] = /\/(\d+)-(\d+|hold)/.exec(req.url ?? '') ?? [];
    if (delay === 'hold') return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.writeHead(Number(status ?? 200), { 'content-type': 'application/json' });
      res.end('{}');
    }, Number(delay ?? 0));
    timers.add(timer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  };
  return { server, seen, close, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A domain shaped like the real ones: store the work, wait up to ?wait= for its delivery. */
function waitingModule(base: string): ModuleFactory {
  return (ctx) => ({
    name: 'waiting',
    connector: 'passteam',
    workers: {
      connector: 'passteam',
      concurrency: 4,
      handle: async (job) => assertDelivered(await ctx.http.send({ system: 'passteam', method: 'POST', url: `${base}/${(job.payload as { spec: string }).spec}` }), 'Passteam'),
    },
    routes: (app) => {
      app.put(
        '/v1/_wait/:spec',
        { schema: { params: z.object({ spec: z.string() }), querystring: z.object({ wait: waitQuery(30) }) } },
        async (req, reply) => {
          const { spec } = req.params as { spec: string };
          const key = `w:${spec}:${Math.random()}`;
          const job = await ctx.store.commit.run(() => ctx.store.outbox.enqueue({ connector: 'passteam', kind: 'w', key, payload: { spec } }));
          const r = await ctx.waits.wait(key, job!.id, (req.query as { wait: number }).wait);
          if (r.outcome === 'failed') throw new SputnikError(422, r.error.code, r.error.message);
          return reply.code(r.outcome === 'done' ? 200 : 202).send({ state: r.outcome === 'done' ? 'synced' : 'queued' });
        },
      );
    },
  });
}

describe('?wait= on calls that reach a remote service', () => {
  it('answers 200 when the remote is done in time, 202 queued when it is not, 422 on a refusal; wait=0 never blocks', async () => {
    const { close, base } = await remote();
    const t = await startTestCore({ config: { passteam: { enabled: true, token: 't', templateId: 'x', baseUrl: base } }, modules: [waitingModule(base)] });
    const put = async (path: string) => {
      const started = performance.now();
      const r = await t.api(path, { method: 'PUT' });
      return { status: r.status, body: (await r.json()) as any, ms: performance.now() - started };
    };
    const fast = await put('/v1/_wait/200-50?wait=30');
    expect(fast).toMatchObject({ status: 200, body: { state: 'synced' } });

    const slow = await put('/v1/_wait/200-hold?wait=1');
    expect(slow).toMatchObject({ status: 202, body: { state: 'queued' } });
    expect(slow.ms).toBeGreaterThanOrEqual(950);

    const refused = await put('/v1/_wait/409-0?wait=30');
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'http_409' } } });

    // Read as the default (30 s) instead of 0, this would wait into the test's timeout.
    const never = await put('/v1/_wait/200-hold?wait=0');
    expect(never).toMatchObject({ status: 202 });

    const defaulted = await put('/v1/_wait/200-10');
    expect(defaulted.status).toBe(200); // default wait for this domain: 30 s

    const bad = await put('/v1/_wait/200-0?wait=31');
    expect(bad).toMatchObject({ status: 422, body: { error: { field: 'wait' } } });
    const spelled = await put('/v1/_wait/200-0?wait=%2030%20');
    expect(spelled.status).toBe(200);
    close();
  });

  it('a stop releases waiting callers at once with 202 (the work stays queued)', async () => {
    const { seen, close, base } = await remote();
    const t = await startTestCore({ config: { passteam: { enabled: true, token: 't', templateId: 'x', baseUrl: base } }, modules: [waitingModule(base)] });
    const pending = t.api('/v1/_wait/200-hold?wait=30', { method: 'PUT' });
    await until(() => seen.length === 1, 'the delivery at the remote, its caller waiting');
    // An hour's grace for the delivery the remote holds: the caller's 202 comes while the stop
    // still waits for it (were callers released only at the end, this would never answer).
    const stopping = t.core.stop(3_600_000);
    const res = await pending;
    expect(res.status).toBe(202);
    close(); // the delivery fails, and the stop ends
    await stopping;
  });
});
