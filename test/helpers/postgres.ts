import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir } from '../../scripts/ensure-postgres.ts';
import { freePort } from './net.ts';

/**
 * A private PostgreSQL server for one test file: initdb in a temp dir, pg_ctl on a free loopback
 * port, password auth over TCP. PostgreSQL refuses to run as root, so as root the server runs as
 * the `postgres` user Debian's package creates. `npm test` installs the package first
 * (scripts/ensure-postgres.ts); a missing server fails the test instead of skipping it.
 */
export interface PrivatePostgres {
  /** postgres://sputnik@127.0.0.1:port/sputnik (no password: tests pass it as the env secret). */
  url: string;
  password: string;
  port: number;
  /** A fresh database on this server; returns its URL. */
  createDatabase(name: string): string;
  stop(): void;
  start(): void;
  /** kill -9 of the postmaster (crash; start() recovers). */
  kill(): void;
  /** Stops the server and removes its files. */
  destroy(): void;
}

const USER = 'sputnik';

export async function startPostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/initdb): run `node scripts/ensure-postgres.ts`');
  const asRoot = process.getuid?.() === 0;
  const home = mkdtempSync(join(tmpdir(), 'sputnik-pg-'));
  const data = join(home, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(home, 'pw');
  writeFileSync(pwfile, password);
  if (asRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(home, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(home, 0o700);
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] as const : [join(bin, cmd), args] as const;
    const r = spawnSync(argv[0], [...argv[1]], { encoding: 'utf8', cwd: home });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run('initdb', ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -k ${home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => void run('pg_ctl', ['-D', data, '-o', opts, '-l', join(home, 'log'), '-w', '-t', '60', 'start']);
  const stop = () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const psql = (sql: string) => run('psql', ['-h', home, '-p', String(port), '-U', USER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  psql(`CREATE DATABASE ${USER}`);
  let running = true;
  return {
    url: `postgres://${USER}@127.0.0.1:${port}/${USER}`,
    password,
    port,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      psql(`CREATE DATABASE ${name}`);
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    stop() {
      stop();
      running = false;
    },
    start() {
      start();
      running = true;
    },
    kill() {
      // The postmaster and every backend at once, as a power cut would; then wait until they are gone,
      // or the next start finds their shared memory still attached.
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
      for (const p of [pid, ...children]) killQuietly(p);
      for (const p of [pid, ...children]) while (alive(p)) spawnSync('sleep', ['0.05']);
      running = false;
    },
    destroy() {
      try {
        if (running) stop();
      } catch {
        // already down
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** The URL with the password in it (node-postgres lets a connection string's empty password win over `password`). */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}
