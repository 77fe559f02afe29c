import { errorOf, type AttentionAction, type AttentionList, type CallSubject, type OnecCall } from '../../core/attention.ts';
import { toOnecDateTime } from '../../listener/onec-values.ts';
import { prop } from '../../unknown.ts';
import type { StoredError } from '../stored-error.ts';
import { invoiceError, invoiceKey, type InvoiceRow, type Invoices } from './invoices.ts';

const LIMIT = 200;

const FIELD_NAMES: Readonly<Record<string, string>> = {
  orderId: 'номер заказа',
  amount: 'сумму',
  email: 'e-mail покупателя',
  phone: 'телефон покупателя',
  clientId: 'плательщика',
  serviceName: 'назначение платежа',
  expiry: 'срок оплаты',
  send: 'признак отправки письма',
};

/** What to do in 1C about an invoice Sputnik or PayKeeper refused. */
export function invoiceFix(code: string, field?: string, method = 'POST'): string {
  switch (code) {
    case 'invoice_exists':
      return 'Отзовите прежний счёт по этому заказу в 1С, затем выставьте новый';
    case 'invoice_paid':
      return method === 'DELETE' ? 'Счёт уже оплачен: вместо отзыва оформите возврат платежа' : 'Заказ уже оплачен: новый счёт по нему не нужен, проверьте заказ в 1С';
    case 'create_uncertain':
      return 'Проверьте заказ в личном кабинете PayKeeper, затем отзовите или выставьте счёт в 1С снова';
    case 'paykeeper_refused':
      return 'Исправьте счёт в 1С (сумму, e-mail покупателя, срок оплаты) и выставьте его снова';
  }
  // `invoices[3].amount` in a batch: the item's own field.
  const name = field ? FIELD_NAMES[field.replace(/^invoices\[\d+\]\./, '')] : undefined;
  if (name) return `Исправьте ${name} в счёте в 1С и выставьте счёт снова`;
  return 'Исправьте счёт в 1С и выставьте его снова; если ошибка повторится, передайте её текст программисту 1С';
}

function invoiceAction(orderId: string, error: StoredError): AttentionAction {
  if (error.code === 'internal_error') return { type: 'call', label: 'Повторить', path: '/api/retry', body: { entity: invoiceKey(orderId) } };
  return { type: 'instruction', label: invoiceFix(error.code) };
}

const invoiceTitle = (orderId: string) => `Счёт по заказу ${orderId}`;

/** Failed invoices for «Требует внимания». */
export function invoicesAttention(invoices: Invoices): () => AttentionList {
  return () => {
    const { rows, total } = invoices.failed(LIMIT);
    return {
      total,
      items: rows.map((r: InvoiceRow) => {
        const error: StoredError = invoiceError(r) ?? { code: 'paykeeper_refused', message: 'PayKeeper отказал' };
        return { kind: 'invoice', ref: invoiceKey(r.order_id), title: invoiceTitle(r.order_id), reason: error.message, action: invoiceAction(r.order_id, error), since: toOnecDateTime(r.updated_at) };
      }),
    };
  };
}

function orderIdOf(v: unknown): string | null {
  const id = prop(v, 'orderId');
  return (typeof id === 'string' || typeof id === 'number') && String(id).trim() ? String(id).trim() : null;
}

/**
 * Which invoices a 1C call was about: one (POST of one, DELETE) or each item of a batch, whose
 * refusals come item by item in a 200. A refusal by PayKeeper itself (stored, then failed) is
 * not one at the door: the failed invoice is listed instead.
 */
export function invoiceCallSubjects(invoices: Invoices): (call: OnecCall) => CallSubject[] {
  const subject = (orderId: string | null, error: { code: string; message: string; field?: string } | null, method: string): CallSubject => {
    const entity = orderId === null ? null : invoiceKey(orderId);
    const title = orderId === null ? 'Счёт из 1С без номера заказа' : invoiceTitle(orderId);
    if (!error) return { entity, title };
    const row = orderId === null ? undefined : invoices.get(orderId);
    if (row?.state === 'failed' && invoiceError(row)?.code === error.code) return { entity, title };
    return { entity, title, refused: { ...error, fix: invoiceFix(error.code, error.field, method) } };
  };
  return (call) => {
    const failure = call.status >= 300 ? (errorOf(call.answer()) ?? { code: 'refused', message: `Запрос отклонён (HTTP ${call.status})` }) : null;
    if (call.method === 'DELETE') return [subject(typeof call.params.orderId === 'string' ? call.params.orderId.trim() : null, failure, 'DELETE')];
    if (call.method !== 'POST' || call.route !== '/v1/invoices') return [];
    const items = prop(call.body, 'invoices');
    if (!Array.isArray(items) || failure) return [subject(Array.isArray(items) ? null : orderIdOf(call.body), failure, 'POST')];
    // A batch answered 2xx: each item as the answer gives it (an item's own error, or its invoice).
    const answered = prop(call.answer(), 'invoices');
    const results = Array.isArray(answered) ? answered : [];
    return items.map((item, i) => subject(orderIdOf(results[i]) ?? orderIdOf(item), errorOf(results[i]), 'POST'));
  };
}
