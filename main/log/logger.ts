import pino, { type Logger } from 'pino';
import pinoRoll from 'pino-roll';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';

export type { Logger };

/** Keys whose values never reach a log line, wherever they are nested. */
const REDACT = [
  'token', '*.token', '*.*.token', 'password', '*.password', '*.*.password', 'techKey', '*.techKey',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization',
];

/**
 * pino writing to a size-rotated file in the data dir, in-process (a worker-thread transport
 * would outlive a crash's last lines and costs a thread on 2-core machines).
 */
export async function createLogger(dataDir: string, cfg: Config['log']): Promise<Logger> {
  const stream = await pinoRoll({
    file: join(dataDir, 'logs', 'sputnik'),
    extension: '.log',
    size: `${cfg.maxFileMegabytes}m`,
    limit: { count: cfg.files },
    mkdir: true,
  });
  return pino({ level: cfg.level, redact: { paths: REDACT, censor: '***' }, base: { pid: process.pid } }, stream);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
