import { PassThrough } from 'node:stream';
import { INPUT_IN_ISSUES } from '../../validation.ts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { SputnikError, errors } from '../../errors.ts';
import type { ListenerApp } from '../../listener/app.ts';
import { validationFailure } from '../../listener/http-app.ts';
import { onecBoolean, onecDate, onecDecimal, onecInteger, onecKey, onecText, toOnecDateTime } from '../../listener/onec-values.ts';
import { prop, toError } from '../../unknown.ts';
import { feedNext, feedStart } from '../../core/feed.ts';
import { waitQuery } from '../../core/wait.ts';
import type { ModuleContext } from '../../core/module.ts';
import { contentDisposition, EXPORT_CONTENT_TYPE, exportFileName, writeInvoiceExport, type InvoiceExportRow } from './export.ts';
import { INVOICE_JOB, INVOICE_STATES, invoiceError, invoiceKey, isInvoiceState, isOpen, type InvoiceInput, type InvoiceRow, type Invoices } from './invoices.ts';
import { localDayStart, localToday, nextDay } from './msk.ts';
import type { Tracker } from './tracker.ts';
import { money } from './worker.ts';
import { documented, documentedBody, exampled } from '../../listener/openapi.ts';
import { INVALID_CURSOR, onecError, onecErrors } from '../../listener/error-docs.ts';
import { INVOICES_TAG } from './module.ts';
import * as EX from './examples.ts';

const FEED = 'invoices';

/** What 1C gets back (listener-api.md): the same shape for one, many, GET, the feed; paidAt in 1C's local date-time. */
export function view(row: InvoiceRow) {
  return {
    orderId: row.order_id,
    state: row.state,
    invoiceId: row.invoice_id,
    invoiceUrl: row.invoice_url,
    amount: row.amount,
    expiry: row.expiry,
    paidAt: row.paid_at === null ? null : toOnecDateTime(row.paid_at),
    error: invoiceError(row),
  };
}
export const MAX_BATCH = 1000;
/** GET of one invoice asks PayKeeper again when the stored status is older than this. */
const FRESH_MS = 60_000;

const email = onecText({ max: 200 }).refine((v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), 'не адрес электронной почты (пример: client@example.ru)');
// .nullable(), not a union with z.null(): fastify-type-provider-zod drops a union's branch it sees
// before zod has filled it in (a pipe's), and /v1/openapi.json then said "null only".
const optionalText = (max: number) => onecText({ max }).nullable().optional();

export const invoiceItem = z.strictObject({
  orderId: onecText({ max: 100 }).pipe(z.string().min(1, 'номер заказа пуст')).describe('Номер заказа в 1С: один счёт на заказ'),
  amount: onecDecimal({ maxFractionDigits: 2, positive: true }).describe('Сумма в рублях, больше нуля, не больше двух знаков после запятой'),
  email: email.describe('E-mail покупателя: туда PayKeeper отправит счёт'),
  phone: optionalText(40),
  clientId: optionalText(300).describe('Плательщик (ФИО или наименование)'),
  serviceName: optionalText(1000).describe('Назначение платежа'),
  expiry: z
    .union([onecDate(), z.null()])
    .optional()
    .refine((d) => !d || d >= localToday(), 'дата уже прошла: счёт нельзя оплатить в прошлом')
    .describe('Последний день, когда счёт можно оплатить (YYYY-MM-DD или ДД.ММ.ГГГГ)'),
  send: z.union([onecBoolean(), z.null()]).optional().describe('false — не отправлять письмо, только вернуть ссылку (по умолчанию true)'),
});
const invoiceBatch = z.strictObject({ invoices: z.array(invoiceItem).min(1).max(MAX_BATCH) });
/** A batch's own keys: beside `invoices` only a typo (checked apart from the items, which answer one by one). */
const batchKeys = z.strictObject({ invoices: z.unknown() });

