import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/store/db.ts';
import { GroupCommit } from '../../main/store/group-commit.ts';
import { openWalSync, type WalSync } from '../../main/store/wal-sync.ts';
import { tempDir } from '../helpers/tmp.ts';

const turn = () => new Promise((r) => setImmediate(r));

describe('GroupCommit.close during a thread-pool flush', () => {
  it('fsyncs on the spot through the WalSync that was flushing, answers the batch, and ignores the late flush answer', async () => {
    const db = openDatabase(tempDir());
    const real = openWalSync(db);
    if (!real) throw new Error('no WalSync on this platform');
    const held: Array<(error: Error | null) => void> = [];
    let syncNow = 0;
    const wal: WalSync = { sync: (done) => void held.push(done), syncNow: () => (syncNow++, real.syncNow()), close: () => real.close() };
    const commit = new GroupCommit(db, { wal });
    const write = commit.run((d) => d.prepare(`INSERT INTO meta (key, value) VALUES ('k', 'v') RETURNING key`).pluck().get());
    await turn();
    expect(held).toHaveLength(1); // the batch waits for its flush
    commit.close();
    expect(syncNow).toBe(1);
    await expect(write).resolves.toBe('k');
    held[0](new Error('late')); // the flush answers after close: nothing is answered twice
    expect(commit.healthy).toBe(false); // closed
    db.close();
  });
});
