import type { ModuleFactory } from '../../core/module.ts';
import { checkByCall, type ConnectorCheck } from '../../core/check.ts';
import { PayKeeperClient } from './client.ts';
import { Invoices } from './invoices.ts';
import { invoiceRoutes } from './routes.ts';
import { invoicesAdmin, retryInvoice } from './admin.ts';
import { createTracker } from './tracker.ts';
import { invoiceDeliverer } from './worker.ts';
import { invoiceCallSubjects, invoicesAttention } from './attention.ts';

/** PayKeeper invoices: 1C issues them, Sputnik creates, e-mails and follows them until paid, expired or revoked. */
export const paykeeperModule: ModuleFactory = (ctx) => {
  const invoices = new Invoices(ctx.store);
  const config = () => ctx.config().paykeeper;
  const client = new PayKeeperClient(ctx.http, config);
  const tracker = createTracker({ store: ctx.store, invoices, client, config, log: ctx.log, recurring: ctx.recurring });
  return {
    name: 'paykeeper',
    connector: 'paykeeper',
    routes: invoiceRoutes(ctx, invoices, tracker),
    admin: invoicesAdmin(ctx.store, invoices),
    retry: (entity) => retryInvoice(ctx.store, invoices, entity),
    attention: invoicesAttention(invoices),
    callSubjects: invoiceCallSubjects(invoices),
    workers: { connector: 'paykeeper', concurrency: config().concurrency, handle: invoiceDeliverer({ store: ctx.store, invoices, client, tracker, config }) },
    reconfigure: () => tracker.reschedule(),
  };
};

// `sputnik check` and "test connection": fetching the security token proves the address, login and password.
export const check: ConnectorCheck = (config, http) =>
  checkByCall(() => new PayKeeperClient(http, () => config.paykeeper).checkCredentials(), 'логин и пароль приняты, токен безопасности получен');
