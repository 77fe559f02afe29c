import qs from 'qs';
import { z } from 'zod';

/**
 * What the OpenAPI documents say beyond the zod schemas the routes validate with: what each answer
 * means and named examples of it, every error status with its codes, and the form variant of JSON
 * bodies. Routes declare these beside their schemas (as `x-` metadata that passes through
 * fastify-type-provider-zod and @fastify/swagger); `finishDocument` then turns the markers into
 * OpenAPI: the one error schema as a `$ref`'d component, `application/x-www-form-urlencoded` media.
 */

/** Named examples as Swagger UI lists them (a drop-down per request body or answer). */
export type Examples<T> = Record<string, { summary: string; description?: string; value: T }>;

/** A form body as qs builds it from PHP-style keys: every value is text. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

const ERROR_MARK = 'x-error-schema';
const FORM_MARK = 'x-form-examples';
const FORM = 'application/x-www-form-urlencoded';

/** An answer: what it means (shown instead of "Default Response") and named examples of it. */
export function documented<T extends z.ZodType>(schema: T, description: string, examples: Examples<z.output<T>>): T {
  return schema.meta({ description, 'x-examples': examples });
}

/**
 * A request body: its JSON examples and, where 1C may send a form instead, form examples (the same
 * schema applies: a form's values are text, which every 1C value type accepts).
 */
export function documentedBody<T extends z.ZodType>(schema: T, opts: { description: string; examples: Examples<z.input<T>>; forms?: Examples<{ [key: string]: FormValue }> }): T {
  return schema.meta({ description: opts.description, 'x-examples': opts.examples, ...(opts.forms ? { [FORM_MARK]: opts.forms } : {}) });
}

/**
 * A parameter with examples of what 1C passes. As `x-examples`: zod drops `examples` from a
 * transforming schema's input side (they would be output values), and most 1C values transform.
 */
export function exampled<T extends z.ZodType>(schema: T, ...examples: Array<z.input<T>>): T {
  const named = Object.fromEntries(examples.map((value, i) => [`e${i + 1}`, { summary: value === '' ? '(пусто)' : String(value), value }]));
  return schema.meta({ 'x-examples': named });
}

/** One error an operation may answer with: its status, stable code, what it means to the caller and an example body. */
export interface ErrorDoc {
  status: number;
  code: string;
  means: string;
  example: unknown;
  /** Answered by every address alike (405, 414, 431, 500): documented once per operation as `default`. */
  common?: boolean;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Запрос не разобран: тело, адрес или заголовок не по правилам',
  401: 'Нет авторизации или она неверна',
  403: 'Запрос отклонён до проверки токена',
  404: 'Не найдено',
  408: 'Запрос не пришёл целиком вовремя',
  409: 'Конфликт: запрос не выполнен',
  413: 'Тело запроса слишком большое',
  415: 'Тип или кодировка тела не поддерживаются',
  422: 'Значение не прошло проверку или внешний сервис отказал по существу',
  429: 'Слишком много запросов',
  502: 'Внешний сервис ответил ошибкой или непонятно',
  503: 'Временно недоступно: повторите позже',
  504: 'Внешний сервис не ответил вовремя',
};

/**
 * The error answers of an operation, grouped by status, each described with its codes and one named
 * example per code, all with the one error schema (`schema`, replaced by its component in the document).
 */
