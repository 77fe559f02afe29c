import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { finishDocument } from '../../listener/openapi.ts';
import { VERSION } from '../../version.ts';
import { problemSchema } from '../examples.ts';
import { TAGS, type RegateServer } from '../method.ts';

/**
 * OpenAPI 3.1 at /regate/v1/openapi.json and Swagger UI at /regate/docs, made from the routes'
 * own schemas. Registered before the routes, on the root (it documents every route registered after it).
 */
const plugin: FastifyPluginAsyncZod<Record<never, never>, RegateServer> = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ReGate — шлюз Richest.store ⇄ 1С',
        version: VERSION,
        contact: { name: 'Администратор Спутника у владельца базы 1С' },
        license: { name: 'Проприетарная лицензия', identifier: 'LicenseRef-Proprietary' },
        description:
          'HTTPS + Basic (у каждой базы 1С свой логин). Ошибки — RFC 9457 application/problem+json {type,title,status,detail,code,retryable,requestId}; отказ 1С (404, 409, 422) несёт её код, текст и подробности (details, например строки с изменившейся ценой). ' +
          'Отказ — окончательный ответ: повтор с тем же ключом вернёт его же, отложенная запись получит state failed с problem. ' +
          'Записи требуют заголовок Idempotency-Key (повтор с тем же ключом безопасен; 72 ч). Если 1С недоступна, запись принимается (202) и выполняется позже: GET /operations/{id}.',
      },
      servers: [{ url: '/', description: 'Этот шлюз: https://<адрес>:<порт> выдаёт владелец базы 1С (порт по умолчанию 37443)' }],
      tags: [
        { name: TAGS.catalog, description: 'Справочники базы: версия, города, магазины, группы, товары с остатками и ценами (из кеша шлюза, когда можно)' },
        { name: TAGS.clients, description: 'Клиенты: найти или создать, изменить (записи: нужен Idempotency-Key)' },
        { name: TAGS.orders, description: 'Заказы: создать, оплатить, вернуть, узнать состояние (записи: нужен Idempotency-Key)' },
        { name: TAGS.operations, description: 'Отложенные записи: запись, принятая с 202, пока 1С была недоступна' },
        { name: TAGS.service, description: 'Состояние шлюза и баз 1С' },
      ],
      components: { securitySchemes: { basic: { type: 'http', scheme: 'basic', description: 'Логин и пароль базы 1С в ReGate (у каждой базы свои)' } } },
      security: [{ basic: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (d) => ('openapiObject' in d ? finishDocument(d.openapiObject, { name: 'Problem', schema: problemSchema, mediaType: 'application/problem+json' }) : d.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/regate/docs' });
  app.get('/regate/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

export const docs = fp(plugin, { name: 'regate-docs' });
