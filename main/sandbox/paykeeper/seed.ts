import { z } from 'zod';
import { mskDate } from '../../time/moscow.ts';
import type { FakePayKeeper } from './fake.ts';

export const SANDBOX_PK_USER = 'sandbox';

/** The part of POST /v1/invoices' answer the seed reads. */
const madeSchema = z.object({ invoices: z.array(z.object({ orderId: z.string(), invoiceId: z.string().nullable() })) });

/**
 * A day counted from "today" as both sides see it: Sputnik checks an expiry against the shop's
 * local date, PayKeeper against Moscow's. West of Moscow after 21:00 UTC the local date is
 * yesterday in Moscow (PayKeeper refused "today"); in Vladivostok it is tomorrow (Sputnik refused
 * Moscow's "today"). The later of the two dates passes both.
 */
const day = (offset: number) => {
  const now = Date.now() + offset * 86_400_000;
  const local = new Date(now);
  const localDate = `${local.getFullYear()}-${String(local.getMonth() + 1).padStart(2, '0')}-${String(local.getDate()).padStart(2, '0')}`;
  const moscowDate = mskDate(now);
  return localDate > moscowDate ? localDate : moscowDate;
};

/**
 * Sandbox invoices in every state, made the way 1C makes them (through Sputnik's own API) so the
 * window and the exports have something real to show: sent, created (not e-mailed), paid, revoked,
 * and one whose last payable day passes in the fake's clock (expired).
 * Statuses come back the way they would in production (PayKeeper's answers to status checks). Skipped when the data
 * folder already has them (a second sandbox start keeps what the first one made).
 */
export async function seedSandboxInvoices(listenerUrl: string, token: string, fake: FakePayKeeper): Promise<void> {
  const api = (path: string, init: Omit<RequestInit, 'headers'> = {}) =>
    fetch(new URL(path, listenerUrl), { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  if ((await api('/v1/invoices/ПЕС-1001')).status === 200) return;
  const common = { email: 'buyer@example.ru', phone: '+79161234567', expiry: day(10) };
  const invoices = [
    { ...common, orderId: 'ПЕС-1001', amount: '1250.00', clientId: 'Иванова Мария Сергеевна', serviceName: 'Оплата заказа ПЕС-1001' },
    { ...common, orderId: 'ПЕС-1002', amount: '389.90', clientId: 'Петров Алексей Николаевич', serviceName: 'Оплата заказа ПЕС-1002', send: false },
    { ...common, orderId: 'ПЕС-1003', amount: '15 700,50', clientId: 'ООО «Ромашка»', serviceName: 'Оплата заказа ПЕС-1003' },
    { ...common, orderId: 'ПЕС-1004', amount: '99.99', clientId: 'Сидоров Пётр', serviceName: 'Оплата заказа ПЕС-1004' },
    { ...common, orderId: 'ПЕС-1005', amount: '4200', clientId: 'Кузнецова Анна', serviceName: 'Оплата заказа ПЕС-1005', expiry: day(0) },
  ];
  const res = await api('/v1/invoices?wait=10', { method: 'POST', body: JSON.stringify({ invoices }) });
  const { invoices: made } = madeSchema.parse(await res.json());
  const paid = made.find((m) => m.orderId === 'ПЕС-1003')?.invoiceId;
  if (paid) fake.pay(paid, { paymentId: 1 });
  await api(`/v1/invoices/${encodeURIComponent('ПЕС-1004')}?wait=10`, { method: 'DELETE' });
  fake.advanceClock(2 * 86_400_000); // ПЕС-1005's last payable day is over in PayKeeper
  // A GET asks PayKeeper for a status not checked in the last minute: paid and expired show at once.
  for (const orderId of ['ПЕС-1003', 'ПЕС-1005']) await api(`/v1/invoices/${encodeURIComponent(orderId)}`);
}
