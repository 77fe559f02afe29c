import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteGenericInterface } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { z } from 'zod';
import { errorAnswers, exampled, type ErrorDoc } from '../listener/openapi.ts';
import type { CachePolicy } from './cache.ts';
import { PROBLEMS as P, problemSchema } from './examples.ts';
import { parsePart } from './input.ts';
import type { CallKind } from './sessions.ts';

/**
 * What one of ReGate's methods is (methods.ts lists them): its REST route and OpenAPI entry, its
 * alias `/regate/{name}`, its 1C call, and for a read its cache policy. A method becomes routes
 * here, where its schemas' types are known, so handlers get typed input without casts.
 */

export type RegateServer = Server;
export type RegateApp = FastifyInstance<RegateServer, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** A request's validated input as the route's schemas type it. */
type Input<S extends FastifySchema> = Pick<FastifyRequest<RouteGenericInterface, RegateServer, IncomingMessage, S, ZodTypeProvider>, 'params' | 'query' | 'body'>;

/** The tags of /regate/v1/openapi.json: a generated client's API classes. */
export const TAGS = { catalog: 'catalog', clients: 'clients', orders: 'orders', operations: 'operations', service: 'service' } as const;
type Tag = (typeof TAGS)[keyof typeof TAGS];

/** Every method may answer these; a read answers 503 when 1C is down, a write is queued instead (202). */
const COMMON_PROBLEMS = [P.invalid, P.unauthorized, P.tooManyLogins, P.quota, P.badAnswer, P.onecAuth, P.busy, P.locked, P.timeout, P.requestTimeout, P.headers, P.internal];
const READ_PROBLEMS = [...COMMON_PROBLEMS, P.unavailable];
const WRITE_PROBLEMS = [...COMMON_PROBLEMS, P.keyRequired, P.keyTooLong, P.inProgress, P.keyReused];

/** A write's headers: the Idempotency-Key (its absence or length has its own 400). */
export const WRITE_HEADERS = z
  .object({ 'idempotency-key': exampled(z.string().min(1).max(255).describe('Уникальный ключ операции (UUID); повтор с тем же ключом безопасен'), '0b6f2c1e-7d4a-4c55-9f1e-3a2b8c9d0e1f') })
  .passthrough();

/** A method's part that takes nothing (no path parameters, no query): the empty object fastify gives such a route. */
export const NONE = z.object({});

interface Doc {
  url: string;
  summary: string;
  /** The generated client's method name. */
  operationId: string;
  tag: Tag;
  /** 1C's refusals this method may pass on (its own codes, statuses and texts). */
  refusals?: ErrorDoc[];
  response: Record<number, z.ZodType>;
}

export interface ReadSpec<Pa extends z.ZodObject, Q extends z.ZodObject> extends Doc {
  /** Its path parameters (NONE: none), so the input `onec` is given is typed from the schema itself. */
  params: Pa;
  query: Q;
  /** How long its answers are served from the cache. */
  policy: CachePolicy;
  /** 1C's path for this input (relative to the base's service); it is also the answer's cache key. */
  onec(input: Input<{ params: Pa; querystring: Q }>): string;
}

export interface WriteSpec<Pa extends z.ZodObject, B extends z.ZodType> extends Doc {
  verb: 'PUT' | 'PATCH' | 'POST';
  params: Pa;
  body: B;
  /** 1C's path, and the line the write waits in: writes of one client or order run one at a time, in order. */
  onec(input: Input<{ params: Pa; body: B }>): { path: string; line: string };
  /**
   * The cached reads this write makes stale once 1C did it, as 1C paths (a trailing `*`: every path
   * starting so). From its 1C path and body, so a queued write finished later says the same.
   */
  stale?: (call: StaleInput) => string[];
}

/** What a write's `stale` is given: its 1C path and its body (as sent, or as a queued record keeps it). */
export interface StaleInput {
  path: string;
  body: unknown;
}

/** A read as the gateway serves it: 1C's path (the cache key) under the method's policy. */
export interface ReadCall {
  method: string;
  path: string;
  policy: CachePolicy;
}

/** A write as the gateway makes it: 1C's verb, path and body, the line it waits in. */
export interface WriteCall {
  method: string;
  verb: 'PUT' | 'PATCH' | 'POST';
  path: string;
  line: string;
  body: unknown;
}

export type Serve<C> = (req: FastifyRequest, reply: FastifyReply, call: C) => Promise<unknown>;