const invoiceView = z.object({
  orderId: z.string(),
  state: z.enum(INVOICE_STATES).describe('queued — ждёт PayKeeper; created/sent — выставлен/отправлен; paid; expired; revoked; failed (см. error)'),
  invoiceId: z.string().nullable().describe('Номер счёта PayKeeper (17 цифр, строка)'),
  invoiceUrl: z.string().nullable().describe('Ссылка на оплату'),
  amount: z.string().nullable(),
  expiry: z.string().nullable(),
  paidAt: z.string().nullable().describe('Когда оплачен, местное время YYYY-MM-DDTHH:MM:SS'),
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }).nullable(),
});
type InvoiceView = z.output<typeof invoiceView>;
const postQuery = z.object({ wait: exampled(waitQuery(10), 10) });
const orderParam = z.object({ orderId: exampled(onecKey().describe('Номер заказа'), 'ЗК-000123') });
const batchView = z.object({ invoices: z.array(invoiceView).describe('В том же порядке, что в запросе; отказ — у элемента: state failed и error') });

const notFound = onecError(
  new SputnikError(404, 'invoice_not_found', 'Счёта по заказу ЗК-000123 в Спутнике нет: он не выставлялся через Спутник'),
  'по этому заказу счёт через Спутник не выставлялся',
);
const paid = (means: string) => onecError(new SputnikError(409, 'invoice_paid', 'Счёт по заказу ЗК-000123 уже оплачен: отозвать его нельзя, нужен возврат платежа'), means);
const uncertain = onecError(
  new SputnikError(409, 'create_uncertain', 'Ответ PayKeeper на создание счёта потерялся, а найти счёт по номеру заказа PayKeeper не позволил: возможно, счёт уже создан. Проверьте заказ в личном кабинете PayKeeper, затем отзовите или выставьте счёт снова.'),
  'ответ PayKeeper на создание потерялся, и счёт не найти: проверьте заказ в кабинете PayKeeper',
);
const refused = onecError(
  new SputnikError(422, 'paykeeper_refused', 'PayKeeper отказал: Неверный формат e-mail'),
  'PayKeeper отказал выставить счёт (причина — в message); повтор с теми же данными не поможет',
);

function toInput(v: z.output<typeof invoiceItem>): InvoiceInput {
  return {
    orderId: v.orderId,
    amount: money(v.amount),
    email: v.email,
    phone: v.phone || null,
    clientId: v.clientId || null,
    serviceName: v.serviceName || null,
    expiry: v.expiry ?? null,
    send: v.send !== false,
  };
}

