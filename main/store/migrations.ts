import type { Database } from 'better-sqlite3';
import { SEARCH_TEXT } from './search-text.ts';

/** What a module's migration gets: DDL and single statements on the store being opened, in its transaction. */
export interface MigrationSql {
  exec(text: string): void;
  run(text: string, ...params: unknown[]): unknown;
}

/**
 * A module's own schema change (its descriptor's `migrations`). Applied once, after the numbered
 * ones below, in the order the modules are registered and listed, each in its own transaction; its
 * id is recorded in `module_migrations`. Never renumber, reorder or reuse an id.
 */
export interface ModuleMigration {
  /** `<module>:<n>`. */
  id: string;
  up(sql: MigrationSql): void;
}

/**
 * journal_events as migrations 10 and 13 create it (13 under a name of its own while it copies the
 * rows, and with one more outcome). Shipped text: keep it to the space, SQLite stores it as the schema.
 */
const journalEventsTable = (name: string, outcomes: string) => `CREATE TABLE ${name} (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        ended_at    INTEGER,
        direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        system      TEXT NOT NULL,
        entity      TEXT,
        title       TEXT NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome IN (${outcomes})),
        summary     TEXT,
        error       TEXT,
        cause       TEXT CHECK (cause IN ('refused', 'retry', 'auth', 'internal')),
        counts      TEXT,
        exchanges   INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        method      TEXT,
        url         TEXT,
        status      INTEGER,
        search      TEXT NOT NULL
      ) STRICT;`;
/** journal_events' indexes: made by 10, made again by 13 (dropping the table drops them). */
const JOURNAL_EVENTS_INDEXES = `CREATE INDEX journal_events_at ON journal_events (at);
      CREATE INDEX journal_events_entity ON journal_events (entity, at) WHERE entity IS NOT NULL;
      CREATE INDEX journal_events_running ON journal_events (id) WHERE outcome = 'running';
      CREATE INDEX journal_events_failed ON journal_events (id) WHERE outcome = 'failed';`;

/**
 * Numbered migrations, applied in order at open inside one transaction each.
 * Never edit a shipped migration: add the next number. `user_version` records the last one applied.
 * These are the core's and, up to 12, the first connectors' (they were one list then); a module's
 * new tables now come with the module (ModuleMigration), so adding one touches nothing here.
 */
