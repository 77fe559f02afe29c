import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Answering a request Node's HTTP parser refused, on the raw socket (fastify never sees it): shared
 * by every listener (the 1C API, the admin API, ReGate), each with its own error body.
 */

/**
 * What Node's HTTP parser gives with an error: the bytes it was reading (a Buffer; fastify's
 * `ConnectionError` types it as a Buffer's JSON form, so it is checked) and how far it got.
 */
export type ParserError = NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: number };

/**
 * The request Node's parser failed on: its first line and whether it is a HEAD. The bytes may hold
 * requests before it (pipelined): it starts after the last blank line before the failure.
 */
export function failedRequest(err: ParserError): { raw: string; start: number; line: string; head: boolean } {
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
  const at = Math.min(err.bytesParsed ?? 0, raw.length);
  let start = raw.lastIndexOf('\n', at - 1) + 1;
  // Back over header lines to the request line: the line after a blank one, or the first.
  while (start > 0) {
    const prev = raw.lastIndexOf('\n', start - 2) + 1;
    if (raw.slice(prev, start).trim() === '') break;
    start = prev;
  }
  const lineEnd = raw.indexOf('\r\n', start);
  const line = raw.slice(start, lineEnd < 0 ? undefined : lineEnd);
  return { raw, start, line, head: line.startsWith('HEAD ') };
}

/**
 * Writes a parser refusal once every response still due on the connection has gone out (requests
 * pipelined before the bad one are answered first, in order), then closes it. A HEAD gets the
 * headers only, with the Content-Length its GET would have.
 */
export function endWithRawResponse(socket: Socket, r: { status: number; reason: string; type: string; body: string; head: boolean; headers?: string }): void {
  if (answering.has(socket)) return; // the parser reports the same failure again on every later chunk
  answering.add(socket);
  afterInFlight(socket, () => {
    if (!socket.writable) return void socket.destroy();
    socket.end(
      `HTTP/1.1 ${r.status} ${r.reason}\r\n${r.headers ?? ''}Content-Type: ${r.type}\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\nConnection: close\r\n\r\n${r.head ? '' : r.body}`,
    );
  });
}

const answering = new WeakSet<Socket>();

/**
 * Runs `then` when the connection has no response in flight to a request received whole. Node
 * keeps the one being written on `socket._httpMessage` and assigns the next pipelined one there
 * when it finishes (before our 'finish' listener runs), so following that chain covers every
 * request parsed before the error. A request cut short (the client went away mid-body) is the
 * failed one itself: its response would never come.
 */
function afterInFlight(socket: Socket & { _httpMessage?: ServerResponse | null }, then: () => void): void {
  const res = socket._httpMessage;
  if (!res || !res.req.complete) return then();
  const next = () => {
    res.off('finish', next);
    res.off('close', next);
    afterInFlight(socket, then);
  };
  res.on('finish', next);
  res.on('close', next);
}
