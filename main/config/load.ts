import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { SputnikError } from '../errors.ts';
import { errorMessage, isRecord } from '../unknown.ts';
import { describeZodError, INPUT_IN_ISSUES } from '../validation.ts';
import { configSchema, SECRETS, type Config } from './schema.ts';

export interface LoadedConfig {
  config: Config;
  file?: string;
  /** Dotted paths of secrets that came from environment variables (never written back to the file). */
  fromEnv: string[];
  /** The settings as written, before defaults: tells a value the user chose from a default. */
  input: unknown;
}

export function configError(message: string, field?: string): SputnikError {
  return new SputnikError(400, 'invalid_config', message, { field });
}

/**
 * Reads a JSON config file (a BOM and CRLF from Notepad are fine), applies env secrets, validates.
 * `fill`: adds what is kept outside the file (the desktop's safeStorage secrets) before validation;
 * `input` stays the file's own settings.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, fill?: (raw: unknown) => unknown): LoadedConfig {
  let raw: unknown = {};
  if (file !== undefined) {
    if (!existsSync(file)) throw configError(`Файл настроек не найден: ${file}`);
    const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    try {
      raw = text.trim() === '' ? {} : JSON.parse(text);
    } catch (e) {
      throw configError(`Файл настроек ${file} — не JSON: ${errorMessage(e)}`);
    }
  }
  if (!fill) return parseConfig(raw, env, file);
  return { ...parseConfig(fill(raw), env, file), input: raw };
}

export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, file?: string): LoadedConfig {
  if (!isRecord(raw)) throw configError('Настройки должны быть JSON-объектом { ... }');
  const withEnv = structuredClone(raw);
  const fromEnv: string[] = [];
  for (const s of SECRETS) {
    const value = env[s.env];
    if (value === undefined || value === '') continue;
    let node: object = withEnv;
    for (const key of s.path.slice(0, -1)) {
      const next: unknown = Reflect.get(node, key);
      if (next === undefined) Reflect.set(node, key, (node = {}));
      else if (typeof next === 'object' && next !== null) node = next;
      else break;
    }
    Reflect.set(node, s.path[s.path.length - 1], value);
    fromEnv.push(s.path.join('.'));
  }
  const parsed = configSchema.safeParse(withEnv, INPUT_IN_ISSUES);
  if (!parsed.success) throw invalidConfig(parsed.error, file);
  return { config: parsed.data, file, fromEnv, input: raw };
}

function invalidConfig(error: z.ZodError, file?: string): SputnikError {
  const problems = describeZodError(error);
  const where = file ? ` (${file})` : '';
  const text = problems.map((p) => `${p.field || '(корень)'}: ${p.message}`).join('; ');
  return configError(`Ошибка в настройках${where}: ${text}`, problems[0]?.field);
}
