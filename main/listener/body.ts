import qs from 'qs';
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { SputnikError } from '../errors.ts';
import { errorMessage } from '../unknown.ts';

/**
 * Request bodies as 1C writes them: UTF-8 with or without BOM, windows-1251 (КодировкаТекста.ANSI),
 * cp866 (OEM), UTF-16LE with FF FE (КодировкаТекста.UTF16); JSON, or forms with PHP-style keys
 * (`holder[name]=…`, `invoices[0][amount]=…`). A Content-Type may be absent or text/plain: the
 * body is then sniffed. JSON numbers that a double cannot hold exactly stay decimal strings.
 * Duplicate keys (`{"х":1,"х":2}`, which ЗаписьJSON can write, or `a=1&a=2`): the last one wins,
 * in JSON and in forms alike.
 */

// A Map, not an object literal: the charset is the client's text (`charset=constructor` must not find Object).
const CHARSETS = new Map<string, string>([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  ['windows-1251', 'windows-1251'],
  ['cp1251', 'windows-1251'],
  ['cp-1251', 'windows-1251'],
  ['win-1251', 'windows-1251'],
  ['ansi', 'windows-1251'],
  ['ibm866', 'ibm866'],
  ['cp866', 'ibm866'],
  ['866', 'ibm866'],
  ['koi8-r', 'koi8-r'],
  ['utf-16', 'utf-16le'],
  ['utf-16le', 'utf-16le'],
  ['utf-16be', 'utf-16be'],
]);

// Decoders are costly to construct (an ICU converter each): one per charset for the process.
const decoders = new Map<string, TextDecoder>();
function decoder(charset: string): TextDecoder {
  let d = decoders.get(charset);
  if (!d) decoders.set(charset, (d = new TextDecoder(charset)));
  return d;
}

export interface DecodedBody {
  text: string;
  charset: string;
  /** True when no charset was declared, the bytes were not UTF-8 and windows-1251 was assumed. */
  guessed: boolean;
}

export function parseContentType(header: string | undefined): { type: string; charset?: string } {
  if (!header) return { type: '' };
  const [type, ...params] = header.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v) charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type.trim().toLowerCase(), charset };
}

export function decodeBody(buf: Buffer, declared: string | undefined): DecodedBody {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return { text: decoder('utf-16le').decode(buf.subarray(2)), charset: 'utf-16le', guessed: false };
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return { text: decoder('utf-16be').decode(buf.subarray(2)), charset: 'utf-16be', guessed: false };
  const hasBom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  const bytes = hasBom ? buf.subarray(3) : buf;
  if (declared !== undefined) {
    const charset = CHARSETS.get(declared);
    if (!charset) {
      throw new SputnikError(415, 'unsupported_charset', `Кодировка «${declared}» не поддерживается: передавайте тело в UTF-8 (или windows-1251)`, { field: 'Content-Type' });
    }
    if (charset === 'utf-8' || hasBom) return { text: decodeUtf8(bytes), charset: 'utf-8', guessed: false };
    return { text: decoder(charset).decode(bytes), charset, guessed: false };
  }
  if (isUtf8(bytes)) return { text: utf8Text(bytes), charset: 'utf-8', guessed: false };
  return { text: decoder('windows-1251').decode(bytes), charset: 'windows-1251', guessed: true };
}

function decodeUtf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    throw new SputnikError(400, 'invalid_encoding', 'Тело запроса объявлено как UTF-8, но содержит байты не в UTF-8: укажите charset=windows-1251 или кодируйте в UTF-8');
  }
  return utf8Text(bytes);
}

/** UTF-8 text; a second BOM (a BOM-prefixed string written once more with a BOM) is dropped too. */
function utf8Text(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * JSON with 1C's lossless numbers: values a double would round keep their exact text. A
 * `__proto__` key is refused by name: no field is called that, and a record would drop it silently.
 */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    // The reviver (with source text) is several times slower: use it only when a number may not fit a double.
    value = MAY_BE_INEXACT.test(text) ? JSON.parse(text, keepExactNumbers) : JSON.parse(text);
  } catch (e) {
    const detail = errorMessage(e).replace(/^.*?JSON[^:]*:\s*/, '');
    throw new SputnikError(400, 'malformed_json', `Тело запроса — не корректный JSON (${detail.slice(0, 160)})`);
  }
  // Only text that spells "proto" (a letter can be hidden only as \uXXXX) can hold the key: most bodies skip the walk.
  const field = MAY_NAME_PROTO.test(text) ? protoKeyPath(value) : undefined;
  if (field !== undefined) throw forbiddenKey(field);
  return value;
}

