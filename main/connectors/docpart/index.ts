import type { ModuleFactory } from '../../core/module.ts';
import { checkByCall, type ConnectorCheck } from '../../core/check.ts';
import { DocpartClient } from './client.ts';
import { DocpartRepo } from './repo.ts';
import { ARTICLE_KEEP_MS, docpartAdmin, docpartRoutes } from './routes.ts';
import { DocpartSync } from './sync.ts';
import { docpartAttention } from './attention.ts';

/**
 * Docpart orders: pulled from the shop on a schedule (the recurring job `docpart:pull`), kept, and
 * served to 1C by cursor. `now` is the puller's clock, the store's by default (tests pin it, so
 * which shop days a pull asks for does not follow the wall clock); the schedule is on the store's.
 */
export const docpartModuleWith = (opts: { now?: () => number } = {}): ModuleFactory => (ctx) => {
  const config = () => ctx.config().docpart;
  const repo = new DocpartRepo(ctx.store);
  const client = new DocpartClient(ctx.http, config);
  const sync = new DocpartSync({ store: ctx.store, repo, client, config, log: ctx.log, journal: ctx.journal, recurring: ctx.recurring, now: opts.now });
  return {
    name: 'docpart',
    connector: 'docpart',
    routes: docpartRoutes(ctx, repo, sync, client),
    admin: docpartAdmin(sync, repo, () => config().enabled),
    start: () => () => sync.stop(),
    reconfigure: () => sync.reschedule(),
    attention: docpartAttention(ctx.store.outbox, () => config().enabled),
    // Orders, users and payments are the shop's data and stay; only the article cache ages.
    housekeeping: async (now) => ({ docpart_articles: await repo.pruneArticles(now - ARTICLE_KEEP_MS) }),
  };
};

export const docpartModule: ModuleFactory = docpartModuleWith();

// `sputnik check` and "test connection": check_connection proves the address, path, key and Basic auth.
export const check: ConnectorCheck = (config, http) =>
  checkByCall(() => new DocpartClient(http, () => config.docpart).checkConnection(), 'сайт отвечает, технический ключ принят');