export function errorAnswers(schema: z.ZodType, docs: ErrorDoc[]): Record<string, z.ZodType> {
  const groups = new Map<string, ErrorDoc[]>();
  for (const d of docs) {
    const key = d.common ? 'default' : String(d.status);
    if (groups.get(key)?.some((x) => x.code === d.code)) continue;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const out: Record<string, z.ZodType> = {};
  for (const [key, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const title = key === 'default' ? 'Ошибки, общие для всех адресов' : (STATUS_TITLES[Number(key)] ?? 'Ошибка');
    const lines = list.map((d) => `- ${key === 'default' ? `${d.status} ` : ''}\`${d.code}\` — ${d.means}`);
    // The meaning is in the list above: the example's own description would only repeat it.
    const examples = Object.fromEntries(list.map((d) => [d.code, { summary: key === 'default' ? `${d.status} ${d.code}` : d.code, value: d.example }]));
    out[key] = schema.meta({ description: `${title}. Коды:\n\n${lines.join('\n')}`, 'x-examples': examples, [ERROR_MARK]: true });
  }
  return out;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * @fastify/swagger's `transformObject`: the error answers' schema becomes the component `name`
 * (one schema, one name for a generated client) under `mediaType` when the errors have their own
 * (ReGate's application/problem+json), and each JSON body marked with form examples
 * gains its form media (PHP-style keys: objects as `holder[name]=…`).
 */
export function finishDocument<T extends object>(document: T, error: { name: string; schema: z.ZodType; mediaType?: string }): T {
  const doc: unknown = document;
  if (!isObject(doc)) return document;
  const ref = { $ref: `#/components/schemas/${error.name}` };
  let used = false;
  for (const item of Object.values(isObject(doc.paths) ? doc.paths : {})) {
    for (const op of Object.values(isObject(item) ? item : {})) {
      if (!isObject(op)) continue;
      for (const response of Object.values(isObject(op.responses) ? op.responses : {})) {
        const content = isObject(response) && isObject(response.content) ? response.content : {};
        for (const [type, media] of Object.entries(content)) {
          if (!isObject(media) || !isObject(media.schema) || !media.schema[ERROR_MARK]) continue;
          media.schema = ref;
          used = true;
          if (error.mediaType && type !== error.mediaType) {
            delete content[type];
            content[error.mediaType] = media;
          }
        }
      }
      for (const p of Array.isArray(op.parameters) ? op.parameters : []) {
        // One example reads better as the parameter's `example` (Swagger UI shows no drop-down of one).
        const named = isObject(p) && isObject(p.examples) ? Object.values(p.examples) : [];
        if (named.length === 1 && isObject(named[0])) {
          p.example = named[0].value;
          delete p.examples;
        }
      }
      const body = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : undefined;
      const json = body?.['application/json'];
      if (body && isObject(op.requestBody) && isObject(json) && isObject(json.schema) && json.schema[FORM_MARK]) {
        const form = formMedia(json.schema);
        body[FORM] = form.media;
        // Swagger UI shows a form body as fields: the PHP-style keys are told where both views show them.
        const said = typeof op.requestBody.description === 'string' ? `${op.requestBody.description}\n\n` : '';
        if (form.first) op.requestBody.description = `${said}Формой (${FORM}) — ключи в стиле PHP, например (до URL-кодирования): \`${form.first}\``;
      }
    }
  }
  const components = isObject(doc.components) ? doc.components : (doc.components = {});
  const schemas = isObject(components.schemas) ? components.schemas : (components.schemas = {});
  if (used) schemas[error.name] = componentSchema(error.schema);
  return document;
}

function formMedia(schema: Json): { media: Json; first?: string } {
  const { [FORM_MARK]: forms, ...rest } = schema;
  delete schema[FORM_MARK];
  const encoding: Json = {};
  for (const [name, prop] of Object.entries(isObject(rest.properties) ? rest.properties : {})) {
    const types = isObject(prop) ? [prop.type].flat() : [];
    if (types.includes('object')) encoding[name] = { style: 'deepObject', explode: true };
  }
  const texts: string[] = [];
  const examples = Object.fromEntries(
    Object.entries(isObject(forms) ? forms : {}).map(([name, ex]) => {
      const e = isObject(ex) ? ex : {};
      const text = qs.stringify(e.value, { encode: false });
      texts.push(text);
      return [name, { ...e, description: `${typeof e.description === 'string' ? `${e.description}. ` : ''}Тело до URL-кодирования: \`${text}\`` }];
    }),
  );
  return { media: { schema: rest, ...(Object.keys(encoding).length ? { encoding } : {}), examples }, first: texts[0] };
}

function componentSchema(schema: z.ZodType): Json {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' });
  return json;
}
