import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openDatabase, type DB } from '../../main/store/db.ts';
import { GroupCommit } from '../../main/store/group-commit.ts';
import { openWalSync, type WalSync } from '../../main/store/wal-sync.ts';
import { openStore } from '../../main/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sqlite } from '../helpers/sqlite.ts';

/** The real WAL sync, held at a gate the test opens: a disk whose flush takes as long as the test says. */
function gatedWal(db: DB, failWith?: Error) {
  const real = openWalSync(db)!;
  const held: Array<() => void> = [];
  let syncs = 0;
  const wal: WalSync = {
    sync(done) {
      syncs++;
      held.push(() => (failWith ? done(failWith) : real.sync(done)));
    },
    syncNow: () => real.syncNow(),
    close: () => real.close(),
  };
  return {
    wal,
    held: () => held.length,
    syncs: () => syncs,
    release: () => held.splice(0).forEach((go) => go()),
  };
}

/** One event-loop turn: the group commit's setImmediate has run. */
const turn = () => new Promise((r) => setImmediate(r));
const flushError = (code: string) => Object.assign(new Error(`${code}: fdatasync failed`), { code });
const insert = (key: string) => (db: DB) => db.prepare(`INSERT INTO meta (key, value) VALUES (?, 'v') RETURNING key`).pluck().get(key);
const settled = async <T>(p: Promise<T>) => {
  let state = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await turn();
  await turn();
  return state;
};

describe('group commit with the WAL flushed off the event loop', () => {
  it('answers a write only after its WAL flush; what arrives meanwhile waits and becomes the next transaction', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const gate = gatedWal(db);
    const commit = new GroupCommit(db, { wal: gate.wal });

    const first = [commit.run(insert('a')), commit.run(insert('b'))];
    await turn();
    expect(gate.held()).toBe(1); // one transaction, one flush requested
    expect(await settled(first[0])).toBe('pending'); // committed but not yet on disk: no answer

    // The event loop is free while the disk flushes: later writes are taken, timers run.
    const second = commit.run(insert('c'));
    const timer = await new Promise((r) => setTimeout(() => r('ran'), 5));
    expect(timer).toBe('ran');
    expect(await settled(second)).toBe('pending');
    expect(gate.held()).toBe(1); // no second transaction while the first flush is in flight
    expect(commit.batches).toBe(1);

    gate.release();
    expect(await Promise.all(first)).toEqual(['a', 'b']);
    await expect.poll(() => gate.held()).toBe(1); // 'c' committed as the next batch, waiting for its own flush
    expect(commit.batches).toBe(2);
    expect(await settled(second)).toBe('pending');
    gate.release();
    expect(await second).toBe('c');
    expect(gate.syncs()).toBe(2);

    // Another connection sees every acknowledged row.
    commit.close();
    db.close();
    const reader = new Database(join(dir, 'sputnik.db'), { readonly: true });
    expect(reader.prepare(`SELECT key FROM meta WHERE key IN ('a', 'b', 'c') ORDER BY key`).pluck().all()).toEqual(['a', 'b', 'c']);
    reader.close();
  });

  it('keeps synchronous=FULL for every other writer: only the group commit hands its flush to the thread pool', async () => {
    const db = openDatabase(tempDir());
    const gate = gatedWal(db);
    const commit = new GroupCommit(db, { wal: gate.wal });
    const level = commit.run((d) => d.pragma('synchronous', { simple: true }));
    await turn();
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL outside the batch
    gate.release();
    expect(await level).toBe(1); // NORMAL inside it: the flush follows
    commit.close();
    db.close();
  });

  it('a failed flush answers 503 store_unavailable and marks the store unhealthy until a flush succeeds', async () => {
    const db = openDatabase(tempDir());
    const failing = gatedWal(db, flushError('EIO'));
    const commit = new GroupCommit(db, { wal: failing.wal });
    const write = commit.run(insert('x'));
    await turn();
    failing.release();
    await expect(write).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(commit.healthy).toBe(false);
    commit.close();

    const good = gatedWal(db);
    const again = new GroupCommit(db, { wal: good.wal });
    const next = again.run(insert('y'));
    await turn();
    good.release();
    await expect(next).resolves.toBe('y');
    expect(again.healthy).toBe(true);
    again.close();
    db.close();
  });

  it('a flush refused for a reason other than the disk falls back to SQLite fsyncing the WAL itself, for good', async () => {
    const db = openDatabase(tempDir());
    const refusing = gatedWal(db, flushError('EPERM'));
    const commit = new GroupCommit(db, { wal: refusing.wal });
    const write = commit.run(insert('f1'));
    await turn();
    refusing.release();
    await expect(write).resolves.toBe('f1');
    expect(commit.healthy).toBe(true);
    await expect(commit.run(insert('f2'))).resolves.toBe('f2'); // committed with its own fsync, no second try of the refused flush
    expect(refusing.syncs()).toBe(1);
    expect(refusing.held()).toBe(0);
    commit.close();
    db.close();
  });

  it('closing with a flush in flight flushes at once and answers those writes; later writes are refused', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const gate = gatedWal(db);
    const commit = new GroupCommit(db, { wal: gate.wal });
    const inFlight = commit.run(insert('p'));
    await turn();
    const pending = commit.run(insert('q')); // not yet committed when close() comes
    commit.close();
    expect(await inFlight).toBe('p');
    expect(await pending).toBe('q');
    await expect(commit.run(insert('r'))).rejects.toMatchObject({ code: 'store_unavailable' });
    gate.release(); // the late completion of the old flush changes nothing
    db.close();
  });

  it('the store opens its WAL for syncing (and an in-memory database keeps fsync inside the commit)', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    const own = openWalSync(sqlite(dir)); // the store's file is in WAL mode and its WAL is there to sync
    expect(own).toBeDefined();
    own!.close();
    const rows = await Promise.all(['m1', 'm2', 'm3'].map((k) => store.commit.run(() => store.sql.value(`INSERT INTO meta (key, value) VALUES (?, 'v') RETURNING key`, k))));
    expect(rows).toEqual(['m1', 'm2', 'm3']);
    expect(store.commit.batches).toBe(1);
    store.close();
    expect(openWalSync(new Database(':memory:'))).toBeUndefined();
  });
});
