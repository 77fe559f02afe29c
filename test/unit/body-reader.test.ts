import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyReader, LARGE_BODY_BYTES } from '../../main/listener/body-reader.ts';

const large = String(LARGE_BODY_BYTES + 1);

/** A request body stream that has received `bytes` and, unless `open`, its end. */
function body(bytes: number, open = false): PassThrough {
  const s = new PassThrough();
  s.write(Buffer.alloc(bytes, 0x61));
  if (!open) s.end();
  return s;
}

/** Whether a promise has settled by the time the queued microtasks and I/O callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('BodyReader', () => {
  it('reads large bodies two at a time: a third waits, unread, until one is parsed', async () => {
    const reader = new BodyReader(1024 * 1024);
    const [a, b] = await Promise.all([reader.read({ 'content-length': large }, body(LARGE_BODY_BYTES + 1)), reader.read({ 'content-length': large }, body(LARGE_BODY_BYTES + 1))]);
    const thirdStream = body(LARGE_BODY_BYTES + 1);
    const third = reader.read({ 'content-length': large }, thirdStream);
    expect(await settled(third)).toBe(false);
    expect(thirdStream.readableFlowing).not.toBe(true); // not read: TCP keeps the rest on the sender
    // A small body (1C's own) never waits behind them.
    const small = await reader.read({ 'content-length': '5' }, body(5));
    expect(small.bytes.length).toBe(5);
    a.release();
    expect((await third).bytes.length).toBe(LARGE_BODY_BYTES + 1);
    b.release();
  });

  it('a body over the limit or shorter than its Content-Length is refused as fastify refuses it, and gives its turn back', async () => {
    const reader = new BodyReader(LARGE_BODY_BYTES * 2, 1);
    await expect(reader.read({ 'content-length': String(LARGE_BODY_BYTES * 3) }, body(10))).rejects.toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    await expect(reader.read({}, body(LARGE_BODY_BYTES * 2 + 1))).rejects.toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' }); // chunked, no length
    await expect(reader.read({ 'content-length': large }, body(LARGE_BODY_BYTES))).rejects.toMatchObject({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' });
    // With one turn, each refusal above must have returned it: this read gets it at once.
    expect(await settled(reader.read({ 'content-length': large }, body(LARGE_BODY_BYTES + 1)))).toBe(true);
  });

  it('a client that disconnects mid-body, or while waiting for its turn, frees the turn', async () => {
    const reader = new BodyReader(1024 * 1024, 1);
    const cut = body(1000, true);
    const first = reader.read({ 'content-length': large }, cut);
    const waitingStream = body(10, true);
    const waiting = reader.read({ 'content-length': large }, waitingStream);
    waitingStream.destroy(); // gone before its turn
    cut.destroy(); // gone mid-body
    await expect(first).rejects.toMatchObject({ statusCode: 400 });
    await expect(waiting).rejects.toMatchObject({ statusCode: 400 });
    expect(await settled(reader.read({ 'content-length': large }, body(LARGE_BODY_BYTES + 1)))).toBe(true);
  });
});
