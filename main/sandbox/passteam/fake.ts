/**
 * A fake Passteam (`getpass.passteam.ru`) server for honest tests and the sandbox.
 *
 * Built on node:http only so the wire behaviour is under our control byte for byte.
 * Fidelity notes (see shared/reference/passteam.md):
 * - CONFIRMED by Passteam's own 1C example: `POST /oapi/v1/createcard|updatecard`, bare-token
 *   `Authorization`, form-urlencoded `values[%VAR%]` fields, envelope `{result, message, code, error}`,
 *   `result.cardId` / `result.cardUrl` / `result.card.installed`, code 409 for a duplicate unique
 *   value, code 500 with `Provided field (PHONE) is unique and must be set.`.
 * - EMULATED from general PHP behaviour: `$_POST` decoding (see php-form.ts), the form is only read
 *   when Content-Type is `application/x-www-form-urlencoded` (otherwise every field is missing),
 *   json_encode default escaping (`\/`, `\uXXXX`) when `jsonStyle: 'php'` (the default).
 * - ASSUMED (real behaviour unknown, do not claim fidelity): the HTTP status (both modes offered),
 *   every message text except the PHONE one, the 404/401/429 codes, that unknown variables are
 *   ignored, that `values[PHONE]` without `%` counts as an unknown variable, `card.values` echoing
 *   every template variable, the whole `getcardswithpagination` request/response shape, quota
 *   signalling, and the generic 500 text. `getatoken`, template info, card info, delete, push:
 *   not implemented (answer "Method not found").
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { PhpFormMap } from './php-form.ts';
import { NGINX_502_HTML, phpJsonEncode, startFakeServer, type FakeHold, type FakeLogOptions, type FakeReply, type FakeRequest } from '../fake-server.ts';

export interface FakeTemplate {
  id: string;
  /** Variable names WITHOUT `%`, e.g. 'PHONE'. */
  variables: string[];
  unique: string[];
}

export interface FakePassteamOptions extends FakeLogOptions {
  /** `Authorization` must equal exactly this (bare token, no `Bearer`). */
  token: string;
  /** Default: one template 'tpl-loyalty' (CLIENT_NAME, BIRTHDAY, PHONE, EMAIL, BONUS, DISCOUNT; unique PHONE). */
  templates?: FakeTemplate[];
  /** Body `code` is always present; the HTTP status is 200 always, or mirrors `code`. Default 'always200'. */
  httpStatus?: 'always200' | 'mirror';
  latencyMs?: number;
  host?: string;
  port?: number;
  /** Values keyed by variable name, with or without the surrounding `%`. `cardId` fixes the id (24 hex). */
  seedCards?: Array<{ templateId: string; values: Record<string, string>; installed?: boolean; cardId?: string }>;
  /** Message for a wrong/missing token (real text unknown). Default 'Invalid token'. */
  authErrorMessage?: string;
  /** 'php' (default): escape `/` and non-ASCII like PHP's json_encode; 'plain': JSON.stringify as is. */
  jsonStyle?: 'php' | 'plain';
  /** Methods this server does not know (e.g. ['getcardswithpagination'], whose real shape is assumed). */
  withoutMethods?: string[];
}

