import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL for one instance of a test: the instance connects through it,
 * and the test takes the way away while PostgreSQL and the other instances go on.
 * - `stall()`: a network partition — nothing flows either way, statements wait (nothing fails);
 *   connections opened meanwhile wait too. `restore()` lets everything through, in order.
 * - `cut()`: every connection reset and new ones refused, as a PostgreSQL restart looks from here;
 *   `restore()` accepts again.
 */
export interface PgProxy {
  /** `url` (one of the server's databases) reached through this proxy. */
  via(url: string): string;
  stall(): void;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
}

export async function startPgProxy(server: { port: number }): Promise<PgProxy> {
  let mode: 'open' | 'stalled' | 'cut' = 'open';
  const pairs = new Set<Pair>();
  const drop = (p: Pair) => {
    pairs.delete(p);
    p.client.destroy();
    p.upstream?.destroy();
  };
  const wire = (p: Pair) => {
    const upstream = connect(server.port, '127.0.0.1');
    p.upstream = upstream;
    p.client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => p.client.write(d));
    upstream.on('error', () => drop(p));
    upstream.on('close', () => drop(p));
  };
  const proxy = createServer((client) => {
    if (mode === 'cut') return void client.resetAndDestroy();
    const p: Pair = { client, upstream: null };
    pairs.add(p);
    client.on('error', () => drop(p));
    client.on('close', () => drop(p));
    if (mode === 'open') wire(p);
    else client.pause();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const cut = () => {
    mode = 'cut';
    for (const p of [...pairs]) {
      pairs.delete(p);
      p.client.resetAndDestroy();
      p.upstream?.destroy();
    }
  };
  return {
    via(url) {
      const u = new URL(url);
      u.port = String(address.port);
      return u.toString();
    },
    stall() {
      mode = 'stalled';
      for (const p of pairs) {
        p.client.pause();
        p.upstream?.pause();
      }
    },
    cut,
    restore() {
      mode = 'open';
      for (const p of pairs) {
        if (!p.upstream) wire(p);
        p.client.resume();
        p.upstream?.resume();
      }
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
