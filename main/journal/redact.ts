/**
 * Secrets never reach the journal, logs, errors or the UI: values of secret-looking keys in JSON,
 * form and query text are replaced, and Authorization-like header values are dropped.
 */
// `pass` and `pwd` only as whole keys: `passport`, `passteam` are data, not secrets.
const SECRET_KEY = /(token|password|passwd|secret|tech_?key|api_?key|authorization|^pass$|^pwd$)/i;

export const MASK = '***';

// Cheap pre-checks: a body with none of these substrings has no key SECRET_KEY could match, so the
// per-pair passes are skipped (a 20 KB page of 1C goods is a few µs instead of ~100).
const JSON_HINT = /token|passw|secret|tech_?key|api_?key|authorization|"pass"|"pwd"/i;
const FORM_HINT = /token|passw|secret|tech_?key|api_?key|authorization|pass|pwd|%/i;

/** Masks secret values in a JSON, form-urlencoded or query string body, then truncates it. */
export function redactText(text: string | undefined | null, limit: number, extraSecrets: string[] = []): string | null {
  if (text === undefined || text === null || text === '') return null;
  // Only what is kept is redacted: a 10 MB answer costs a 17 KB regex pass, not a 10 MB one. The
  // margin covers a secret that straddles the cut (secrets are far shorter than 1 KB).
  let out = text.length > limit + 1024 ? text.slice(0, limit + 1024) : text;
  // "token": "..."  /  "password":"..."
  if (JSON_HINT.test(out)) out = out.replace(/("([^"\\]{0,64})"\s*:\s*)"((?:[^"\\]|\\.)*)"/g, (m, head: string, key: string) => (SECRET_KEY.test(key) ? `${head}"${MASK}"` : m));
  // token=...&  (form bodies and query strings; key may be PHP-style a[b])
  if (FORM_HINT.test(out)) out = out.replace(/(^|[?&])([^=&\s]{1,64})=([^&\s]*)/g, (m, lead: string, key: string) => (SECRET_KEY.test(decodeSafe(key)) ? `${lead}${key}=${MASK}` : m));
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${MASK}`);
  for (const s of extraSecrets) if (s && s.length >= 4) out = out.split(s).join(MASK);
  if (out.length > limit) out = `${out.slice(0, limit)}… [обрезано, всего ${text.length} симв.]`;
  // A slice of a long text is a view that keeps the whole text alive (V8 sliced strings): the
  // journal's buffer would hold every 1 MiB body until its next flush. Keep a copy of the cut only.
  return out.length < text.length ? Buffer.from(out, 'utf8').toString('utf8') : out;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A URL without secrets in its query. */
export function redactUrl(url: string, extraSecrets: string[] = []): string {
  const q = url.indexOf('?');
  if (q < 0) return redactText(url, 4096, extraSecrets) ?? url;
  return url.slice(0, q) + (redactText(url.slice(q), 4096, extraSecrets) ?? '');
}