/** Invoice routes (listener-api.md, "Invoices (PayKeeper)"). */
export function invoiceRoutes(ctx: ModuleContext, invoices: Invoices, tracker: Tracker) {
  const { store } = ctx;
  const now = () => store.outbox.now();

  /** Inside the commit: stores one invoice (or finds the same one) and queues its delivery. */
  function accept(input: InvoiceInput): { row: InvoiceRow; jobId: number | null } {
    const existing = invoices.get(input.orderId);
    if (existing && !['expired', 'revoked', 'failed'].includes(existing.state)) {
      const same = existing.amount === input.amount && existing.email.toLowerCase() === input.email.toLowerCase();
      if (existing.state === 'paid') {
        if (same) return { row: existing, jobId: null };
        throw new SputnikError(409, 'invoice_paid', `Заказ ${input.orderId} уже оплачен по счёту на ${existing.amount} ₽: новый счёт по нему не выставить`);
      }
      if (same && !existing.revoke) return { row: existing, jobId: store.outbox.latestForKey(invoiceKey(input.orderId), 0)?.id ?? null };
      throw new SputnikError(
        409,
        'invoice_exists',
        existing.revoke
          ? `Прежний счёт по заказу ${input.orderId} ещё отзывается: повторите через минуту`
          : `По заказу ${input.orderId} уже выставлен неоплаченный счёт на ${existing.amount} ₽ (${existing.email}): отзовите его (DELETE /v1/invoices/${input.orderId}), затем выставьте новый`,
      );
    }
    const row = invoices.issue(input, now());
    const job = store.outbox.enqueue({ connector: 'paykeeper', kind: INVOICE_JOB, key: invoiceKey(input.orderId), payload: { orderId: input.orderId } });
    return { row, jobId: job?.id ?? null };
  }

  /** Waits (bounded) for the delivery, then the invoice as it is now. */
  async function settle(orderId: string, jobId: number | null, wait: number): Promise<InvoiceRow> {
    if (jobId !== null && wait > 0) await ctx.waits.wait(invoiceKey(orderId), jobId, wait);
    return invoices.existing(orderId);
  }

  const refusal = (row: InvoiceRow): SputnikError | null => {
    const e = row.state === 'failed' ? invoiceError(row) : null;
    if (!e) return null;
    return new SputnikError(e.code === 'create_uncertain' ? 409 : 422, e.code, e.message);
  };

  return (app: ListenerApp) => {
    app.post(
      '/v1/invoices',
      {
        schema: {
          summary: 'Выставить счёт PayKeeper (один или до 1000)',
          description:
            'Один счёт — объект; много — {"invoices": [...]} (до 1000), ответ {"invoices": [...]} в том же порядке, ошибки — у каждого элемента (error.field вида invoices[3].amount). ' +
            'Ждёт PayKeeper до wait секунд (по умолчанию 10): 200 — счета готовы, 202 — есть в очереди. Тот же заказ с теми же данными — тот же счёт; с другой суммой или e-mail — 409 invoice_exists.',
          querystring: postQuery,
          operationId: 'createInvoice',
          tags: [INVOICES_TAG],
          body: documentedBody(z.union([invoiceItem, invoiceBatch]), {
            description: 'Один счёт — объект; до 1000 счетов — {"invoices": [...]}',
            examples: {
              one: { summary: 'Один счёт', value: EX.REQUEST },
              batch: { summary: 'Пачка счетов (второй — без письма, сумма и дата как пишет 1С)', value: EX.BATCH },
            },
            forms: {
              one: { summary: 'Один счёт формой', value: EX.FORM },
              batch: { summary: 'Пачка счетов формой: invoices[0][orderId]=…', value: EX.BATCH_FORM },
            },
          }),
          response: {
            200: documented(z.union([invoiceView, batchView]), 'Счёт выставлен (или уже был: тот же заказ с теми же суммой и e-mail); в пачке — ни один не ждёт в очереди', {
              sent: { summary: 'Выставлен и отправлен на e-mail', value: EX.SENT },
              batch: { summary: 'Пачка: один выставлен, один отклонён проверкой', value: { invoices: [{ ...EX.SENT, orderId: 'ЗК-000124' }, EX.BATCH_ITEM_REFUSED] } },
            }),
            202: documented(z.union([invoiceView, batchView]), 'Принят и сохранён, PayKeeper ещё не ответил (state queued): Спутник выставит счёт сам, состояние — GET /v1/invoices/{orderId}', {
              queued: { summary: 'Ждёт PayKeeper', value: EX.QUEUED },
              batch: { summary: 'Пачка: один ждёт PayKeeper', value: { invoices: [{ ...EX.SENT, orderId: 'ЗК-000124' }, { ...EX.QUEUED, orderId: 'ЗК-000125' }] } },
            }),
            ...onecErrors(
              [
                onecError(
                  new SputnikError(409, 'invoice_exists', 'По заказу ЗК-000123 уже выставлен неоплаченный счёт на 1234.50 ₽ (client@example.ru): отзовите его (DELETE /v1/invoices/ЗК-000123), затем выставьте новый'),
                  'по заказу уже есть неоплаченный счёт с другой суммой или e-mail: отзовите его, затем выставьте новый',
                ),
                paid('заказ уже оплачен другой суммой или с другим e-mail: новый счёт не выставить'),
                uncertain,
                refused,
              ],
              { body: true, write: true },
            ),
          },
        },
        // Items are checked one by one below: one bad item must not refuse the other 999.
        validatorCompiler: ({ httpPart }) => (data: unknown) => {
          if (httpPart !== 'body') {
            const q = postQuery.safeParse(data ?? {}, INPUT_IN_ISSUES);
            return q.success ? { value: q.data } : { error: validationFailure(q.error) };
          }
          if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
            return { error: new SputnikError(400, 'empty_body', 'Тело запроса пустое или не объект: передайте счёт JSON-объектом или {"invoices": [...]}') };
          }
          return { value: data };
        },
      },
      async (req, reply) => {
        const { wait } = req.query;
        // The route's own validatorCompiler passes the body through unparsed (any JSON object): the
        // schema's types would claim parsed items, so only `object` is taken and each item is parsed below.
        const body: object = req.body;
        if (!('invoices' in body)) {
          const parsed = invoiceItem.safeParse(body, INPUT_IN_ISSUES);
          if (!parsed.success) throw validationFailure(parsed.error);
          const { row, jobId } = await store.write(() => accept(toInput(parsed.data)), { durability: 'durable' });
          const after = await settle(row.order_id, jobId, wait);
          const refused = refusal(after);
          if (refused) throw refused;
          reply.code(after.state === 'queued' ? 202 : 200);
          return view(after);
        }
        const keys = batchKeys.safeParse(body, INPUT_IN_ISSUES);
        if (!keys.success) throw validationFailure(keys.error);
        const items = body.invoices;
        if (!Array.isArray(items) || items.length === 0) throw errors.invalid('invoices', 'Поле «invoices»: ожидался непустой массив счетов');
        if (items.length > MAX_BATCH) throw errors.invalid('invoices', `Поле «invoices»: не больше ${MAX_BATCH} счетов в одном запросе (получено ${items.length}); разбейте на части`);
        type Parsed = { input: InvoiceInput } | { error: SputnikError; orderId: string | null };
        const parsed = items.map((item, i): Parsed => {
          const r = invoiceItem.safeParse(item, INPUT_IN_ISSUES);
          return r.success ? { input: toInput(r.data) } : { error: validationFailure(r.error, `invoices[${i}]`), orderId: orderIdOf(item) };
        });
        type Outcome = { row: InvoiceRow; jobId: number | null } | { error: SputnikError; orderId: string | null };
        const outcomes = await store.write(
          () =>
            parsed.map((p): Outcome => {
              if ('error' in p) return { error: p.error, orderId: p.orderId };
              try {
                return accept(p.input);
              } catch (e) {
                if (e instanceof SputnikError) return { error: new SputnikError(e.status, e.code, e.message, { field: e.field }), orderId: p.input.orderId };
                throw e;
              }
            }),
          { durability: 'durable' },
        );
        const results = await Promise.all(
          outcomes.map(async (o): Promise<InvoiceView> => {
            if ('error' in o) return { orderId: o.orderId ?? '', state: 'failed', invoiceId: null, invoiceUrl: null, amount: null, expiry: null, paidAt: null, error: o.error.toBody().error };
            return view(await settle(o.row.order_id, o.jobId, wait));
          }),
        );
        reply.code(results.some((r) => r.state === 'queued') ? 202 : 200);
        return { invoices: results };
      },
    );

    app.get(
      '/v1/invoices/export',
      {
        schema: {
          summary: 'Выгрузка счетов за период для бухгалтерии (XLSX или CSV)',
          description: 'Заказ, клиент, e-mail, сумма, создан, оплатить до, состояние, оплачен, платёж. CSV — UTF-8 с BOM, разделитель «;», дробная часть через запятую: Excel открывает его правильно.',
          querystring: z.object({
            from: exampled(onecDate().pipe(z.string({ error: 'обязательное поле не заполнено' })).describe('Первый день периода'), '01.12.2026'),
            to: exampled(onecDate().pipe(z.string({ error: 'обязательное поле не заполнено' })).describe('Последний день периода (включительно)'), '2026-12-31'),
            format: exampled(z.enum(['xlsx', 'csv']).default('xlsx').describe('xlsx (по умолчанию) или csv'), 'csv'),
          }),
          operationId: 'exportInvoices',
          tags: [INVOICES_TAG],
          response: {
            200: {
              description: 'Файл выгрузки (Content-Disposition: attachment с именем файла за период)',
              content: {
                [EXPORT_CONTENT_TYPE.xlsx]: { schema: z.string().meta({ format: 'binary', description: 'Книга Excel' }) },
                [EXPORT_CONTENT_TYPE.csv]: { schema: z.string().meta({ description: 'CSV: UTF-8 с BOM, разделитель «;»', examples: [EX.CSV] }) },
              },
            },
            ...onecErrors([]),
          },
        },
      },
      async (req, reply) => {
        const { from, to, format } = req.query;
        return sendExport(reply, invoices, from, to, format);
      },
    );

    app.get(
      '/v1/invoices/:orderId',
      {
        schema: {
          summary: 'Счёт по заказу',
          description: 'Состояние обновляется из PayKeeper, если ему больше 60 секунд.',
          params: orderParam,
          operationId: 'getInvoice',
          tags: [INVOICES_TAG],
          response: {
            200: documented(invoiceView, 'Счёт и его состояние', {
              sent: { summary: 'Отправлен, ждёт оплаты', value: EX.SENT },
              paid: { summary: 'Оплачен', value: EX.PAID },
            }),
            ...onecErrors([notFound]),
          },
        },
      },
      async (req) => {
        const { orderId } = req.params;
        let row = invoices.get(orderId);
        if (!row) throw errors.notFound('invoice_not_found', `Счёта по заказу ${orderId} в Спутнике нет: он не выставлялся через Спутник`);
        if (isOpen(row.state) && now() - (row.checked_at ?? 0) > FRESH_MS && ctx.config().paykeeper.enabled) {
          await tracker.refresh(row, 5000);
          row = invoices.existing(orderId);
        }
        return view(row);
      },
    );

    app.delete(
      '/v1/invoices/:orderId',
      {
        schema: {
          summary: 'Отозвать неоплаченный счёт',
          description: '200 — отозван (или уже закрыт), 202 — отзыв в очереди, 409 invoice_paid — счёт оплачен.',
          params: orderParam,
          querystring: z.object({ wait: exampled(waitQuery(10), 10) }),
          operationId: 'revokeInvoice',
          tags: [INVOICES_TAG],
          response: {
            200: documented(invoiceView, 'Отозван (или уже был закрыт: отозван, истёк)', { revoked: { summary: 'Отозван', value: EX.REVOKED } }),
            202: documented(invoiceView, 'Отзыв сохранён, PayKeeper ещё не ответил: Спутник доведёт его сам', { revoking: { summary: 'Отзыв в очереди', value: EX.SENT } }),
            ...onecErrors([notFound, paid('счёт уже оплачен: отозвать нельзя, нужен возврат платежа')], { write: true }),
          },
        },
      },
      async (req, reply) => {
        const { orderId } = req.params;
        const { wait } = req.query;
        const { row, jobId } = await store.write(() => {
          const inv = invoices.get(orderId);
          if (!inv) throw errors.notFound('invoice_not_found', `Счёта по заказу ${orderId} в Спутнике нет`);
          if (inv.state === 'paid') throw new SputnikError(409, 'invoice_paid', `Счёт по заказу ${orderId} уже оплачен: отозвать его нельзя, нужен возврат платежа`);
          if (inv.state === 'revoked' || inv.state === 'expired') return { row: inv, jobId: null };
          const after = invoices.change(inv, { revoke: 1 }, now());
          const job = store.outbox.enqueue({ connector: 'paykeeper', kind: INVOICE_JOB, key: invoiceKey(orderId), payload: { orderId } });
          return { row: after, jobId: job?.id ?? null };
        }, { durability: 'durable' });
        const after = await settle(row.order_id, jobId, wait);
        if (after.state === 'paid') throw new SputnikError(409, 'invoice_paid', `Счёт по заказу ${orderId} уже оплачен: отозвать его нельзя, нужен возврат платежа`);
        reply.code(after.state === 'revoked' || after.state === 'expired' ? 200 : 202);
        return view(after);
      },
    );

    app.get(
      '/v1/invoices',
      {
        schema: {
          summary: 'Счета за период или изменившиеся (для регламентного задания 1С)',
          description:
            'from/to (и state через запятую) — счета, выставленные в периоде. changedSince — счета, у которых изменились state, invoiceId, invoiceUrl или paidAt, от старых к новым; next — курсор для следующего вызова.',
          querystring: z.object({
            from: exampled(z.union([onecDate(), z.null()]).optional().describe('Первый день периода'), '01.12.2026'),
            to: exampled(z.union([onecDate(), z.null()]).optional().describe('Последний день периода (включительно)'), '2026-12-31'),
            state: z
              .string()
              .max(200)
              .optional()
              .refine((s) => !s || s.split(',').every((x) => isInvoiceState(x.trim())), `допустимо: ${INVOICE_STATES.join(', ')} (через запятую)`)
              .describe(`Состояния через запятую: ${INVOICE_STATES.join(', ')}`)
              .meta({ 'x-examples': { e1: { summary: 'sent,paid', value: 'sent,paid' } } }),
            changedSince: exampled(z.string().max(200).optional().describe('next из прошлого ответа, дата (17.05.2026 10:00:00) или пусто — с начала'), '', 'aW52b2ljZXM6Nw'),
            limit: exampled(onecInteger({ min: 1, max: 10_000 }).optional().describe('Сколько счетов вернуть: по изменениям до 1000 (по умолчанию 100), за период до 10 000'), 100),
          }),
          operationId: 'listInvoices',
          tags: [INVOICES_TAG],
          response: {
            200: documented(
              z.object({ invoices: z.array(invoiceView), next: z.string().optional().describe('Только с changedSince: курсор для следующего вызова') }),
              'Счета: за период (без next) или изменившиеся (с next)',
              {
                changed: { summary: 'Изменившиеся (changedSince)', value: { invoices: [EX.PAID], next: 'aW52b2ljZXM6Nw' } },
                period: { summary: 'За период (from, to, state)', value: { invoices: [EX.SENT, { ...EX.PAID, orderId: 'ЗК-000122' }] } },
              },
            ),
            ...onecErrors([INVALID_CURSOR]),
          },
        },
      },
      async (req) => {
        const q = req.query;
        if (q.changedSince !== undefined || (!q.from && !q.to)) {
          const start = feedStart(FEED, q.changedSince);
          const rows = invoices.changed(start.after, start.sinceMs, Math.min(q.limit ?? 100, 1000));
          return { invoices: rows.map(view), next: feedNext(FEED, rows, start, () => invoices.head()) };
        }
        const from = q.from ?? '1970-01-01';
        const to = q.to ?? localToday();
        if (from > to) throw errors.invalid('to', 'Поле «to»: конец периода раньше начала');
        const states = q.state ? new Set(q.state.split(',').map((s) => s.trim())) : null;
        const limit = q.limit ?? 10_000;
        const out = [];
        for await (const r of invoices.period(localDayStart(from), localDayStart(nextDay(to)), states ? (r) => states.has(r.state) : undefined)) {
          out.push(view(r));
          if (out.length >= limit) break;
        }
        return { invoices: out };
      },
    );
  };
}