export interface FakeCard {
  cardId: string;
  templateId: string;
  cardUrl: string;
  installed: boolean;
  /** Keyed by variable name WITHOUT `%`; every template variable present ('' when never set). */
  values: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export type { FakeRequest } from '../fake-server.ts';
export { NGINX_502_HTML } from '../fake-server.ts';

export type FakeFailure = 'http500' | 'http502-html' | 'reset' | 'hang' | 'processed-then-reset';

export interface FakePassteam {
  /** Base URL, e.g. http://127.0.0.1:PORT; methods live at /oapi/v1/<method>. */
  url: string;
  cards(): FakeCard[];
  /** Every request received (while not down), in order, including ones hit by injected failures. */
  requests(): FakeRequest[];
  clearRequests(): void;
  /** The user added (or removed) the pass in Wallet. Throws for an unknown card. */
  setInstalled(cardId: string, installed: boolean): void;
  setHttpStatusMode(mode: 'always200' | 'mirror'): void;
  setLatency(ms: number): void;
  /** Applies `kind` to the next `count` requests, then normal again (calls queue up). */
  failNext(count: number, kind: FakeFailure): void;
  /** While down every connection (new or kept alive) is reset immediately. */
  setDown(down: boolean): void;
  /** ASSUMED signalling: over quota → code 429, 'Too many requests'. `null` = unlimited. */
  setQuota(perMinute: number | null): void;
  /** A gate for crash tests: see FakeServer.hold. */
  hold(match?: (req: FakeRequest) => boolean): FakeHold;
  /** Requests received and not answered yet. */
  inHand(): number;
  stop(): Promise<void>;
}

interface Envelope {
  result: unknown;
  message: string;
  code: number;
  error: boolean;
}

export const DEFAULT_TEMPLATE: FakeTemplate = {
  id: 'tpl-loyalty',
  variables: ['CLIENT_NAME', 'BIRTHDAY', 'PHONE', 'EMAIL', 'BONUS', 'DISCOUNT'],
  unique: ['PHONE'],
};

export const PAGE_SIZE = 50;
const QUOTA_WINDOW_MS = 60_000;

/** Deterministic from the id; the literal `%25` is on purpose (a client that strips `%` breaks it). */
export function fakeCardUrl(cardId: string): string {
  return `https://getpass.passteam.ru/card/${cardId}?utm_source=api&note=100%25`;
}

const processUnique = randomBytes(5).toString('hex');
let counter = randomBytes(3).readUIntBE(0, 3);

/** MongoDB-ObjectId-like: 4-byte seconds, 5 random bytes, 3-byte counter; 24 lowercase hex. */
function objectIdLike(): string {
  counter = (counter + 1) % 0x1000000;
  const ts = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0').slice(-8);
  return `${ts}${processUnique}${counter.toString(16).padStart(6, '0')}`;
}

function stripPct(name: string): string {
  return name.length >= 2 && name.startsWith('%') && name.endsWith('%') ? name.slice(1, -1) : name;
}

function ok(result: unknown): Envelope {
  return { result, message: 'OK', code: 200, error: false };
}

function fail(code: number, message: string): Envelope {
  return { result: null, message, code, error: true };
}

export async function startFakePassteam(opts: FakePassteamOptions): Promise<FakePassteam> {
  const templates = new Map<string, FakeTemplate>();
  // A stored card's template: every card is made from a template the fake holds, and none is ever removed.
  const templateOf = (id: string): FakeTemplate => {
    const tpl = templates.get(id);
    if (!tpl) throw new Error(`fake Passteam: no template ${id}`);
    return tpl;
  };
  for (const t of opts.templates ?? [DEFAULT_TEMPLATE]) {
    templates.set(t.id, { id: t.id, variables: t.variables.map(stripPct), unique: t.unique.map(stripPct) });
  }
  const cards = new Map<string, FakeCard>();
  const admitted: number[] = [];
  let httpStatus = opts.httpStatus ?? 'always200';
  let quota: number | null = null;
  const authErrorMessage = opts.authErrorMessage ?? 'Invalid token';
  const encode = (opts.jsonStyle ?? 'php') === 'php' ? phpJsonEncode : (v: unknown) => JSON.stringify(v);

  const freshId = (): string => {
    let id = objectIdLike();
    while (cards.has(id)) id = objectIdLike();
    return id;
  };

  /** The `%VAR%` entries of `values[...]` that name a template variable (others ignored). */
  const givenValues = (form: PhpFormMap, tpl: FakeTemplate): Map<string, string> => {
    const out = new Map<string, string>();
    const values = form.values;
    if (typeof values !== 'object') return out;
    for (const name of tpl.variables) {
      const v = values[`%${name}%`];
      if (typeof v === 'string') out.set(name, v);
    }
    return out;
  };

  // Unique values per template, as a database index would hold them: a check costs the same with 10 or 100,000 cards.
  const uniqueIndex = new Map<string, string>();
  const uniqueKey = (templateId: string, name: string, value: string) => `${templateId}\u0000${name}\u0000${value}`;
  const setValue = (card: FakeCard, name: string, value: string): void => {
    const unique = templateOf(card.templateId).unique.includes(name);
    const old = card.values[name];
    if (unique && old !== undefined && uniqueIndex.get(uniqueKey(card.templateId, name, old)) === card.cardId) uniqueIndex.delete(uniqueKey(card.templateId, name, old));
    card.values[name] = value;
    if (unique && value !== '') uniqueIndex.set(uniqueKey(card.templateId, name, value), card.cardId);
  };

  const uniqueTakenBy = (templateId: string, name: string, value: string, except: string | null): FakeCard | undefined => {
    const id = uniqueIndex.get(uniqueKey(templateId, name, value));
    return id === undefined || id === except ? undefined : cards.get(id);
  };

  const wireValues = (card: FakeCard): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(card.values)) out[`%${k}%`] = v;
    return out;
  };

  const cardResult = (card: FakeCard) => ({
    cardId: card.cardId,
    cardUrl: card.cardUrl,
    card: { installed: card.installed, values: wireValues(card) },
  });

  const checkUnique = (tpl: FakeTemplate, given: Map<string, string>, except: string | null, requireAll: boolean): Envelope | null => {
    for (const u of tpl.unique) {
      const v = given.get(u);
      if ((requireAll && v === undefined) || v === '') return fail(500, `Provided field (${u}) is unique and must be set.`);
    }
    for (const u of tpl.unique) {
      const v = given.get(u);
      // ASSUMED message text; only the code 409 is confirmed.
      if (v !== undefined && uniqueTakenBy(tpl.id, u, v, except)) return fail(409, `Card with provided unique field (${u}) already exists.`);
    }
    return null;
  };

  const createCard = (templateId: string, given: Map<string, string>, installed: boolean, cardId?: string): FakeCard => {
    const tpl = templateOf(templateId);
    const now = Date.now();
    const id = cardId ?? freshId();
    const card: FakeCard = { cardId: id, templateId, cardUrl: fakeCardUrl(id), installed, values: {}, createdAt: now, updatedAt: now };
    for (const name of tpl.variables) setValue(card, name, given.get(name) ?? '');
    cards.set(id, card);
    return card;
  };

  for (const seed of opts.seedCards ?? []) {
    const tpl = templates.get(seed.templateId);
    if (!tpl) throw new Error(`fake passteam seed: unknown template ${seed.templateId}`);
    const given = new Map<string, string>();
    for (const [k, v] of Object.entries(seed.values)) {
      const name = stripPct(k);
      if (!tpl.variables.includes(name)) throw new Error(`fake passteam seed: template ${tpl.id} has no variable ${name}`);
      given.set(name, v);
    }
    const problem = checkUnique(tpl, given, null, true);
    if (problem) throw new Error(`fake passteam seed: ${problem.message}`);
    if (seed.cardId !== undefined && (!/^[0-9a-f]{24}$/.test(seed.cardId) || cards.has(seed.cardId))) {
      throw new Error(`fake passteam seed: bad or duplicate cardId ${seed.cardId}`);
    }
    createCard(tpl.id, given, seed.installed ?? false, seed.cardId);
  }

  const methods: Record<string, (form: PhpFormMap) => Envelope> = {
    createcard(form) {
      const tpl = typeof form.templateId === 'string' ? templates.get(form.templateId) : undefined;
      if (!tpl) return fail(404, 'Template not found');
      const given = givenValues(form, tpl);
      const problem = checkUnique(tpl, given, null, true);
      if (problem) return problem;
      return ok(cardResult(createCard(tpl.id, given, false)));
    },
    updatecard(form) {
      const card = typeof form.cardId === 'string' ? cards.get(form.cardId) : undefined;
      if (!card) return fail(404, 'Card not found');
      const tpl = templateOf(card.templateId);
      const given = givenValues(form, tpl);
      const problem = checkUnique(tpl, given, card.cardId, false);
      if (problem) return problem;
      for (const [k, v] of given) setValue(card, k, v);
      card.updatedAt = Date.now();
      return ok(cardResult(card));
    },
    // ASSUMED shape: only "template id + 1-based page, at most 50 per page, page count and total"
    // is documented; field names and the `values[...]` filter are our guess.
    getcardswithpagination(form) {
      const tpl = typeof form.templateId === 'string' ? templates.get(form.templateId) : undefined;
      if (!tpl) return fail(404, 'Template not found');
      const filters = givenValues(form, tpl);
      const rawPage = typeof form.page === 'string' ? form.page.trim() : '';
      const page = /^[1-9][0-9]*$/.test(rawPage) ? Number(rawPage) : 1;
      const matching = [...cards.values()].filter(
        (c) => c.templateId === tpl.id && [...filters].every(([k, v]) => c.values[k] === v),
      );
      const total = matching.length;
      const pages = Math.ceil(total / PAGE_SIZE);
      const slice = matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
      return ok({
        cards: slice.map((c) => ({ cardId: c.cardId, cardUrl: c.cardUrl, installed: c.installed, values: wireValues(c) })),
        page,
        pages,
        total,
      });
    },
  };

  const dispatch = (req: IncomingMessage, form: PhpFormMap): Envelope => {
    const pathname = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
    const m = /^\/oapi\/v1\/([^/]+)$/.exec(pathname);
    const name = m ? m[1].toLowerCase() : '';
    if (req.method !== 'POST' || !Object.hasOwn(methods, name) || opts.withoutMethods?.includes(name)) return fail(404, 'Method not found');
    const handler = methods[name];
    if (req.headers.authorization !== opts.token) return fail(401, authErrorMessage);
    const now = Date.now();
    while (admitted.length > 0 && admitted[0] <= now - QUOTA_WINDOW_MS) admitted.shift();
    if (quota !== null && admitted.length >= quota) return fail(429, 'Too many requests'); // ASSUMED shape
    admitted.push(now);
    return handler(form);
  };

  const envelope = (env: Envelope, forceStatus?: number): FakeReply => ({
    status: forceStatus ?? (httpStatus === 'mirror' ? env.code : 200),
    contentType: 'application/json; charset=utf-8',
    body: encode(env),
  });

  const server = await startFakeServer<FakeFailure>({
    name: 'fake passteam',
    keepRequests: opts.keepRequests,
    host: opts.host,
    port: opts.port,
    latencyMs: opts.latencyMs,
    answer: (req, form) => envelope(dispatch(req, form)),
    failurePages: {
      http500: envelope(fail(500, 'Internal server error'), 500), // ASSUMED text
      'http502-html': { status: 502, contentType: 'text/html', body: NGINX_502_HTML },
    },
    internalError: envelope(fail(500, 'Internal server error'), 500),
  });

  return {
    url: server.url,
    cards: () => [...cards.values()].map((c) => ({ ...c, values: { ...c.values } })),
    requests: server.requests,
    clearRequests: server.clearRequests,
    setInstalled(cardId, installed) {
      const card = cards.get(cardId);
      if (!card) throw new Error(`fake passteam: no card ${cardId}`);
      card.installed = installed;
      card.updatedAt = Date.now();
    },
    setHttpStatusMode(mode) {
      httpStatus = mode;
    },
    setLatency: server.setLatency,
    failNext: server.failNext,
    setDown: server.setDown,
    hold: server.hold,
    inHand: server.inHand,
    setQuota(perMinute) {
      quota = perMinute;
    },
    stop: server.stop,
  };
}
