import { errorCodes } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Reads request bodies whole, as fastify's own reader does (same limit and Content-Length checks,
 * same errors), but large ones a few at a time: ten connections each sending 1 MiB held ten
 * bodies and their decoded text at once, and that pushed the process past 450 MiB. A body waiting
 * for its turn is simply not read, so TCP keeps the rest of it on the sender. 1C's own requests
 * are a few KB and never wait.
 */
export const LARGE_BODY_BYTES = 64 * 1024;

export class BodyReader {
  #reading = 0;
  readonly #waiting: Array<() => void> = [];

  readonly limit: number;
  readonly largeAtOnce: number;

  constructor(limit: number, largeAtOnce = 2) {
    this.limit = limit;
    this.largeAtOnce = largeAtOnce;
  }

  /** The body's bytes; `release` must be called once they are parsed (it frees a large body's turn). */
  async read(headers: IncomingHttpHeaders, payload: Readable): Promise<{ bytes: Buffer; release: () => void }> {
    const declared = Number(headers['content-length']);
    if (declared > this.limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    const large = !(declared < LARGE_BODY_BYTES); // unknown length (chunked) counts as large
    if (large) await this.#turn();
    let released = !large;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#reading--;
    };
    try {
      return { bytes: await collect(payload, this.limit, declared), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  #turn(): Promise<void> {
    if (this.#reading < this.largeAtOnce) {
      this.#reading++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

function collect(payload: Readable, limit: number, declared: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (payload.destroyed || payload.readableEnded) return reject(Object.assign(new Error('request aborted'), { statusCode: 400 }));
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (error?: Error) => {
      payload.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) return reject(error);
      if (!Number.isNaN(declared) && received !== declared) return reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      resolve(chunks.length === 1 ? Buffer.from(chunks[0]) : Buffer.concat(chunks, received)); // a copy: never a view of the socket's buffer
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (e: Error & { statusCode?: number }) => done(Object.assign(e, { statusCode: e.statusCode ?? 400 }));
    const onClose = () => done(Object.assign(new Error('request aborted'), { statusCode: 400 }));
    payload.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    payload.resume();
  });
}
