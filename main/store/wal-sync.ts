import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type { DB } from './db.ts';

/**
 * Flushes the store's WAL file to disk on libuv's thread pool, so a group commit's fsync no
 * longer stops the event loop. The transaction itself is written with synchronous=NORMAL (WAL
 * frames handed to the OS, no fsync); its callers are answered only after `sync` reported the
 * whole file on disk, which covers every frame written before it started, so an acknowledged
 * write survives power loss exactly as with synchronous=FULL. A power cut before that fsync can
 * drop the unacknowledged tail only: WAL frames carry checksums and SQLite discards a torn end.
 */
export interface WalSync {
  /** fdatasync of the WAL in the thread pool; `done` runs on the event loop. */
  sync(done: (error: Error | null) => void): void;
  /** The same, blocking: for shutdown. */
  syncNow(): void;
  /** Closes the descriptor once no sync is in flight. */
  close(): void;
}

/**
 * Opens the WAL next to the database for syncing, or returns undefined when it cannot (no WAL
 * file, an in-memory or read-only database): the caller then keeps fsyncing inside each commit.
 * The descriptor stays open while the database is: SQLite keeps its WAL file (truncating, never
 * replacing it) until the last connection closes, and takes no POSIX locks on it, so this second
 * descriptor cannot release one of SQLite's locks when it is closed.
 */
export function openWalSync(db: DB): WalSync | undefined {
  if (db.memory || db.readonly) return undefined;
  if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return undefined;
  let fd: number;
  try {
    fd = openSync(`${db.name}-wal`, 'r+'); // write access: Windows' FlushFileBuffers needs it
  } catch {
    return undefined;
  }
  let inFlight = 0;
  let closing = false;
  const release = () => {
    if (closing && inFlight === 0 && fd >= 0) {
      closeSync(fd);
      fd = -1;
    }
  };
  return {
    sync(done) {
      if (fd < 0) return void queueMicrotask(() => done(new Error('WAL descriptor closed')));
      inFlight++;
      fdatasync(fd, (error) => {
        inFlight--;
        release();
        done(error);
      });
    },
    syncNow() {
      if (fd >= 0) fdatasyncSync(fd);
    },
    close() {
      closing = true;
      release();
    },
  };
}
