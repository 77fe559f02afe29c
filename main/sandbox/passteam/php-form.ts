/**
 * `application/x-www-form-urlencoded` decoding the way PHP fills `$_POST`
 * (php_default_treat_data + php_url_decode + php_register_variable_ex, PHP 8 semantics).
 *
 * - The body is split on `&` (empty pieces skipped), each piece on its first `=`
 *   (no `=` → empty value).
 * - Key and value are url-decoded AS BYTES: `+` → space, `%XX` with two hex digits → that byte,
 *   any other `%` left literal. The bytes are then read as UTF-8 (invalid sequences → U+FFFD).
 *   So a raw `values[%BALANCE%]` arrives as `values[\xBALANCE%]` (key garbled) and a raw `+7…`
 *   phone arrives as ` 7…`.
 * - The decoded key is truncated at a NUL byte, leading spaces are dropped, `.` and space in the
 *   base name become `_`, and bracket syntax builds nested maps: `values[%PHONE%]` →
 *   `{ values: { '%PHONE%': … } }`, `a[]` appends, `a[b` → plain `a_b`, `a[b]junk` → `a[b]`.
 *
 * Maps are null-prototype objects so a key like `__proto__` is stored, not interpreted.
 */

export type PhpFormValue = string | PhpFormMap;
export interface PhpFormMap {
  [key: string]: PhpFormValue;
}

const AMP = 0x26;
const EQ = 0x3d;
const PLUS = 0x2b;
const PCT = 0x25;

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function hexVal(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

/** php_url_decode on bytes: `+` → space, valid `%XX` → byte, invalid escapes kept literally. */
export function phpUrlDecodeBytes(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === PLUS) {
      out[n++] = 0x20;
    } else if (b === PCT) {
      const hi = hexVal(input[i + 1]);
      const lo = hexVal(input[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
      } else {
        out[n++] = b;
      }
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

/** php_url_decode of a string (its UTF-8 bytes), result read back as UTF-8. */
export function phpUrlDecode(input: string): string {
  return utf8.decode(phpUrlDecodeBytes(Buffer.from(input, 'utf8')));
}

/** An empty map without a prototype (see above): every fake's `$_POST` / `$_GET` starts as one. */
export function newPhpFormMap(): PhpFormMap {
  const map: PhpFormMap = {};
  Object.setPrototypeOf(map, null);
  return map;
}

function nextIndex(map: PhpFormMap): string {
  let max = -1;
  for (const k of Object.keys(map)) {
    if (/^(0|-?[1-9][0-9]*)$/.test(k)) max = Math.max(max, Number(k));
  }
  return String(max + 1);
}

/** php_register_variable_ex: store `value` under the (already decoded) name with bracket syntax. */
export function registerPhpVariable(target: PhpFormMap, rawName: string, value: string): void {
  let name = rawName;
  const nul = name.indexOf('\0');
  if (nul >= 0) name = name.slice(0, nul);
  name = name.replace(/^ +/, '');
  const open = name.indexOf('[');
  const base = (open < 0 ? name : name.slice(0, open)).replace(/[ .]/g, '_');
  if (base === '') return;
  if (open < 0) {
    target[base] = value;
    return;
  }
  const indices: Array<string | null> = [];
  let pos = open; // at a '['
  for (let first = true; ; first = false) {
    const start = pos + 1;
    if (name[start] === ']') {
      indices.push(null);
      pos = start;
    } else {
      const close = name.indexOf(']', start);
      if (close < 0) {
        if (first) {
          // not an index: `a[b` becomes the plain variable `a_b`
          target[`${base}_${name.slice(start).replace(/[ .[]/g, '_')}`] = value;
          return;
        }
        break; // `a[b][c` → a[b]
      }
      indices.push(name.slice(start, close));
      pos = close;
    }
    if (name[pos + 1] === '[') {
      pos += 1;
      continue;
    }
    break; // anything after the last `]` is ignored
  }
  let cur = target;
  let key = base;
  for (const idx of indices) {
    let next = cur[key];
    if (typeof next !== 'object') {
      next = newPhpFormMap();
      cur[key] = next;
    }
    cur = next;
    key = idx === null ? nextIndex(cur) : idx;
  }
  cur[key] = value;
}

/** Parses a form body into the structure PHP would put in `$_POST`. */
export function parsePhpForm(body: Uint8Array | string): PhpFormMap {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const form = newPhpFormMap();
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(AMP, start);
    if (end < 0) end = bytes.length;
    if (end > start) {
      const piece = bytes.subarray(start, end);
      const eq = piece.indexOf(EQ);
      const rawKey = eq < 0 ? piece : piece.subarray(0, eq);
      const rawVal = eq < 0 ? new Uint8Array(0) : piece.subarray(eq + 1);
      registerPhpVariable(form, utf8.decode(phpUrlDecodeBytes(rawKey)), utf8.decode(phpUrlDecodeBytes(rawVal)));
    }
    start = end + 1;
  }
  return form;
}
