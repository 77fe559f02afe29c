import { z } from 'zod';

/** Field types every config slice shares (the core's and the modules'). */

// 0 = any free port (tests, several instances on one machine).
export const port = z.number().int().min(0).max(65535);

export const url = z.url({ protocol: /^https?$/, error: 'нужен адрес вида https://host или http://127.0.0.1:порт' });

/**
 * A secret: write-only in the window, redacted from the journal and the logs, kept in safeStorage
 * by the desktop instead of the config file, and, with `env`, supplied by that environment variable
 * (main/config/secrets.ts reads all of that from this mark).
 */
export const secretMeta = (env?: string) => (env ? { secret: true, env } : { secret: true });

/** A secret that must not be blank when given. */
export const secret = (env?: string) => z.string().min(1).meta(secretMeta(env));
