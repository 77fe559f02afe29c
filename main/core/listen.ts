import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { SputnikError } from '../errors.ts';
import { errorCode } from '../unknown.ts';

/** Binds a server; a taken or refused port becomes a Russian error naming the setting to change (the CLI exits 3 on it). */
export async function listen(app: FastifyInstance, host: string, port: number, what: string, setting: string): Promise<AddressInfo> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EADDRINUSE') {
      throw new SputnikError(409, 'port_taken', `Порт ${port} (${what}) уже занят другой программой — возможно, Спутник уже запущен. Закройте её или укажите другой порт в настройке ${setting}.`);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new SputnikError(409, 'bind_failed', `Не удалось открыть ${host}:${port} (${what}): ${code}. Проверьте настройку ${setting}.`);
    }
    throw error;
  }
  const address = app.server.address();
  // A TCP listen always has an address; a string is a pipe's path, null a closed server.
  if (address === null || typeof address === 'string') throw new Error(`${what}: the server did not bind a TCP port`);
  return address;
}
