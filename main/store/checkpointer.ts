import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies committed WAL pages into the database file on a worker thread (its own connection,
 * PASSIVE checkpoints: it never blocks the writer). Without it the writer's automatic checkpoint
 * does all of that work on the event loop — tens of ms of page writes and an fsync of the
 * database file every few thousand pages — stalling every request and delivery behind it. The
 * writer's automatic checkpoint stays on as the backstop that bounds the WAL; it then finds only
 * the last few frames left to copy.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

// CommonJS source run with `eval: true`: nothing to bundle or resolve for the desktop build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 1000 });
db.pragma('synchronous = NORMAL'); // a checkpoint still fsyncs the WAL before and the database after copying
let timer;
let stopped = false;
const pass = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or the file is going away: the next pass (or the writer's own checkpoint) catches up
  }
  if (!stopped) timer = setTimeout(pass, workerData.intervalMs);
};
parentPort.on('message', () => {
  stopped = true;
  clearTimeout(timer);
  db.close();
  parentPort.postMessage('closed');
});
pass();
`;

export function startCheckpointer(file: string, opts: { intervalMs?: number } = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: opts.intervalMs ?? 100 } });
  worker.unref();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        const done = () => void worker.terminate().finally(resolve);
        worker.once('message', done);
        worker.once('error', done);
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      });
      return stopping;
    },
  };
}
