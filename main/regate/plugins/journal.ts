import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Journal } from '../../journal/index.ts';
import type { RegateServer } from '../method.ts';
import { JOURNAL_PAGE_BYTES } from '../upstream.ts';

/**
 * Every call Richest.store makes is journaled with its bodies (a read page: its first 2 KB) —
 * except reads answered from the cache: they reached no 1C and repeat the page journaled when it
 * came from 1C, so they are counted (the cache hit rate per base) rather than journaled one by one,
 * which at thousands a second would push every other exchange out of the journal's size cap.
 */
const plugin: FastifyPluginAsyncZod<{ journal?: Journal }, RegateServer> = async (app, { journal }) => {
  if (!journal) return;
  // Callback-style hooks: an async hook costs extra promise turns on every request (cached pages run at thousands a second).
  app.addHook('onSend', (req, _reply, payload, done) => {
    if (typeof payload === 'string') req.replyText = payload;
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    done();
    if (req.url.startsWith('/regate/docs')) return;
    const cached = reply.getHeader('x-cache') === 'HIT' || reply.getHeader('x-cache') === 'STALE';
    if (cached && reply.statusCode < 400) return;
    journal.record({
      direction: 'in',
      system: 'regate',
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
      requestBody: req.body === undefined ? undefined : JSON.stringify(req.body),
      responseBody: req.replyText,
      responseLimitBytes: req.method === 'GET' && reply.statusCode < 400 ? JOURNAL_PAGE_BYTES : undefined,
    });
  });
};

export const journaling = fp(plugin, { name: 'regate-journal' });
