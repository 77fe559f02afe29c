import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../main/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The store's change signal (Store.onChange): what the window's live stream waits on instead of
 * polling. Heard once a write is committed, once per event-loop turn however many.
 */
const open: Store[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function store(): Store {
  const s = openStore(tempDir());
  open.push(s);
  return s;
}

const turn = () => new Promise((r) => setImmediate(r));
const put = (s: Store, key: string) => () => s.sql.run(`INSERT INTO meta (key, value) VALUES (?, 'v')`, key);
const has = (s: Store, key: string) => s.sql.value<string>(`SELECT value FROM meta WHERE key = ?`, key) !== undefined;

describe('Store.onChange', () => {
  it('is heard after the writes of a turn are committed, once for all of them, durable or relaxed', async () => {
    const s = store();
    const heard: boolean[] = [];
    const once = new Promise<void>((resolve) =>
      s.onChange(() => {
        heard.push(has(s, 'a') && has(s, 'b') && has(s, 'c'));
        resolve();
      }),
    );
    const writes = [s.write(put(s, 'a'), { durability: 'durable' }), s.write(put(s, 'b'), { durability: 'durable' }), s.write(put(s, 'c'), { durability: 'durable' })];
    await once;
    await Promise.all(writes);
    await turn();
    expect(heard).toEqual([true]);

    await s.write(put(s, 'd'), { durability: 'relaxed' });
    await turn();
    expect(heard).toHaveLength(2);
  });

  it('a feed moving is a change, whichever way its transaction was written; a failed write or an unsubscribed listener is not', async () => {
    const s = store();
    let heard = 0;
    const off = s.onChange(() => heard++);
    // As the outbox writes a job's outcome with the domain's record: the group commit, not `write`.
    await s.commit.run(() => s.nextSeq());
    await turn();
    expect(heard).toBe(1);

    await expect(
      s.write(() => {
        throw new Error('refused');
      }, { durability: 'relaxed' }),
    ).rejects.toThrow('refused');
    await turn();
    expect(heard).toBe(1);

    off();
    await s.write(put(s, 'e'), { durability: 'durable' });
    await turn();
    expect(heard).toBe(1);
  });
});
