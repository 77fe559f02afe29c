import { describe, expect, it, vi } from 'vitest';
import { CoreSupervisor, type Clock, type CoreChild, type CoreMessage, type CoreReady, type CoreStart, type ShellMessage } from '../../main/desktop/core-process.ts';
import { hostCore, type ParentPortLike } from '../../main/desktop/core-host.ts';
import { CoreControl } from '../../main/desktop/core-control.ts';

/** Timers that never fire: these tests do not wait on any. */
const clock: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };

class Child implements CoreChild {
  readonly pid = 4242;
  readonly sent: ShellMessage[] = [];
  killed = false;
  readonly #messages: Array<(m: unknown) => void> = [];
  postMessage(m: ShellMessage) {
    this.sent.push(m);
  }
  kill() {
    this.killed = true;
  }
  onMessage(l: (m: unknown) => void) {
    this.#messages.push(l);
  }
  onExit() {}
  send(m: unknown) {
    for (const l of this.#messages) l(m);
  }
}

const START: CoreStart = {
  options: { configFile: '/c/config.json', dataDir: '/d', rendererDir: '/r' },
  secrets: { availability: { ok: true }, keys: [], values: [] },
};
const READY: CoreReady = { uiUrl: 'http://127.0.0.1:40000/', uiLoginUrl: 'http://127.0.0.1:40000/?token=t', uiToken: 't', listenerUrl: 'http://127.0.0.1:37080', sandbox: false };

describe('messages between the shell and the core process are checked where they arrive', () => {
  it('the shell ignores a core message of another shape and serves on the first real ready', async () => {
    const child = new Child();
    const supervisor = new CoreSupervisor({ spawn: () => child, start: () => START, clock, secrets: { setMany: vi.fn(), delete: vi.fn() } });
    const started = supervisor.start();
    child.send({ type: 'ready' }); // no addresses
    child.send({ type: 'ready', ready: { ...READY, uiToken: 7 } });
    child.send('ready');
    child.send(null);
    child.send({ type: 'secrets-set', id: 'one', values: { 'passteam.token': 'x' } });
    expect(supervisor.state.state).toBe('starting');
    expect(child.sent).toEqual([{ type: 'start', ...START }]);
    child.send({ type: 'ready', ready: READY });
    await expect(started).resolves.toEqual(READY);
  });

  it('what the shell always tolerated still works: a save without a key is answered, a failed start without a reason is ended', async () => {
    const child = new Child();
    const secrets = { setMany: vi.fn(), delete: vi.fn() };
    const supervisor = new CoreSupervisor({ spawn: () => child, start: () => START, clock, secrets });
    void supervisor.start().catch(() => {});
    child.send({ type: 'secrets-delete', id: 3 });
    child.send({ type: 'secrets-set', id: 4, values: { 'passteam.token': 'PT', odd: 5 } });
    expect(child.sent.slice(1)).toEqual([
      { type: 'secrets-done', id: 3 },
      { type: 'secrets-done', id: 4 },
    ]);
    expect(secrets.delete).not.toHaveBeenCalled();
    expect(secrets.setMany).toHaveBeenCalledWith({ 'passteam.token': 'PT' });
    child.send({ type: 'failed' });
    expect(child.killed).toBe(true);
  });

  it('the core process ignores a shell message of another shape', async () => {
    const sent: CoreMessage[] = [];
    let deliver: (m: unknown) => void = () => {};
    const port: ParentPortLike = { postMessage: (m) => void sent.push(m), onMessage: (l) => void (deliver = l) };
    const startCore = vi.fn(async () => {
      throw new Error('порт 37080 занят');
    });
    const exit = vi.fn();
    hostCore(port, { exit, startCore });
    deliver({ type: 'start' }); // no settings, no secrets
    deliver({ type: 'start', options: START.options });
    deliver({ type: 'secrets-done', id: 'one' });
    expect(startCore).not.toHaveBeenCalled();
    deliver({ type: 'start', ...START });
    await expect.poll(() => sent).toEqual([{ type: 'failed', message: 'порт 37080 занят' }]);
    deliver({ type: 'stop', graceMs: 'soon' }); // a stop is a stop, with the default grace
    await expect.poll(() => exit.mock.calls).toEqual([[0]]);
  });

  it('a health answer of another shape is refused, not shown in the tray', async () => {
    const control = new CoreControl({
      baseUrl: 'http://127.0.0.1:40000',
      token: 't',
      fetch: async () => ({ ok: true, status: 200, json: async () => ({ status: 'ok' }) }),
      health: () => null,
    });
    await expect(control.health()).rejects.toThrow('Не удалось узнать состояние Спутника: служба Спутника ответила не тем, что ожидалось');
  });
});
