import { describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../main/store/index.ts';
import { DB_FILE } from '../../main/store/db.ts';
import { startCheckpointer } from '../../main/store/checkpointer.ts';
import { writeNow } from '../../main/store/write-now.ts';
import { sqlite } from '../helpers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Commits ~2 MB of jobs: far below the writer's own autocheckpoint (4000 pages), so only a checkpointer moves them. */
function writeBurst(store: ReturnType<typeof openStore>, from: number) {
  const payload = { blob: 'x'.repeat(1000) };
  for (let b = 0; b < 20; b++) {
    writeNow(store, () => {
      for (let i = 0; i < 100; i++) store.outbox.enqueue({ connector: 'passteam', kind: 'k', key: `k${from + b * 100 + i}`, payload });
    });
  }
}

const size = (f: string) => statSync(f).size;

/** Waits for a condition; the deadline only names one that never comes (generous for a loaded machine and a slow disk). */
async function until(ok: () => boolean, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
}

describe('background checkpointer', () => {
  it('copies committed pages into the database file off the event loop; and keeps up with later commits', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    const file = join(dir, DB_FILE);
    const before = size(file);
    writeBurst(store, 0);
    // Without a checkpointer the pages stay in the WAL (control for the assertion below).
    await new Promise((r) => setTimeout(r, 300));
    expect(size(file)).toBe(before);

    const cp = startCheckpointer(file, { intervalMs: 20 });
    try {
      expect(await until(() => size(file) > before + 1_500_000)).toBe(true);
      // It keeps up with later commits too.
      for (let round = 1; round <= 3; round++) {
        const copied = size(file);
        writeBurst(store, round * 10_000);
        expect(await until(() => size(file) > copied + 1_500_000)).toBe(true);
      }
      expect(store.sql.value('SELECT COUNT(*) FROM jobs')).toBe(8_000);
    } finally {
      await cp.stop();
      store.close();
    }
    expect(sqlite(dir).pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
