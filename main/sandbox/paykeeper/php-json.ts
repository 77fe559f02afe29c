/**
 * PHP `json_encode` with default flags: `/` written as `\/`, every non-ASCII UTF-16 unit as a
 * lowercase `\uXXXX` escape (astral characters become surrogate pairs, as PHP writes them).
 * PayKeeper answers are produced this way, so raw bytes are pure ASCII.
 */
export function phpJsonEncode(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
