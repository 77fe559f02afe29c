import type { z } from 'zod';
import { errorBodySchema, errors, SputnikError } from '../errors.ts';
import { errorAnswers, type ErrorDoc } from './openapi.ts';

/**
 * The errors of the 1C API as /v1/openapi.json lists them per operation: status, code, what it means
 * for the 1C programmer, and an example body with the message Sputnik really writes.
 */

/** A documented error of the 1C API; `e` is the error itself (its example body is its toBody()). */
export function onecError(e: SputnikError, means: string, opts: { common?: boolean } = {}): ErrorDoc {
  return { status: e.status, code: e.code, means, example: e.toBody(), ...opts };
}

const err = (status: number, code: string, message: string, field?: string) => new SputnikError(status, code, message, { field });

/** Answered by every address alike: documented once per operation as `default`. */
const TRANSPORT: ErrorDoc[] = [
  onecError(err(405, 'method_not_allowed', 'Метод PATCH для /v1/cards/0001 не поддерживается; можно: GET, HEAD, PUT'), 'метод не тот для этого адреса (заголовок Allow — какие можно)', { common: true }),
  onecError(err(414, 'uri_too_long', 'Адрес запроса длиннее 8192 символов: передайте данные в теле запроса'), 'адрес длиннее 8192 символов или его часть длиннее 500', { common: true }),
  onecError(err(431, 'headers_too_large', 'Заголовки запроса слишком большие (больше 16 КБ)'), 'заголовки больше 16 КБ', { common: true }),
  onecError(err(500, 'internal_error', 'Внутренняя ошибка Спутника; подробности в журнале. Запрос можно повторить.'), 'внутренняя ошибка Спутника: повторите запрос; подробности — в журнале Спутника', { common: true }),
];

/** Refusals before the token is looked at: this computer's rules for who may call. */
const ADMISSION: ErrorDoc[] = [
  onecError(err(403, 'host_not_allowed', 'Заголовок Host «example.ru» не принят: обращайтесь к 127.0.0.1 или localhost', 'Host'), 'заголовок Host — не адрес Спутника (защита от DNS rebinding): обращайтесь к 127.0.0.1, localhost или адресу, на котором он слушает'),
  onecError(err(403, 'cors_refused', 'Запросы из браузеров с других сайтов (CORS) не принимаются'), 'запрос из браузера с чужой страницы (заголовок Origin) или OPTIONS: 1С таких не шлёт'),
  onecError(
    err(403, 'client_not_allowed', 'Адрес 192.168.1.40 не в списке listener.allowedClients Спутника: добавьте адрес этой кассы (или подсеть касс) в настройки Спутника и перезапустите его'),
    'Спутник открыт в сеть, а адреса этого компьютера нет в listener.allowedClients',
  ),
];

export const UNAUTHORIZED = onecError(errors.unauthorized(), 'нет заголовка Authorization или токен неверный (Bearer <токен> или Basic с токеном вместо пароля)');

const MALFORMED = onecError(err(400, 'malformed_request', 'Неверный заголовок Content-Type или Content-Length', 'Content-Type'), 'запрос не по протоколу: неверный адрес (%-последовательность), Content-Type или Content-Length');

/** A bad value of a field, parameter or header: `field` names it. */
export const INVALID_VALUE = onecError(
  err(422, 'invalid_value', 'Поле «holder.phone»: «12-34» — не номер телефона (пример: +7 987 654-32-10 или 89876543210)', 'holder.phone'),
  'значение не прошло проверку: field — какое поле, message — что не так (остальные неверные поля перечислены в message)',
);

/** What a route that takes a body may answer about the body itself. */
const BODY: ErrorDoc[] = [
  onecError(err(400, 'malformed_json', 'Тело запроса — не корректный JSON (Expected \',\' or \'}\' after property value in JSON at position 42)'), 'тело — не корректный JSON'),
  onecError(err(400, 'empty_body', 'Тело запроса пустое: передайте JSON или форму'), 'тело пустое'),
  onecError(
    err(400, 'invalid_encoding', 'Тело запроса объявлено как UTF-8, но содержит байты не в UTF-8: укажите charset=windows-1251 или кодируйте в UTF-8'),
    'тело объявлено как UTF-8, а байты не UTF-8 (ЗаписатьJSON в КодировкаТекста.ANSI без charset=windows-1251)',
  ),
  onecError(err(413, 'payload_too_large', 'Тело запроса больше 1 МБ: разбейте данные на несколько запросов'), 'тело больше 1 МБ: разбейте на несколько запросов'),
  onecError(
    err(415, 'unsupported_media_type', 'Тип тела «text/xml» не поддерживается: используйте application/json или application/x-www-form-urlencoded', 'Content-Type'),
    'Content-Type — не JSON и не форма',
  ),
  onecError(err(415, 'unsupported_charset', 'Кодировка «koi7» не поддерживается: передавайте тело в UTF-8 (или windows-1251)', 'Content-Type'), 'charset не из поддерживаемых (UTF-8, windows-1251, cp866, UTF-16)'),
];

export const STORE_UNAVAILABLE = onecError(errors.storeUnavailable(), 'хранилище Спутника недоступно (диск заполнен, файл повреждён): ничего не принято, повторите позже');

export const INVALID_CURSOR = onecError(
  err(400, 'invalid_cursor', 'Курсор «abc» не от этого списка: передайте значение поля next из прошлого ответа (или пустое, чтобы начать сначала)', 'changedSince'),
  'курсор не от этого списка: передайте next из прошлого ответа, дату или пустую строку',
);

/**
 * The error answers of a 1C API operation: `own` are the route's (business refusals, not found…);
 * the admission, auth, value and transport ones are added here; `body` adds the body's, `write` the store's.
 */
export function onecErrors(own: ErrorDoc[], opts: { body?: boolean; write?: boolean; auth?: boolean; values?: boolean } = {}): Record<string, z.ZodType> {
  return errorAnswers(errorBodySchema, [
    MALFORMED,
    ...(opts.body ? BODY : []),
    ...(opts.values === false ? [] : [INVALID_VALUE]),
    ...(opts.auth === false ? [] : [UNAUTHORIZED]),
    ...ADMISSION,
    ...own,
    ...(opts.write ? [STORE_UNAVAILABLE] : []),
    ...TRANSPORT,
  ]);
}
