import { basename, dirname, extname } from 'node:path';

/**
 * The project's one writer of JSON files — the config file and the desktop settings — is `conf`
 * (electron-store is conf with Electron's paths). It writes a temp file beside the target, fsyncs
 * it and renames it over the old one (retrying a rename an antivirus holds up on Windows), so a
 * crash or power cut leaves the old file or the new one, never half of one.
 */
export interface JsonFileOptions {
  cwd: string;
  configName: string;
  fileExtension: string;
  configFileMode: number;
  accessPropertiesByDotNotation: false;
  clearInvalidConfig: boolean;
  serialize: (value: Record<string, unknown>) => string;
  deserialize: (text: string) => Record<string, unknown>;
}

/** Notepad's BOM and an empty file read as they do for the config loader (load.ts). */
export function readJsonText(text: string): Record<string, unknown> {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return {};
  const value: unknown = JSON.parse(body);
  // A SyntaxError is what conf clears (UI state) or reports (the config file).
  if (!isObject(value)) throw new SyntaxError('в файле не JSON-объект { ... }');
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * conf's options for the file at `file`. `clearInvalid`: an unreadable file is started afresh
 * (UI state) rather than refused (the user's own config file, which must never be wiped).
 */
export function jsonFileOptions(file: string, opts: { clearInvalid: boolean }): JsonFileOptions {
  const ext = extname(file);
  return {
    cwd: dirname(file),
    configName: basename(file, ext),
    fileExtension: ext.replace(/^\./, ''),
    // Both files hold secrets or their encrypted form.
    configFileMode: 0o600,
    // Keys such as 'passteam.token' (the encrypted secrets) are keys, not paths.
    accessPropertiesByDotNotation: false,
    clearInvalidConfig: opts.clearInvalid,
    // Two-space JSON as people write it by hand (conf's default is tabs).
    serialize: (value) => JSON.stringify(value, null, 2) + '\n',
    deserialize: readJsonText,
  };
}
