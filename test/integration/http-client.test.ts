import { describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createDispatcher, HttpClient, classifyStatus } from '../../main/http/client.ts';
import { DeliveryError } from '../../main/errors.ts';
import { Journal } from '../../main/journal/index.ts';
import { openStore } from '../../main/store/index.ts';
import { httpSchema } from '../../main/config/schema.ts';
import { tempDir } from '../helpers/tmp.ts';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

function client(timeoutSeconds = 30) {
  const store = openStore(tempDir());
  const journal = new Journal(store, { retentionDays: 30, maxMegabytes: 10, bodyLimitBytes: 4096, secrets: () => ['pt-token-secret'] });
  const http = new HttpClient(createDispatcher(httpSchema.parse({ timeoutSeconds, connectTimeoutSeconds: 2 })), journal);
  return { store, journal, http };
}

describe('outbound HTTP', () => {
  it('sends, returns any status with its body, and journals the exchange without secrets', async () => {
    const { server, url } = await serve((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 409, echo: body, auth: req.headers.authorization }));
      });
    });
    const { http, journal, store } = client();
    try {
      const r = await http.send({
        system: 'passteam',
        method: 'POST',
        url: `${url}/oapi/v1/createcard`,
        headers: { Authorization: 'pt-token-secret', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'values%5B%25PHONE%25%5D=%2B79876543210',
        entity: 'card:1',
      });
      expect(r.status).toBe(409);
      expect(JSON.parse(r.text).auth).toBe('pt-token-secret');
      await expect.poll(() => journal.list().entries.length).toBe(1);
      const e = journal.get(journal.list().entries[0].id)!;
      expect(e).toMatchObject({ direction: 'out', system: 'passteam', status: 409, entity: 'card:1' });
      expect(e.responseBody).not.toContain('pt-token-secret');
      expect(e.requestBody).toContain('values%5B%25PHONE%25%5D');
    } finally {
      server.close();
      await http.close();
      store.close();
    }
  });

  it('a refused connection is a retryable delivery error in plain Russian, journaled without a status', async () => {
    const { server, url } = await serve(() => {});
    server.close();
    await once(server, 'close');
    const { http, journal, store } = client();
    const err = await http.send({ system: 'paykeeper', method: 'GET', url }).catch((e) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.outcome).toBe('retry');
    expect(err.message).toContain('отказал в соединении');
    await expect.poll(() => journal.list().entries[0]?.error ?? null).toContain('отказал');
    expect(journal.list().entries[0].status).toBeNull();
    await http.close();
    store.close();
  });

  it('a server that does not answer in time is a retryable timeout', async () => {
    const { server, url } = await serve(() => {
      /* never answers */
    });
    const { http, store } = client(1);
    const err = await http.send({ system: 'docpart', method: 'GET', url }).catch((e) => e);
    expect(err.outcome).toBe('retry');
    expect(err.message).toContain('не ответил вовремя');
    server.closeAllConnections();
    server.close();
    await http.close();
    store.close();
  });

  /**
   * A server that takes the request and never answers: the call ends only by its signal or its
   * timeout, never by the server. Resolves once the request has reached the server.
   */
  async function holdForever() {
    const arrived: Array<() => void> = [];
    const { server, url } = await serve(() => arrived.splice(0).forEach((f) => f()));
    const reached = () => new Promise<void>((r) => arrived.push(r));
    return { url, reached, close: () => (server.closeAllConnections(), server.close()) };
  }

  /** The failure of one call to the held server: the thrown error, and the journal's wording and «Подробнее». */
  async function failure(journal: Journal, call: Promise<unknown>) {
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    await expect.poll(() => journal.list().entries.length).toBe(1);
    const row = journal.get(journal.list().entries[0].id)!;
    return { err: err as DeliveryError, error: row.error, detail: row.detail };
  }

  /**
   * Runs `test` against a held server with a fresh client, then closes the server, destroys the
   * client (nothing left in flight; again is harmless) and closes its store, whatever the test did.
   */
  async function withHeld<T>(test: (held: Awaited<ReturnType<typeof holdForever>>, c: ReturnType<typeof client>) => Promise<T>): Promise<T> {
    const held = await holdForever();
    const c = client();
    try {
      return await test(held, c);
    } finally {
      held.close();
      await c.http.destroy();
      c.store.close();
    }
  }

  /** failure() of the one call `send` makes to a held server at `url`. */
  const failureOf = (send: (http: HttpClient, url: string) => Promise<unknown>) => withHeld((held, { http, journal }) => failure(journal, send(http, held.url)));

  it('a call cancelled by its AbortSignal reads «прерван», not «нет связи», and «Подробнее» names AbortError', () =>
    withHeld(async (held, { http, journal }) => {
      const abort = new AbortController();
      const reached = held.reached();
      const call = http.send({ system: 'passteam', method: 'POST', url: `${held.url}/oapi/v1/createcard`, body: 'x', signal: abort.signal });
      await reached;
      abort.abort();
      const { err, error, detail } = await failure(journal, call);
      expect(err.outcome).toBe('retry');
      expect(err.message).toBe('Обмен с Passteam прерван: Спутник останавливается или обмен отменён');
      expect(error).toBe(err.message);
      expect(detail).toMatch(/^AbortError 127\.0\.0\.1:\d+: /);
    }));

  it("a call past its caller's AbortSignal.timeout() reads «не ответил вовремя», and «Подробнее» names TimeoutError", async () => {
    const { err, error, detail } = await failureOf((http, url) => http.send({ system: 'paykeeper', method: 'GET', url, signal: AbortSignal.timeout(50) }));
    expect(err.outcome).toBe('retry');
    expect(err.message).toBe('PayKeeper не ответил вовремя. Спутник повторит сам');
    expect(error).toBe(err.message);
    expect(detail).toMatch(/^TimeoutError 127\.0\.0\.1:\d+: /);
  });

  it("a call past the request's own timeoutMs reads «не ответил вовремя» too", async () => {
    const { err, detail } = await failureOf((http, url) => http.send({ system: 'docpart', method: 'GET', url, timeoutMs: 50 }));
    expect(err.message).toBe('Docpart не ответил вовремя. Спутник повторит сам');
    expect(detail).toMatch(/^UND_ERR_HEADERS_TIMEOUT 127\.0\.0\.1:\d+: /);
  });

  it('a call cut off by destroy() (the stop past its grace) reads «прерван»', () =>
    withHeld(async (held, { http, journal }) => {
      const reached = held.reached();
      const call = http.send({ system: 'passteam', method: 'GET', url: held.url });
      await reached;
      await http.destroy();
      const { err, detail } = await failure(journal, call);
      expect(err.message).toBe('Обмен с Passteam прерван: Спутник останавливается или обмен отменён');
      expect(detail).toMatch(/^UND_ERR_DESTROYED /);
    }));

  it('classifies statuses for the outbox', () => {
    expect([200, 401, 403, 409, 422, 429, 500, 503].map(classifyStatus)).toEqual(['ok', 'auth', 'auth', 'refused', 'refused', 'retry', 'retry', 'retry']);
  });
});
