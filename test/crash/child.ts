import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type { ConfigInput } from '../../main/config/schema.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHILD = resolve(ROOT, 'test/crash/core-child.ts');

export interface CoreChild {
  proc: ChildProcess;
  exited: Promise<void>;
  url: string;
  token: string;
  /** ReGate's HTTPS address (module 'regate' only). */
  gatewayUrl?: string;
}

/** Starts test/crash/core-child.ts and waits for its ready line. */
export async function startCoreChild(dataDir: string, module: 'passteam' | 'paykeeper' | 'regate', config: ConfigInput): Promise<CoreChild> {
  const proc = spawn(process.execPath, [CHILD, dataDir, module, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const first = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => fail(new Error(`core-child (${module}): no ready line within 15 s\n${stderr}`)), 15_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      ok(line);
    });
    proc.once('exit', (code, signal) => fail(new Error(`core-child (${module}) exited early (${code ?? signal}):\n${stderr}`)));
  });
  const { url, token, gatewayUrl } = JSON.parse(first) as { url: string; token: string; gatewayUrl?: string };
  return { proc, exited, url, token, gatewayUrl };
}

/**
 * Arms one crash run: the child is SIGKILLed after 250–850 ms; on every third run a call the fake
 * processes but whose answer is lost is injected before that. `inFlight()` counts the calls the
 * fake received in the last 15 ms before the kill — still inside its ≥ 20 ms latency, so in flight.
 */
export function armKill(child: CoreChild, fake: { requests(): unknown[]; failNext(n: number, kind: 'processed-then-reset'): void }, run: number) {
  let killed = false;
  let atWindow = 0;
  let inFlight = 0;
  let injected = false;
  const delayMs = 250 + Math.random() * 600;
  if (run % 3 === 1) {
    setTimeout(() => {
      fake.failNext(1, 'processed-then-reset');
      injected = true;
    }, Math.random() * delayMs);
  }
  setTimeout(() => (atWindow = fake.requests().length), delayMs - 15);
  setTimeout(() => {
    inFlight = fake.requests().length - atWindow;
    killed = true;
    child.proc.kill('SIGKILL');
  }, delayMs);
  return { killed: () => killed, inFlight: () => inFlight, injected: () => injected, delayMs };
}
