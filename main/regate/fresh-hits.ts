import proxyAddr from '@fastify/proxy-addr';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReadCall } from './method.ts';
import type { TenantRuntime } from './onec.ts';
import { PAGE_TYPE, pageBytes } from './page-bytes.ts';
import { authenticate, requestIdOf } from './plugins/auth.ts';
import type { LoginThrottle } from './repos/index.ts';

/** URLs remembered (cursors make most URLs of a busy shop unique: a bound, not all of them). */
const URLS_KEPT = 5000;

/**
 * Fresh cache hits answered ahead of fastify. A hot page is read thousands of times a second, and
 * for such a hit routing, hooks and the reply object cost as much as TLS itself (README,
 * Performance). A GET of a URL the read route has already served (so its route, validation and 1C
 * path are known) is answered here when everything the full path would check is known at once:
 * the credentials (the same Basic check), the address not throttled (LoginThrottle.checkNow), no
 * quota on the base (a quota-limited base is slow by its own rule: it takes the full path, which
 * counts it), the answer fresh in the base's cache, the gateway not closing. The answer is the
 * full path's, header for header (X-Request-Id, X-Cache: HIT, ETag, 304 on If-None-Match); a hit
 * is counted by the cache and, as on the full path, not journaled. Anything else (a miss, a stale
 * answer, a wrong password, HEAD, a body) goes to fastify as before.
 */
export class FreshHits {
  readonly #calls = new Map<string, ReadCall>();
  readonly #tenants: Map<string, TenantRuntime>;
  readonly #logins: LoginThrottle;
  readonly #ipOf: (req: IncomingMessage) => string | undefined;
  #closing = false;
  /** Requests answered here (tests and the bench read it). */
  answered = 0;

  constructor(deps: { tenants: Map<string, TenantRuntime>; logins: LoginThrottle; trustedProxies: string[] }) {
    this.#tenants = deps.tenants;
    this.#logins = deps.logins;
    // The client's address as fastify's req.ip gives it (the login throttle counts by it).
    const trusted = deps.trustedProxies.length > 0 ? proxyAddr.compile(deps.trustedProxies) : undefined;
    this.#ipOf = trusted ? (req) => proxyAddr.all(req, trusted).at(-1) : (req) => req.socket.remoteAddress;
  }

  /** The read route served this URL (a GET: its 1C path and policy are a function of the URL alone). */
  remember(url: string, call: ReadCall): void {
    if (this.#calls.has(url)) return;
    if (this.#calls.size >= URLS_KEPT) this.#calls.delete(this.#calls.keys().next().value ?? ''); // the oldest URL first
    this.#calls.set(url, call);
  }

  /** From now on every request takes the full path (fastify answers 503 while it closes). */
  close(): void {
    this.#closing = true;
  }

  /** Answers the request if it is a fresh hit it can answer whole; false: fastify's turn. */
  answer(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || this.#closing || req.url === undefined) return false;
    const call = this.#calls.get(req.url);
    if (!call) return false;
    const h = req.headers;
    if ((h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined) return false;
    const tenant = authenticate(h.authorization, this.#tenants);
    if (!tenant || tenant.tenant.quotaPerMinute) return false;
    const ip = this.#ipOf(req);
    const seen = ip === undefined ? undefined : this.#logins.checkNow(ip);
    if (!seen || seen.blocked || seen.failures > 0) return false;
    const got = tenant.cache.fresh(`${tenant.tenant.id}:${call.path}`, call.policy);
    if (!got) return false;
    const { bytes, etag } = pageBytes(got.value);
    const id = requestIdOf(h['x-request-id'], randomUUID());
    if (h['if-none-match'] === etag) {
      res.writeHead(304, ['x-request-id', id, 'x-cache', 'HIT', 'etag', etag]);
      res.end();
    } else {
      res.writeHead(200, ['x-request-id', id, 'x-cache', 'HIT', 'etag', etag, 'content-type', PAGE_TYPE, 'content-length', String(bytes.length)]);
      res.end(bytes);
    }
    this.answered++;
    return true;
  }
}