function orderIdOf(item: unknown): string | null {
  const v = prop(item, 'orderId');
  return typeof v === 'string' || typeof v === 'number' ? String(v).trim() : null;
}

/** Streams a period's invoices as the accountant's file (the 1C API and the window use this one). */
export function sendExport(reply: FastifyReply, invoices: Invoices, from: string, to: string, format: 'xlsx' | 'csv') {
  if (from > to) throw errors.invalid('to', 'Поле «to»: конец периода раньше начала');
  const out = new PassThrough();
  writeInvoiceExport(exportRows(invoices.period(localDayStart(from), localDayStart(nextDay(to)))), format, out).catch((e: unknown) => out.destroy(toError(e)));
  reply.header('Content-Type', EXPORT_CONTENT_TYPE[format]);
  reply.header('Content-Disposition', contentDisposition(exportFileName(from, to, format)));
  return reply.send(out);
}

export async function* exportRows(rows: AsyncIterable<InvoiceRow>): AsyncGenerator<InvoiceExportRow> {
  for await (const r of rows) {
    yield {
      orderId: r.order_id,
      clientId: r.client_id,
      email: r.email,
      amount: r.amount,
      createdAt: r.created_at,
      expiry: r.expiry,
      state: r.state,
      paidAt: r.paid_at,
      paymentId: r.payment_id,
      invoiceId: r.invoice_id,
    };
  }
}