/** The parts an alias call gives: path parameters and query from its query string or JSON body. */
export interface AliasInput {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

interface Common {
  verb: 'GET' | 'PUT' | 'PATCH' | 'POST';
  url: string;
  /** Its path parameters' names: an alias takes them from the query or the body. */
  paramNames: string[];
}

export interface ReadMethod extends Common {
  kind: 'read';
  verb: 'GET';
  policy: CachePolicy;
  /** Registers the REST route; its handler hands `serve` the 1C call. */
  route(app: RegateApp, name: string, serve: Serve<ReadCall>): void;
  /** An alias call's input, checked as the REST route checks it, as the 1C call. */
  fromAlias(name: string, req: FastifyRequest, input: AliasInput): ReadCall;
}

export interface WriteMethod extends Common {
  kind: 'write';
  verb: 'PUT' | 'PATCH' | 'POST';
  /** The cached reads a done write of this method makes stale (WriteSpec.stale). */
  stale(call: StaleInput): string[];
  route(app: RegateApp, name: string, serve: Serve<WriteCall>): void;
  fromAlias(name: string, req: FastifyRequest, input: AliasInput): WriteCall;
}

export type Method = ReadMethod | WriteMethod;

function docOf(spec: Doc, kind: CallKind) {
  return {
    summary: spec.summary,
    operationId: spec.operationId,
    tags: [spec.tag],
    response: { ...spec.response, ...errorAnswers(problemSchema, [...(kind === 'write' ? WRITE_PROBLEMS : READ_PROBLEMS), ...(spec.refusals ?? [])]) },
  };
}

/** URLs whose 1C path a read route keeps (cursors make most URLs of a busy shop unique: a bound, not a cache of them all). */
const PATHS_PER_ROUTE = 500;

/** A method that reads (GET): answered from the cache when it can be. */
export function read<Pa extends z.ZodObject, Q extends z.ZodObject>(spec: ReadSpec<Pa, Q>): ReadMethod & Pick<ReadSpec<Pa, Q>, 'onec'> {
  const { params, query: querystring } = spec;
  const schema = { ...docOf(spec, 'read'), params, querystring };
  return {
    kind: 'read',
    verb: 'GET',
    url: spec.url,
    policy: spec.policy,
    paramNames: Object.keys(params.shape),
    onec: spec.onec,
    route(app, name, serve) {
      // A hot page is asked for by the same URL thousands of times a second, and its 1C path is a
      // function of that URL alone (its params and query): it is parsed and built once per URL here,
      // not by zod on every request (a cached page's biggest cost after TLS and HTTP). So this route
      // validates in its handler — the same parsePart, the same 400 — and leaves req.params and
      // req.query as fastify parsed them (nothing else reads them).
      const paths = new Map<string, string>();
      const onecPath = (req: FastifyRequest): string => {
        let path = paths.get(req.url);
        if (path === undefined) {
          // In fastify's order: params, then query.
          const p = parsePart(params, req.params, 'field');
          path = spec.onec({ params: p, query: parsePart(querystring, req.query, 'field'), body: undefined });
          if (paths.size >= PATHS_PER_ROUTE) paths.delete(paths.keys().next().value ?? ''); // the oldest URL first
          paths.set(req.url, path);
        }
        return path;
      };
      app.route({
        method: 'GET',
        url: spec.url,
        schema,
        validatorCompiler: () => () => true,
        handler: (req, reply) => serve(req, reply, { method: name, path: onecPath(req), policy: spec.policy }),
      });
    },
    fromAlias(name, _req, input) {
      // In fastify's order: params, (body), query.
      const p = parsePart(params, input.params, 'field');
      const q = parsePart(querystring, input.query, 'field');
      return { method: name, path: spec.onec({ params: p, query: q, body: undefined }), policy: spec.policy };
    },
  };
}

/** A method that writes: by Idempotency-Key, through the cap or queued while 1C is down. */
export function write<Pa extends z.ZodObject, B extends z.ZodType>(spec: WriteSpec<Pa, B>): WriteMethod {
  const { params } = spec;
  const schema = { ...docOf(spec, 'write'), params, headers: WRITE_HEADERS, body: spec.body };
  const call = (name: string, input: Input<{ params: Pa; body: B }>): WriteCall => ({ method: name, verb: spec.verb, ...spec.onec(input), body: input.body });
  return {
    kind: 'write',
    verb: spec.verb,
    url: spec.url,
    paramNames: Object.keys(params.shape),
    stale: (c) => spec.stale?.(c) ?? [],
    route(app, name, serve) {
      app.route({ method: spec.verb, url: spec.url, schema, handler: (req, reply) => serve(req, reply, call(name, req)) });
    },
    fromAlias(name, req, input) {
      const p = parsePart(params, input.params, 'field');
      const body = parsePart(spec.body, input.body, 'field');
      parsePart(WRITE_HEADERS, req.headers, 'headers');
      return call(name, { params: p, query: undefined, body });
    },
  };
}
