import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { defaultModules } from '../../main/connectors/index.ts';
import { startTestCore } from '../helpers/core.ts';
import { tempDir } from '../helpers/tmp.ts';
import { selfSigned } from '../helpers/tls.ts';

/**
 * Both OpenAPI documents as a running core serves them: valid OpenAPI with no problem of any
 * severity under Redocly's recommended rules, every operation named and documented with examples,
 * every example fitting the schema it illustrates.
 */

type Json = Record<string, any>;
const tls = new Agent({ connect: { rejectUnauthorized: false } });
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

async function documents() {
  const t = await startTestCore({
    config: {
      regate: {
        enabled: true,
        host: '127.0.0.1',
        port: 0,
        tls: selfSigned(tempDir()),
        tenants: [{ id: 'shop', user: 'richest', password: 'sandbox', baseUrl: 'http://127.0.0.1:9', onecUser: 'u', onecPassword: 'p', poolSize: 4, prewarmSeconds: 0 }],
      },
    },
    modules: defaultModules,
  });
  const v1 = (await (await fetch(`${t.listenerUrl}/v1/openapi.json`)).json()) as Json;
  const health = (await (await t.api('/v1/health')).json()) as Json;
  const regate = (await (await request(`${health.regate.url}/regate/v1/openapi.json`, { dispatcher: tls })).body.json()) as Json;
  return { v1, regate };
}

function operations(doc: Json): Array<{ where: string; op: Json }> {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op: op as Json })),
  );
}

/** Every example in the document with the JSON pointer of the schema it illustrates. */
function examples(doc: Json): Array<{ where: string; schema: string; value: unknown }> {
  const out: Array<{ where: string; schema: string; value: unknown }> = [];
  const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      if (!METHODS.has(method)) continue;
      const base = `#/paths/${esc(path)}/${method}`;
      const media = (ptr: string, m: Json, where: string) => {
        for (const [name, ex] of Object.entries((m.examples ?? {}) as Json)) out.push({ where: `${where} «${name}»`, schema: `${ptr}/schema`, value: ex.value });
        if ('example' in m) out.push({ where, schema: `${ptr}/schema`, value: m.example });
      };
      for (const [type, m] of Object.entries((op.requestBody?.content ?? {}) as Json)) media(`${base}/requestBody/content/${esc(type)}`, m, `${method.toUpperCase()} ${path} body ${type}`);
      for (const [status, r] of Object.entries((op.responses ?? {}) as Json)) {
        for (const [type, m] of Object.entries((r.content ?? {}) as Json)) media(`${base}/responses/${status}/content/${esc(type)}`, m, `${method.toUpperCase()} ${path} ${status} ${type}`);
      }
      (op.parameters ?? []).forEach((p: Json, i: number) => media(`${base}/parameters/${i}`, p, `${method.toUpperCase()} ${path} ${p.in} ${p.name}`));
    }
  }
  return out;
}

/** What the document's own schema refuses in each of its examples (JSON Schema 2020-12, $refs resolved in the document). */
function refusedExamples(doc: Json): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(doc, 'doc');
  return examples(doc).flatMap((e) => {
    const validate = ajv.compile({ $ref: `doc${e.schema}` });
    return validate(e.value) ? [] : [`${e.where}: ${ajv.errorsText(validate.errors)}`];
  });
}

async function lint(doc: Json): Promise<string[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
  return problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
}

