import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { assertDelivered } from '../../main/http/client.ts';
import type { ModuleFactory } from '../../main/core/module.ts';
import { startTestCore } from '../helpers/core.ts';

/**
 * The whole delivery path with a real remote over loopback: a module's worker sends each job
 * through the core's one HTTP client; the remote's answers drive retry, refusal and pause.
 */
describe('delivery through the outbox to a real remote', () => {
  it('retries 503 until it succeeds, fails a 409 once, pauses on 401 until the settings change', async () => {
    const script: number[] = [503, 503, 200, 409, 401, 200];
    const hits: string[] = [];
    const remote = createServer((req, res) => {
      const status = script.shift() ?? 200;
      hits.push(`${req.url}:${status}`);
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify({ status }));
    });
    remote.listen(0, '127.0.0.1');
    await once(remote, 'listening');
    const base = `http://127.0.0.1:${(remote.address() as { port: number }).port}`;
    const module: ModuleFactory = (ctx) => ({
      name: 'remote',
      connector: 'docpart',
      workers: {
        connector: 'docpart',
        concurrency: 1,
        handle: async (job) => {
          const res = await ctx.http.send({ system: 'docpart', method: 'POST', url: `${base}/${job.key}`, body: '{}', jobId: job.id });
          assertDelivered(res, 'Docpart');
        },
      },
    });
    const t = await startTestCore({ config: { docpart: { enabled: true, baseUrl: base, techKey: 'tech-key-1' } }, modules: [module] });
    const { store } = t.core;
    const enqueue = (key: string) => store.commit.run(() => store.outbox.enqueue({ connector: 'docpart', kind: 'test', key, payload: {} }));
    const stateOf = (key: string) => store.sql.value(`SELECT state FROM jobs WHERE key = ?`, key);

    await enqueue('a');
    // two 503s with Retry-After: 0, then the probe succeeds
    await expect.poll(() => stateOf('a')).toBe('done');
    expect(hits.slice(0, 3)).toEqual(['/a:503', '/a:503', '/a:200']);
    expect(t.core.health().connectors!.docpart.state).toBe('ok');

    await enqueue('b');
    await expect.poll(() => stateOf('b')).toBe('failed');
    expect(JSON.parse(store.sql.value<string>(`SELECT last_error FROM jobs WHERE key = 'b'`) ?? '').code).toBe('http_409');

    await enqueue('c');
    await expect.poll(() => t.core.health().connectors!.docpart.state).toBe('paused');
    expect(t.core.health().connectors!.docpart.lastError!.message).toContain('учётные данные отклонены');
    await new Promise((r) => setTimeout(r, 300));
    expect(hits.filter((h) => h.startsWith('/c'))).toEqual(['/c:401']); // no hammering while paused
    expect(stateOf('c')).toBe('queued');

    // the operator fixes the key in the settings: the connector resumes and the job goes through
    const admin = t.uiLoginUrl.replace(/\?token=.*$/, '');
    const r = await fetch(`${admin}api/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${t.uiToken}`, 'X-Sputnik-UI': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ docpart: { techKey: 'tech-key-2' } }),
    });
    expect(r.status).toBe(200);
    await expect.poll(() => stateOf('c')).toBe('done');
    expect(t.core.health().connectors!.docpart.state).toBe('ok');

    const journal = t.core.journal.list({ system: 'docpart', limit: 20 }).entries;
    expect(journal.map((e) => e.status).reverse()).toEqual([503, 503, 200, 409, 401, 200]);
    remote.close();
  });
});
