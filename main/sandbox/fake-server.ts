import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { newPhpFormMap, parsePhpForm, type PhpFormMap } from './passteam/php-form.ts';

/**
 * What every fake remote shares: a node:http server on loopback (wire behaviour under our control
 * byte for byte), a log of every request with the form PHP would have decoded, latency counted
 * from arrival (the remote's think time), a "down" switch that resets every connection, and
 * injected failures. Each fake supplies only its protocol (`answer`) and its own failure pages.
 */

export interface FakeRequest {
  method: string;
  /** The request target as received (path and query). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** What PHP would have put in `$_POST` ({} unless the body is form-urlencoded). */
  form: PhpFormMap;
  /** performance.now() when it arrived: tests read spacing between calls from it, not from their own timers. */
  arrivedAt: number;
}

export interface FakeReply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
  /** Extra think time of this one answer (a remote the server waits on): it is sent this much later. */
  holdMs?: number;
}

/** Failures every fake knows; a fake adds its own reply-shaped ones through `failurePages`. */
export type TransportFailure = 'reset' | 'hang' | 'processed-then-reset';

/** Options every fake takes. */
export interface FakeLogOptions {
  /**
   * How many of the latest requests `requests()` keeps. Default: all of them (tests and benchmarks
   * count and inspect them); the long-running sandbox keeps a few thousand, or its memory would
   * grow with every call.
   */
  keepRequests?: number;
}

/** A fake's record of the requests it got: everything, or about the latest `keep` (trimmed in halves, so a push stays O(1)). */
export function requestLog<T>(keep?: number) {
  const log: T[] = [];
  return {
    push(entry: T): void {
      log.push(entry);
      if (keep !== undefined && log.length >= 2 * keep) log.splice(0, log.length - keep);
    },
    all: (): T[] => [...log],
    clear(): void {
      log.length = 0;
    },
  };
}

export interface FakeServerOptions<F extends string> extends FakeLogOptions {
  name: string;
  host?: string;
  port?: number;
  latencyMs?: number;
  /** The remote's protocol: the reply to one request (it may change the fake's state). */
  answer(req: IncomingMessage, form: PhpFormMap, isForm: boolean): FakeReply;
  /** Replies for the fake's own failure kinds (an nginx 502 page, an empty 200, …). */
  failurePages: Record<Exclude<F, TransportFailure>, FakeReply>;
  /** The reply when `answer` throws. */
  internalError: FakeReply;
}

export interface FakeServer<F extends string> {
  url: string;
  requests(): FakeRequest[];
  clearRequests(): void;
  setLatency(ms: number): void;
  /** Applies `kind` to the next `count` requests, then normal again (calls queue up). */
  failNext(count: number, kind: F): void;
  /** While down every connection (new or kept alive) is reset immediately. */
  setDown(down: boolean): void;
  /**
   * Test hook (a gate): from now on a request `match` accepts (default: every one) waits, once
   * logged, before its think time and its answer, until `release` is called (or stop()); `reached`
   * resolves with the first such request as soon as it is held. A crash test kills its client
   * while a call is surely in the remote's hands, instead of racing the latency. A held request is
   * answered (and processed) after the release like any other, whether its client is still there
   * or not.
   */
  hold(match?: (req: FakeRequest) => boolean): FakeHold;
  /** Requests received and not answered yet (held, in their think time); a 'hang' is not counted. */
  inHand(): number;
  stop(): Promise<void>;
}

export interface FakeHold {
  reached: Promise<FakeRequest>;
  release(): void;
}

export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function sendReply(res: ServerResponse, reply: FakeReply): void {
  res.writeHead(reply.status, { Server: 'nginx', 'Content-Type': reply.contentType, 'Content-Length': Buffer.byteLength(reply.body), ...reply.headers });
  res.end(reply.body);
}