describe('OpenAPI documents', () => {
  it('both pass Redocly’s recommended rules (its struct rule validates OpenAPI 3.1) with no error and no warning', async () => {
    const { v1, regate } = await documents();
    expect(v1.openapi).toBe('3.1.0');
    expect(regate.openapi).toBe('3.1.0');
    expect(await lint(v1)).toEqual([]);
    expect(await lint(regate)).toEqual([]);
  });

  it('every example, request and response, fits the schema it illustrates', async () => {
    const { v1, regate } = await documents();
    expect(examples(v1).length).toBeGreaterThan(150);
    expect(examples(regate).length).toBeGreaterThan(150);
    expect(refusedExamples(v1)).toEqual([]);
    expect(refusedExamples(regate)).toEqual([]);
  });

  it('/v1: each operation is named, tagged and has examples of its body, its parameters and every answer; errors are the one Error schema with their codes', async () => {
    const { v1 } = await documents();
    const missing: string[] = [];
    const ids = new Set<string>();
    for (const { where, op } of operations(v1)) {
      if (!/^[a-z][A-Za-z]+$/.test(op.operationId ?? '')) missing.push(`${where}: operationId`);
      ids.add(op.operationId);
      if (!op.tags?.length) missing.push(`${where}: tags`);
      for (const p of op.parameters ?? []) if (!('examples' in p) && !('example' in p) && p.name !== 'changedSince') missing.push(`${where}: example of ${p.in} ${p.name}`);
      if (op.requestBody) {
        const { content } = op.requestBody;
        if (!content['application/json']?.examples) missing.push(`${where}: JSON body examples`);
        if (!content['application/x-www-form-urlencoded']?.examples) missing.push(`${where}: form body examples`);
      }
      for (const [status, r] of Object.entries(op.responses as Json)) {
        if (r.description === 'Default Response' || !r.description) missing.push(`${where} ${status}: description`);
        const json = r.content?.['application/json'];
        if (!json) continue; // the export's file
        if (!json.examples) missing.push(`${where} ${status}: examples`);
        if (status >= '400') {
          if (json.schema.$ref !== '#/components/schemas/Error') missing.push(`${where} ${status}: the Error schema`);
          for (const code of Object.keys(json.examples ?? {})) if (!r.description.includes(`\`${code}\``)) missing.push(`${where} ${status}: code ${code} in the description`);
        }
      }
      const errors = Object.keys(op.responses).filter((s) => s >= '400');
      if (!errors.includes('default')) missing.push(`${where}: default (transport) errors`);
    }
    expect(missing).toEqual([]);
    expect([...ids]).toEqual(
      expect.arrayContaining(['putCard', 'postBonus', 'getCard', 'listChangedCards', 'createInvoice', 'listInvoices', 'getInvoice', 'revokeInvoice', 'exportInvoices', 'listDocpartOrders', 'getHealth']),
    );
    // What the 1C programmer is told about auth and the form bodies.
    expect(v1.components.securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } });
    expect(v1.components.securitySchemes.basic.description).toMatch(/пароль — токен/);
    expect(v1.security).toEqual([{ bearer: [] }, { basic: [] }]);
    const put = v1.paths['/v1/cards/{code}'].put;
    expect(put.requestBody.content['application/x-www-form-urlencoded'].encoding.holder).toEqual({ style: 'deepObject', explode: true });
    expect(put.requestBody.content['application/x-www-form-urlencoded'].examples.full.description).toContain('holder[name]=Иванов Иван Иванович&holder[birthday]=17.05.1990');
    expect(put.requestBody.description).toContain('ключи в стиле PHP'); // the form view of Swagger UI shows only fields
    expect(Object.keys(put.responses)).toEqual(['200', '202', '400', '401', '403', '409', '413', '415', '422', '503', 'default']);
    expect(put.responses['409'].description).toMatch(/`phone_taken`.*\n.*`create_uncertain`/);
    expect(v1.paths['/v1/cards/{code}/bonus'].post.responses['409'].content['application/json'].examples.card_unknown.value.error.code).toBe('card_unknown');
    expect(v1.paths['/v1/docpart/orders'].get.responses['200'].content['application/json'].schema.properties.orders.items.properties.items.type).toBe('array');
  });

  it('ReGate: each operation is named for a generated client and its errors are problem+json with the Problem schema', async () => {
    const { regate } = await documents();
    const missing: string[] = [];
    for (const { where, op } of operations(regate)) {
      if (!/^[a-z][A-Za-z]+$/.test(op.operationId ?? '')) missing.push(`${where}: operationId`);
      for (const p of op.parameters ?? []) if (!('examples' in p) && !('example' in p)) missing.push(`${where}: example of ${p.in} ${p.name}`);
      for (const [status, r] of Object.entries(op.responses as Json)) {
        if (r.description === 'Default Response') missing.push(`${where} ${status}: description`);
        if (status >= '400' && r.content['application/problem+json']?.schema.$ref !== '#/components/schemas/Problem') missing.push(`${where} ${status}: the Problem schema`);
      }
    }
    expect(missing).toEqual([]);
    expect(regate.paths['/regate/v1/stores/{storeId}/assortment'].get.operationId).toBe('listAssortment');
    expect(regate.paths['/regate/v1/orders'].post.responses['422'].content['application/problem+json'].examples.PRICE_MISMATCH.value.details).toHaveLength(1);
  });
});
