import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../errors.ts';
import { VERSION } from '../version.ts';
import { finishDocument } from './openapi.ts';
import { REGISTRY } from '../core/registry.ts';

/** The core's tag of /v1/openapi.json; each module brings its own (its descriptor's `docs`), listed before it. */
export const TAGS = {
  service: 'Служебное',
} as const;

const DESCRIPTION = `Локальный HTTP API Спутника для 1С:Предприятия.

**Авторизация.** Все адреса /v1/*, кроме /v1/health, требуют токен Спутника (окно Спутника → «Обзор» → «Токен»), одним из способов:
- заголовок \`Authorization: Bearer <токен>\`;
- Basic, как его передаёт \`Новый HTTPСоединение(Сервер, Порт, Пользователь, Пароль)\`: имя пользователя любое (можно пустое), пароль — токен.

**Тело запроса** — JSON (\`application/json\`) или форма (\`application/x-www-form-urlencoded\`) с ключами в стиле PHP: \`holder[name]=…\`, \`invoices[0][amount]=…\`. Кодировка — UTF-8 (с BOM или без), windows-1251 (\`charset=windows-1251\`) или UTF-16 с BOM. Значения — как их пишет 1С: числа \`1234.56\` или \`"1 234,56"\`, даты \`2024-03-04\`, \`04.03.2024\`, \`0001-01-01T00:00:00\` (пустая дата), логические \`true\`/\`false\`, \`1\`/\`0\`, \`Да\`/\`Нет\`.

**Ответы** — JSON в UTF-8. 200 — готово; 202 — принято и надёжно сохранено (переживёт сбой питания), Спутник доставит сам. Параметр \`wait\` — сколько секунд ждать ответа внешнего сервиса, прежде чем ответить 202.

**Ошибки** — всегда \`{"error": {"code", "message", "field"}}\` (схема Error): \`message\` — по-русски, его можно показать через \`Сообщить()\` как есть; \`code\` — постоянный, коды перечислены у каждого ответа; \`field\` — о каком поле речь.`;

/** /v1/openapi.json (from the routes' zod schemas and their documentation) and Swagger UI at /docs. */
export async function registerListenerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Спутник — API для 1С',
        version: VERSION,
        description: DESCRIPTION,
        contact: { name: 'Администратор Спутника на этом компьютере (журнал обменов — в окне Спутника)' },
        license: { name: 'Проприетарная лицензия', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: '/', description: 'Этот Спутник: адрес и порт, с которых открыт документ (по умолчанию http://127.0.0.1:37080)' }],
      tags: [...REGISTRY.flatMap((m) => m.docs?.tags ?? []), { name: TAGS.service, description: 'Состояние самого Спутника' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Заголовок `Authorization: Bearer <токен Спутника>`' },
          basic: {
            type: 'http',
            scheme: 'basic',
            description: 'Basic-авторизация: имя пользователя любое (можно пустое), пароль — токен Спутника. Так авторизует `Новый HTTPСоединение(Сервер, Порт, "1c", Токен)`',
          },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (d) => ('openapiObject' in d ? finishDocument(d.openapiObject, { name: 'Error', schema: errorBodySchema }) : d.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
