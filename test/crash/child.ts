import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ConfigInput } from '../../main/config/schema.ts';
import type { FakeHold, FakeRequest } from '../../main/sandbox/fake-server.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHILD = resolve(ROOT, 'test/crash/core-child.ts');

/**
 * The environment of a crash test's children: they load the core through Node's on-disk compile
 * cache (the one `sputnik` itself uses, in the temp dir). Stripping and compiling the sources is
 * most of a start (~0.8 s of ~1.1 s here, twice that on a loaded machine) and these tests start
 * 13–31 processes each; a child writes the cache once loaded (flushCompileCache), as a SIGKILLed one
 * never reaches the exit that would write it.
 */
export const childEnv = { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') };

export interface CoreChild {
  proc: ChildProcess;
  exited: Promise<void>;
  url: string;
  token: string;
  /** ReGate's HTTPS address (module 'regate' only). */
  gatewayUrl?: string;
  /**
   * From now on the child sends no successful answer to a 1C write (its intake is on disk by then);
   * resolves with the first such request held ("PUT /v1/cards/…"): a kill after it surely cuts off
   * a 1C request that was stored and not acknowledged.
   */
  holdAnswers(): Promise<string>;
}

/** Starts test/crash/core-child.ts and waits for its ready line. */
export async function startCoreChild(dataDir: string, module: 'passteam' | 'paykeeper' | 'regate', config: ConfigInput): Promise<CoreChild> {
  const proc = spawn(process.execPath, [CHILD, dataDir, module, JSON.stringify(config)], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const held = Promise.withResolvers<string>();
  const first = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! });
    // A liveness bound with a clear message, far above a start's 0.3–4 s (not a timing assertion).
    const timer = setTimeout(() => fail(new Error(`core-child (${module}): no ready line within 30 s\n${stderr}`)), 30_000);
    let ready = false;
    rl.on('line', (line) => {
      if (ready) {
        const { held: request } = JSON.parse(line) as { held?: string };
        if (request) held.resolve(request);
        return;
      }
      ready = true;
      clearTimeout(timer);
      ok(line);
    });
    proc.once('exit', (code, signal) => fail(new Error(`core-child (${module}) exited early (${code ?? signal}):\n${stderr}`)));
  });
  const { url, token, gatewayUrl } = JSON.parse(first) as { url: string; token: string; gatewayUrl?: string };
  const holdAnswers = () => {
    proc.stdin!.write('hold\n');
    return held.promise;
  };
  return { proc, exited, url, token, gatewayUrl, holdAnswers };
}

/** What armKill needs of a fake remote (fake-server.ts). */
export interface KillableFake {
  failNext(n: number, kind: 'processed-then-reset'): void;
  hold(match?: (req: FakeRequest) => boolean): FakeHold;
  inHand(): number;
}

/**
 * Arms one crash run: the child is SIGKILLed once 250–850 ms have passed and the run has had its
 * first acknowledgement from the child (`acked()`, called by the test on each one), so a run that
 * starts slowly on a busy machine still takes work before it dies. On every third run a call the
 * fake processes but whose answer is lost is injected before that.
 *
 * A `midCall` run then holds the fake's next call that `match` accepts (any by default), then the
 * child's answer to the next 1C write, and kills while both are held: such a kill lands mid-call,
 * with a 1C request stored and unanswered, whatever the machine's speed. The others kill wherever
 * the delay falls, between calls too. Held calls are let go once the child is dead, so the remote
 * processes them after its client died, as a real one would.
 * `inFlight()`: the calls the fake had received and not answered when the kill was sent.
 */
export function armKill(child: CoreChild, fake: KillableFake, run: number, opts: { midCall: boolean; match?: (req: FakeRequest) => boolean }) {
  let killed = false;
  let inFlight = 0;
  let injected = false;
  let acks = 0;
  let due = false;
  let armed = false;
  const delayMs = 250 + Math.random() * 600;
  if (run % 3 === 1) {
    setTimeout(() => {
      fake.failNext(1, 'processed-then-reset');
      injected = true;
    }, Math.random() * delayMs);
  }
  const kill = () => {
    inFlight = fake.inHand();
    killed = true;
    child.proc.kill('SIGKILL');
  };
  const fire = () => {
    if (!due || acks === 0 || armed) return;
    armed = true;
    if (!opts.midCall) return kill();
    const gate = fake.hold(opts.match);
    void gate.reached
      .then(() => child.holdAnswers())
      .then(() => {
        kill();
        void child.exited.then(gate.release);
      });
  };
  setTimeout(() => {
    due = true;
    fire();
  }, delayMs);
  return {
    acked() {
      acks++;
      fire();
    },
    killed: () => killed,
    inFlight: () => inFlight,
    injected: () => injected,
    midCall: opts.midCall,
    delayMs,
  };
}