export const NGINX_502_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** PHP's json_encode: `/` and every non-ASCII character escaped. */
export function phpJsonEncode(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A fake's think-time sleeps, all of which `wakeAll` (its stop) ends at once. */
export function sleeper(): { sleep(ms: number): Promise<void>; wakeAll(): void } {
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  return {
    sleep: (ms) =>
      ms <= 0
        ? Promise.resolve()
        : new Promise((resolve) => {
            const entry = {
              resolve,
              timer: setTimeout(() => {
                timers.delete(entry);
                resolve();
              }, ms),
            };
            timers.add(entry);
          }),
    wakeAll() {
      for (const t of timers) {
        clearTimeout(t.timer);
        t.resolve();
      }
      timers.clear();
    },
  };
}

export async function startFakeServer<F extends string>(opts: FakeServerOptions<F>): Promise<FakeServer<F>> {
  const log = requestLog<FakeRequest>(opts.keepRequests);
  const failures: F[] = [];
  const sockets = new Set<Socket>();
  const { sleep, wakeAll } = sleeper();
  let latencyMs = opts.latencyMs ?? 0;
  let down = false;
  let stopped = false;
  let inHand = 0;
  // Gates set by hold(): a request waits at each one that matches it.
  const gates = new Set<{ match: (req: FakeRequest) => boolean; opened: Promise<void>; open: () => void; reached: (req: FakeRequest) => void }>();
  // By any failure's name: the transport ones are handled before a page is looked up.
  const failurePages: Partial<Record<string, FakeReply>> = opts.failurePages;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (down) return resetSocket(req.socket);
    const arrived = performance.now();
    const raw = await buffer(req);
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const isForm = contentType === 'application/x-www-form-urlencoded';
    const form = isForm ? parsePhpForm(raw) : newPhpFormMap();
    const entry: FakeRequest = { method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, rawBody: raw.toString('utf8'), form, arrivedAt: arrived };
    log.push(entry);
    if (down) return resetSocket(req.socket);
    inHand++;
    try {
      await answer(req, res, form, isForm, entry);
    } finally {
      inHand--;
    }
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, form: PhpFormMap, isForm: boolean, entry: FakeRequest): Promise<void> => {
    for (const gate of [...gates]) {
      if (!gate.match(entry)) continue;
      gate.reached(entry);
      await gate.opened;
    }
    if (stopped) return;
    const failure = failures.shift();
    if (failure === 'hang') return; // never answered; the socket is closed by the client or by stop()
    await sleep(latencyMs - (performance.now() - entry.arrivedAt));
    if (stopped) return;
    if (down || failure === 'reset') return resetSocket(req.socket);
    if (failure === 'processed-then-reset') {
      opts.answer(req, form, isForm);
      return resetSocket(req.socket);
    }
    const reply = failure ? failurePages[failure] : opts.answer(req, form, isForm);
    if (!reply) throw new Error(`${opts.name}: no page for the failure ${failure}`);
    if (reply.holdMs) {
      await sleep(reply.holdMs);
      if (stopped || res.destroyed) return;
    }
    sendReply(res, reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) sendReply(res, opts.internalError);
      else resetSocket(req.socket);
    });
  });
  server.on('connection', (socket: Socket) => {
    if (down) return resetSocket(socket);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${opts.name}: no TCP address`);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    requests: log.all,
    clearRequests: log.clear,
    setLatency(ms) {
      latencyMs = ms;
    },
    failNext(count, kind) {
      for (let i = 0; i < count; i++) failures.push(kind);
    },
    setDown(value) {
      down = value;
      if (value) for (const s of sockets) resetSocket(s);
    },
    hold(match = () => true) {
      const opened = Promise.withResolvers<void>();
      const reached = Promise.withResolvers<FakeRequest>();
      const gate = { match, opened: opened.promise, open: () => opened.resolve(), reached: reached.resolve };
      gates.add(gate);
      return {
        reached: reached.promise,
        release() {
          gates.delete(gate);
          gate.open();
        },
      };
    },
    inHand: () => inHand,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const gate of gates) gate.open();
      gates.clear();
      wakeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
