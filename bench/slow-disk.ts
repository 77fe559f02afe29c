import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, withTempDir, type BenchResult } from './common.ts';
import { P1_CONNECTIONS, row, type Load } from './http-load.ts';

/**
 * Diagnostic: P1 cards on a slow disk. A shop PC's HDD or cheap SSD takes milliseconds per fsync
 * where this VM takes ~0.2 ms, so every fsync of the server process is delayed by SLOW_MS through
 * an LD_PRELOAD shim (Linux, needs a C compiler), and the same load runs twice: with the fsync
 * inside the group commit (the event loop waits for the disk) and with the WAL flushed in the
 * thread pool (the store's default). Besides throughput it reports the event loop's delay: what
 * every other request (the tray window, ReGate, deliveries) waits behind.
 */
const SLOW_MS = 8;

const SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>
static void slow(void) { struct timespec t = { 0, ${SLOW_MS}L * 1000000L }; while (nanosleep(&t, &t) != 0) {} }
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync"); slow(); return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync"); slow(); return real(fd); }
`;

type Run = Load & { commits: number; loopDelayMs: [number, number, number] };

function child(mode: 'in-commit' | 'thread-pool', shim: string): Promise<Run> {
  const p = spawn(process.execPath, [new URL('./slow-disk-child.ts', import.meta.url).pathname, mode], {
    env: { ...process.env, LD_PRELOAD: shim },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Run) : reject(new Error(`slow-disk child exited with ${code}`)))));
}

export async function benchSlowDisk(): Promise<BenchResult> {
  const title = `Slow disk (diagnostic): P1 cards, ${P1_CONNECTIONS} connections, every fsync +${SLOW_MS} ms`;
  if (process.platform !== 'linux' || spawnSync('cc', ['--version']).status !== 0) {
    return { id: 'slow-disk', title, rows: [], notes: ['Skipped: needs Linux and a C compiler (cc) for the fsync shim.'], summary: 'skipped (no Linux C compiler)' };
  }
  return withTempDir(async (dir) => {
    const shim = join(dir, 'slow-fsync.so');
    writeFileSync(join(dir, 'slow-fsync.c'), SHIM);
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', shim, join(dir, 'slow-fsync.c'), '-ldl'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const inCommit = await child('in-commit', shim);
    const pool = await child('thread-pool', shim);
    const loop = (r: Run) => ({
      'loop delay p50 ms': fmt(r.loopDelayMs[0], 1),
      'loop delay p99 ms': fmt(r.loopDelayMs[1], 1),
      commits: fmt(r.commits),
    });
    const ratio = pool.requests / inCommit.requests;
    return {
      id: 'slow-disk',
      title,
      rows: [
        { ...row('fsync in the commit, on the event loop', inCommit, inCommit), ...loop(inCommit) },
        { ...row('WAL flushed in the thread pool (default)', pool, inCommit), ...loop(pool) },
      ],
      notes: [
        'Ratio: against the fsync in the commit. Loop delay: how late a timer fires, i.e. how long any other request waits for the event loop.',
        'Both answer a PUT only after its WAL frames are on disk.',
      ],
      summary: `thread-pool flush ${fmt(ratio, 2)}× the throughput; loop delay p50 ${fmt(pool.loopDelayMs[0], 1)} ms vs ${fmt(inCommit.loopDelayMs[0], 1)} ms (diagnostic)`,
    };
  });
}
