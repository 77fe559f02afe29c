/**
 * The one normalisation behind every search (cards, invoices, Docpart orders, the journal): the
 * stored `search` text and the query both go through `searchKey`, so «Иванова», «иванова»,
 * «ИВАНОВА» and «Ёлкина»/«елкина» meet. SQLite's own LIKE folds ASCII letters only.
 */
export function searchKey(text: string): string {
  return text
    .normalize('NFKC') // full-width and compatibility forms; «е» + combining diaeresis → «ё»
    .toLowerCase() // full Unicode mapping, the same on every machine (no locale: Turkish İ stays out)
    .replace(/ё/g, 'е')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A row's search text: each field's key on its own line, so a match never spans two fields. */
export function searchKeyOf(values: ReadonlyArray<string | number | null | undefined>): string {
  let out = '';
  for (const v of values) {
    if (v === null || v === undefined || v === '') continue;
    const key = searchKey(String(v));
    if (key) out += (out ? '\n' : '') + key;
  }
  return out;
}

/** `LIKE @q ESCAPE '\'` pattern for "contains this key": the key's own % and _ are literal. */
export function likeContains(key: string): string {
  return `%${key.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

/** Every string inside a stored JSON document (its values, not its keys). */
function jsonStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) jsonStrings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) jsonStrings(v, out);
  return out;
}

/**
 * What a person reads in an exchange: percent-encoded runs (URLs, form bodies) and JSON \uXXXX
 * escapes (PHP's default) decoded, so «зк-0005» finds `/v1/invoices/%D0%97%D0%9A-0005`.
 */
export function readableText(text: string): string {
  let out = text;
  if (out.includes('%')) {
    out = out.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run; // not UTF-8: kept as written
      }
    });
  }
  if (out.includes('\\u')) {
    // One JSON.parse per run of escapes, not one call per character (a Docpart page is thousands).
    out = out.replace(/(?:\\u[0-9A-Fa-f]{4})+/g, (run) => {
      const decoded: unknown = JSON.parse(`"${run}"`); // a JSON string literal: always a string
      return typeof decoded === 'string' ? decoded : run;
    });
  }
  return out;
}

/**
 * What each searchable table keeps in its `search` column: the repositories fill it on every
 * write and migration 8 backfilled it, so both must agree, hence one place.
 */
export const SEARCH_TEXT = {
  /** Cards: code, holder name, e-mail, Passteam cardId (the phone is matched by its digits). */
  card: (r: { code: string; name: string | null; email: string | null; card_id: string | null }) => searchKeyOf([r.code, r.name, r.email, r.card_id]),
  /** Invoices: order, e-mail, client, PayKeeper invoice id. */
  invoice: (r: { order_id: string; email: string; client_id: string | null; invoice_id: string | null }) => searchKeyOf([r.order_id, r.email, r.client_id, r.invoice_id]),
  /** A Docpart order: its number and every text in it (office, obtaining, lines' names, brands, articles, statuses). */
  docpartOrder: (doc: { orderId: number }) => searchKeyOf([doc.orderId, ...jsonStrings(doc)]),
  /** A Docpart buyer: the full name as the window shows it, then every text of the account (each name part, phone, e-mail, login…). */
  docpartUser: (doc: { fields: Record<string, string> }) => {
    const f = doc.fields;
    return searchKeyOf([[f.surname, f.name, f.patronymic].filter(Boolean).join(' '), ...jsonStrings(doc)]);
  },
  /** A journal event: what the window shows of it (title, entity, summary, error). */
  journalEvent: (r: { title: string; entity: string | null; summary: string | null; error: string | null }) => searchKeyOf([r.title, r.entity, r.summary, r.error]),
  /** A journal row: the address, entity, bodies and error as a person reads them. */
  journal: (r: { url: string; entity: string | null; req_body: string | null; res_body: string | null; error: string | null }) =>
    searchKeyOf([r.url, r.entity, r.req_body, r.res_body, r.error].map((v) => (v ? readableText(v) : v))),
};