const MAY_NAME_PROTO = /proto|\\u/;

/** The path (`holder.__proto__`, `invoices[2].__proto__`) of the first `__proto__` key; iterative, as JSON may nest deeper than the stack. */
function protoKeyPath(root: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[root, '']];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [value, path] = top;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([v, `${path}[${i}]`]));
      continue;
    }
    for (const [k, v] of Object.entries(value)) {
      const field = path ? `${path}.${k}` : k;
      if (k === '__proto__') return field;
      stack.push([v, field]);
    }
  }
  return undefined;
}

function forbiddenKey(field: string): SputnikError {
  return new SputnikError(422, 'invalid_value', `Поле «${field}»: недопустимое имя поля; уберите его`, { field });
}

/** A form key naming `__proto__` at any level: `__proto__=…`, `holder[__proto__]=…`. */
const PROTO_SEGMENT = /(?:^|[[\]])__proto__(?:[[\]]|$)/;

/** `invoices[0][holder][name]` → `invoices[0].holder.name`, as validation errors name fields. */
function formField(key: string): string {
  return key.replace(/\[([^\]]*)\]/g, (_, part: string) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`));
}

/** 16+ digits in a row (dots allowed) or an exponent: the only shapes a double can round. */
const MAY_BE_INEXACT = /\d[\d.]{15}|\d[eE][+-]?\d/;

function keepExactNumbers(this: unknown, _key: string, value: unknown, ctx?: { source?: string }): unknown {
  if (typeof value !== 'number' || !ctx?.source) return value;
  const src = ctx.source;
  if (/^-?\d+$/.test(src)) return Number.isSafeInteger(value) ? value : src;
  const digits = src.replace(/^-|[eE].*$/g, '').replace('.', '').replace(/^0+/, '');
  return digits.length > 15 || /[eE]/.test(src) ? src : value;
}

/** A form body with PHP-style nested keys; percent-escapes are bytes in the body's charset. */
export function parseForm(text: string, charset: string): Record<string, unknown> {
  const bytesDecoder = decoder(charset === 'utf-16le' || charset === 'utf-16be' ? 'utf-8' : charset);
  const decode = (s: string): string => {
    const plus = s.replace(/\+/g, ' ');
    return plus.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
      return bytesDecoder.decode(bytes);
    });
  };
  return qs.parse(text, {
    decoder: (s, _default, _charset, type) => {
      const value = decode(s);
      if (type === 'key' && PROTO_SEGMENT.test(value)) throw forbiddenKey(formField(value));
      return value;
    },
    depth: 8,
    arrayLimit: 1000,
    parameterLimit: 20_000,
    duplicates: 'last',
    // Objects without a prototype keep every key (`holder[constructor]`): validation then names an
    // unknown one, as it does in JSON, instead of qs dropping it without a word.
    plainObjects: true,
    strictNullHandling: false,
  });
}

/** Decodes and parses a body per its Content-Type (or by sniffing when 1C sent none or text/plain). */
export function parseOnecBody(buf: Buffer, contentTypeHeader: string | undefined): { value: unknown; text: string; decoded: DecodedBody } {
  const ct = parseContentType(contentTypeHeader);
  const decoded = decodeBody(buf, ct.charset);
  const text = decoded.text;
  if (text.trim() === '') return { value: undefined, text, decoded };
  let kind: 'json' | 'form';
  if (ct.type === 'application/json' || ct.type.endsWith('+json')) kind = 'json';
  else if (ct.type === 'application/x-www-form-urlencoded') kind = 'form';
  else if (ct.type === '' || ct.type === 'text/plain' || ct.type === 'application/octet-stream') kind = /^\s*[[{"]/.test(text) ? 'json' : 'form';
  else {
    throw new SputnikError(415, 'unsupported_media_type', `Тип тела «${ct.type}» не поддерживается: используйте application/json или application/x-www-form-urlencoded`, {
      field: 'Content-Type',
    });
  }
  return { value: kind === 'json' ? parseJson(text) : parseForm(text.trim(), decoded.charset), text, decoded };
}