export const MIGRATIONS: Array<(db: Database) => void> = [
  // 1: meta, change-feed counter, outbox, connector state, journal.
  (db) =>
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

      CREATE TABLE feed (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL) STRICT;
      INSERT INTO feed (id, seq) VALUES (1, 0);

      CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        connector   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        key         TEXT NOT NULL,
        payload     TEXT NOT NULL,
        dedupe      TEXT,
        coalesce    INTEGER NOT NULL DEFAULT 1,
        state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_run_at INTEGER NOT NULL,
        retry_wait  INTEGER NOT NULL DEFAULT 0,
        lease_until INTEGER,
        lease_owner TEXT,
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX jobs_due ON jobs (connector, state, next_run_at, id);
      CREATE INDEX jobs_key ON jobs (key, state, id);
      CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe) WHERE dedupe IS NOT NULL;
      CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE connectors (
        name          TEXT PRIMARY KEY,
        state         TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'failing', 'paused')),
        failures      INTEGER NOT NULL DEFAULT 0,
        next_probe_at INTEGER,
        since         INTEGER,
        last_error    TEXT
      ) STRICT;

      CREATE TABLE journal (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        system      TEXT NOT NULL,
        method      TEXT NOT NULL,
        url         TEXT NOT NULL,
        status      INTEGER,
        duration_ms REAL NOT NULL,
        req_body    TEXT,
        res_body    TEXT,
        error       TEXT,
        entity      TEXT,
        job_id      INTEGER,
        size        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX journal_at ON journal (at);
      CREATE INDEX journal_entity ON journal (entity) WHERE entity IS NOT NULL;
      INSERT INTO meta (key, value) VALUES ('journal_bytes', '0');
    `),
  // 2: Passteam loyalty cards: the merged state 1C gave, what Passteam last acknowledged, the change feed.
  (db) =>
    db.exec(`
      CREATE TABLE cards (
        code         TEXT PRIMARY KEY,
        name         TEXT,
        birthday     TEXT,
        phone        TEXT,
        email        TEXT,
        bonus        TEXT,
        extra        TEXT NOT NULL DEFAULT '{}',
        card_id      TEXT,
        card_url     TEXT,
        installed    INTEGER,
        state        TEXT NOT NULL CHECK (state IN ('queued', 'synced', 'failed')),
        last_error   TEXT,
        sent         TEXT,
        create_unsure INTEGER NOT NULL DEFAULT 0,
        seq          INTEGER NOT NULL,
        changed_at   INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX cards_seq ON cards (seq);
    `),
  // 3: PayKeeper invoices: one per 1C order, what PayKeeper said about it, when to look at it next.
  (db) =>
    db.exec(`
      CREATE TABLE invoices (
        order_id      TEXT PRIMARY KEY,
        amount        TEXT NOT NULL,
        email         TEXT NOT NULL,
        phone         TEXT,
        client_id     TEXT,
        service_name  TEXT,
        expiry        TEXT,
        send          INTEGER NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('queued', 'created', 'sent', 'paid', 'expired', 'revoked', 'failed')),
        invoice_id    TEXT,
        invoice_url   TEXT,
        paid_at       INTEGER,
        payment_id    TEXT,
        last_error    TEXT,
        create_unsure INTEGER NOT NULL DEFAULT 0,
        revoke        INTEGER NOT NULL DEFAULT 0,
        checked_at    INTEGER,
        next_check_at INTEGER,
        seq           INTEGER NOT NULL,
        changed_at    INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX invoices_seq ON invoices (seq);
      CREATE INDEX invoices_created ON invoices (created_at, order_id);
      CREATE INDEX invoices_track ON invoices (next_check_at) WHERE state IN ('created', 'sent') AND invoice_id IS NOT NULL;
    `),
  // 4: Docpart: what the last pulls found (orders with their lines, users, payments, cached articles).
  (db) =>
    db.exec(`
      CREATE TABLE docpart_orders (
        order_id    INTEGER PRIMARY KEY,
        time        INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        changed_at  INTEGER NOT NULL,
        seen_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX docpart_orders_seq ON docpart_orders (seq);
      CREATE TABLE docpart_users (
        user_id     INTEGER PRIMARY KEY,
        doc         TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE docpart_payments (
        payment_id  INTEGER PRIMARY KEY,
        doc         TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        changed_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX docpart_payments_seq ON docpart_payments (seq);
      CREATE TABLE docpart_articles (
        article     TEXT PRIMARY KEY,
        doc         TEXT NOT NULL,
        fetched_at  INTEGER NOT NULL
      ) STRICT;
    `),
  // 5: ReGate writes by Idempotency-Key: what was asked, where it is, the answer to replay (72 h).
  (db) =>
    db.exec(`
      CREATE TABLE regate_requests (
        id           INTEGER PRIMARY KEY,
        tenant       TEXT NOT NULL,
        key          TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        method       TEXT NOT NULL,
        path         TEXT NOT NULL,
        body         TEXT,
        state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        status       INTEGER,
        answer       TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (tenant, key)
      ) STRICT;
      CREATE INDEX regate_requests_created ON regate_requests (created_at);
    `),
  // 6: which client or order a ReGate write belongs to (its place in line), for writes a crash interrupted.
  (db) => db.exec(`ALTER TABLE regate_requests ADD COLUMN order_key TEXT NOT NULL DEFAULT ''`),
  // 7: the writes still waiting for 1C, counted for every health check without scanning 72 h of keys.
  (db) => db.exec(`CREATE INDEX regate_requests_open ON regate_requests (tenant) WHERE state IN ('queued', 'running')`),
  // 8: search that finds people: a normalised `search` text per searchable row (SQLite's LIKE folds
  // ASCII only, so «иванова» missed «Иванова»), backfilled here; the journal's text lives in its
  // trigram index, which the journal fills in the background from 'journal_indexed' on (0: every
  // row, 15–50 s of work for 100,000: too long to hold the start; until then a search scans them).
  (db) => {
    db.exec(`
      ALTER TABLE cards ADD COLUMN search TEXT NOT NULL DEFAULT '';
      ALTER TABLE invoices ADD COLUMN search TEXT NOT NULL DEFAULT '';
      ALTER TABLE docpart_orders ADD COLUMN search TEXT NOT NULL DEFAULT '';
      ALTER TABLE docpart_users ADD COLUMN search TEXT NOT NULL DEFAULT '';
      CREATE VIRTUAL TABLE journal_fts USING fts5(search, tokenize='trigram case_sensitive 1');
      INSERT INTO meta (key, value) VALUES ('journal_indexed', '0');
    `);
    // In pages by rowid, computed here (the same SEARCH_TEXT the repositories write with).
    const backfill = <R>(table: string, columns: string, text: (r: R) => string) => {
      const page = db.prepare<[number], R & { k: number }>(`SELECT rowid AS k, ${columns} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT 1000`);
      const set = db.prepare(`UPDATE ${table} SET search = ? WHERE rowid = ?`);
      for (let after = Number.MIN_SAFE_INTEGER; ; ) {
        const rows = page.all(after);
        for (const r of rows) set.run(text(r), r.k);
        if (rows.length < 1000) return;
        after = rows[rows.length - 1].k;
      }
    };
    type Doc = { doc: string };
    backfill('cards', 'code, name, email, card_id', SEARCH_TEXT.card);
    backfill('invoices', 'order_id, email, client_id, invoice_id', SEARCH_TEXT.invoice);
    backfill('docpart_orders', 'doc', (r: Doc) => SEARCH_TEXT.docpartOrder(JSON.parse(r.doc)));
    backfill('docpart_users', 'doc', (r: Doc) => SEARCH_TEXT.docpartUser(JSON.parse(r.doc)));
  },
  // 9: «Требует внимания»: 1C write calls refused at the door (who, what, why; one row per entity,
  // gone when a later call for it is accepted or the operator dismisses it), and the failed cards
  // and invoices it lists, found without a scan.
  (db) =>
    db.exec(`
      CREATE TABLE refusals (
        id        INTEGER PRIMARY KEY,
        key       TEXT NOT NULL UNIQUE,
        entity    TEXT,
        title     TEXT NOT NULL,
        route     TEXT NOT NULL,
        status    INTEGER NOT NULL,
        code      TEXT NOT NULL,
        message   TEXT NOT NULL,
        field     TEXT,
        fix       TEXT NOT NULL,
        client    TEXT,
        count     INTEGER NOT NULL,
        first_at  INTEGER NOT NULL,
        at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX refusals_at ON refusals (at);
      CREATE INDEX cards_failed ON cards (updated_at) WHERE state = 'failed';
      CREATE INDEX invoices_failed ON invoices (updated_at) WHERE state = 'failed';
    `),
  // 10: the journal as a record of events: one row per thing that happened (a card delivered, a
  // Docpart pull with its counts, a 1C call), its exchanges folded under it (`event_id`), each
  // exchange judged by what its answer means (`failed`: a refusal in a 200 answer too), the raw
  // text of a failure kept apart from its staff sentence (`detail`). Each existing exchange
  // becomes an event of its own (same id), titled by its address.
  (db) =>
    db.exec(`
      ${journalEventsTable('journal_events', "'running', 'ok', 'failed'")}
      ${JOURNAL_EVENTS_INDEXES}
      ALTER TABLE journal ADD COLUMN event_id INTEGER;
      ALTER TABLE journal ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE journal ADD COLUMN detail TEXT;
      UPDATE journal SET event_id = id, failed = (status IS NULL OR status >= 400 OR error IS NOT NULL);
      CREATE INDEX journal_event ON journal (event_id);
      INSERT INTO journal_events (id, at, ended_at, direction, system, entity, title, outcome, summary, error, exchanges, duration_ms, method, url, status, search)
        SELECT id, at, at, direction, CASE WHEN system LIKE 'regate:%' THEN 'regate' ELSE system END, entity,
          CASE system WHEN '1c' THEN '1С' WHEN 'passteam' THEN 'Passteam' WHEN 'paykeeper' THEN 'PayKeeper' WHEN 'docpart' THEN 'Docpart' WHEN 'regate' THEN 'ReGate' ELSE system END
            || ': ' || method || ' ' || url,
          CASE failed WHEN 1 THEN 'failed' ELSE 'ok' END,
          CASE WHEN failed = 0 THEN NULL WHEN status IS NULL THEN 'нет ответа' ELSE 'ошибка' END,
          error, 1, duration_ms, method, url, status, lower(method || ' ' || url || coalesce(' ' || entity, '') || coalesce(' ' || error, ''))
        FROM journal;
    `),
  // 11: searches of 1–2 characters, which no trigram holds: per block of 256 journal rows, an
  // 8 KB Bloom filter of the characters and character pairs in their search text, in 16 parts
  // (main/journal/search-index.ts), so a short search reads only the blocks that may match
  // instead of scanning every row's text (160–270 ms at 100,000 rows for a miss). The journal
  // fills it in the background from 'journal_grams_indexed' on (0: the rows indexed before this
  // version, from the index's text); until then a short search reads those rows' text, the newest
  // few thousand of them (Journal's SCAN_ROWS), and says how many it left.
  (db) =>
    db.exec(`
      CREATE TABLE journal_grams (
        part  INTEGER NOT NULL,
        block INTEGER NOT NULL,
        bits  BLOB NOT NULL,
        PRIMARY KEY (part, block)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('journal_grams_indexed', '0');
    `),
  // 12: a ReGate write keeps its method (main/regate/methods.ts), so a queued one gets its method's
  // timeout without reading it back from the 1C path; earlier writes get theirs from verb and path.
  (db) =>
    db.exec(`
      ALTER TABLE regate_requests ADD COLUMN method_name TEXT NOT NULL DEFAULT '';
      UPDATE regate_requests SET method_name = CASE
        WHEN method = 'PUT' THEN 'client'
        WHEN method = 'PATCH' THEN 'clientupd'
        WHEN path = 'orders' THEN 'booking'
        WHEN path LIKE 'orders/%/payments' THEN 'paycard'
        WHEN path LIKE 'orders/%/refunds' THEN 'refund'
        ELSE '' END;
    `),
  // 13: a journal event may end 'interrupted': a delivery run Sputnik's own stop cut short, which
  // goes again after the start (not a failure: not red, not among «только ошибки»). SQLite changes
  // a CHECK only by rebuilding the table.
  (db) =>
    db.exec(`
      ${journalEventsTable('journal_events_13', "'running', 'ok', 'failed', 'interrupted'")}
      INSERT INTO journal_events_13 (id, at, ended_at, direction, system, entity, title, outcome, summary, error, cause, counts, exchanges, duration_ms, method, url, status, search)
        SELECT id, at, ended_at, direction, system, entity, title, outcome, summary, error, cause, counts, exchanges, duration_ms, method, url, status, search FROM journal_events;
      DROP TABLE journal_events;
      ALTER TABLE journal_events_13 RENAME TO journal_events;
      ${JOURNAL_EVENTS_INDEXES}
    `),
];
