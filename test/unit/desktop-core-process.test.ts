import { describe, expect, it, vi } from 'vitest';
import {
  CoreSupervisor,
  coreDown,
  coreFailedNotice,
  type CoreState,
  secretsSnapshot,
  utilityChild,
  type Clock,
  type CoreChild,
  type CoreReady,
  type CoreStart,
  type ShellMessage,
  type SupervisorOptions,
  type UtilityProcessLike,
} from '../../main/desktop/core-process.ts';
import { MirroredSecrets } from '../../main/desktop/core-host.ts';
import { NO_KEYRING_REASON, SecretStore, SecretsRefusedError } from '../../main/desktop/secret-store.ts';
import { CoreDown, trayStatus, type HealthView } from '../../main/desktop/status.ts';
import { CoreWatch } from '../../main/desktop/core-watch.ts';
import { CoreControl } from '../../main/desktop/core-control.ts';
import { registerIpc, type IpcSender, type IpcSyncEvent } from '../../main/desktop/ipc.ts';
import { IPC } from '../../main/desktop/ipc-channels.ts';
import { WindowService, type WindowLike } from '../../main/desktop/window.ts';
import { fakeSafeStorage, memoryBacking } from '../helpers/safe-storage.ts';

/** Timers that fire only when the test moves the clock. */
class ManualClock implements Clock {
  t = 0;
  #next = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.#next;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown) {
    this.timers.delete(id as number);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** A core process the test drives: it becomes ready, fails or exits when told. */
class FakeChild implements CoreChild {
  static count = 0;
  readonly pid = 1000 + ++FakeChild.count;
  readonly sent: ShellMessage[] = [];
  killed = false;
  /** What kill() does: exit at once (a real SIGKILL) unless the test holds it. */
  exitOnKill = true;
  readonly #messages: Array<(m: unknown) => void> = [];
  readonly #exits: Array<(code: number | null, signal: string | null) => void> = [];
  postMessage(m: ShellMessage) {
    this.sent.push(m);
  }
  kill() {
    this.killed = true;
    if (this.exitOnKill) this.exit(null, 'SIGKILL');
  }
  onMessage(l: (m: unknown) => void) {
    this.#messages.push(l);
  }
  onExit(l: (code: number | null, signal: string | null) => void) {
    this.#exits.push(l);
  }
  send(m: unknown) {
    for (const l of this.#messages) l(m);
  }
  ready(port = 40000) {
    this.send({ type: 'ready', ready: ready(port) });
  }
  exit(code: number | null, signal: string | null = null) {
    for (const l of this.#exits.splice(0)) l(code, signal);
  }
}

const ready = (port: number): CoreReady => ({
  uiUrl: `http://127.0.0.1:${port}/`,
  uiLoginUrl: `http://127.0.0.1:${port}/?token=tok-${port}`,
  uiToken: `tok-${port}`,
  listenerUrl: 'http://127.0.0.1:37080',
  sandbox: false,
});

const START: CoreStart = {
  options: { configFile: '/c/config.json', dataDir: '/d', rendererDir: '/r' },
  secrets: { availability: { ok: true }, keys: ['passteam.token'], values: [['passteam.token', 'PT']] },
};

function setup(extra: Partial<SupervisorOptions> = {}) {
  const clock = new ManualClock();
  const children: FakeChild[] = [];
  const log = vi.fn();
  const supervisor = new CoreSupervisor({
    spawn: () => {
      const c = new FakeChild();
      children.push(c);
      return c;
    },
    start: () => START,
    clock,
    log,
    backoffMs: [1000, 2000, 5000],
    maxRestarts: 3,
    stableMs: 60_000,
    readyTimeoutMs: 30_000,
    ...extra,
  });
  const states: string[] = [];
  supervisor.subscribe((s) => states.push(s.state));
  return { clock, children, supervisor, states, log, last: () => children[children.length - 1] };
}

/** setup() with the supervisor started and its first process ready. */
async function running(extra: Partial<SupervisorOptions> = {}) {
  const t = setup(extra);
  const started = t.supervisor.start();
  t.children[0].ready();
  await started;
  return t;
}

describe('core supervisor', () => {
  it('starts the process, sends the settings and secrets first, and serves once it is ready', async () => {
    const { children, supervisor } = setup();
    const started = supervisor.start();
    expect(children).toHaveLength(1);
    expect(children[0].sent).toEqual([{ type: 'start', ...START }]);
    expect(coreDown(supervisor.state)!.message).toBe('Служба Спутника запускается…');
    children[0].ready(40001);
    await expect(started).resolves.toEqual(ready(40001));
    expect(supervisor.state).toMatchObject({ state: 'running', pid: children[0].pid });
    expect(supervisor.connection()).toEqual({ baseUrl: 'http://127.0.0.1:40001', token: 'tok-40001' });
    expect(coreDown(supervisor.state)).toBeNull();
  });

  it('a core that cannot start (bad config) is not retried: start() rejects with its reason', async () => {
    const { children, supervisor, clock } = setup();
    const started = supervisor.start();
    children[0].send({ type: 'failed', message: 'Настройка «passteam.token»: обязательно' });
    await expect(started).rejects.toThrow('Настройка «passteam.token»: обязательно');
    expect(children[0].killed).toBe(true);
    clock.advance(600_000);
    expect(children).toHaveLength(1);
    expect(supervisor.state.state).toBe('failed');
  });

  it('a crash is restarted after a backoff, and the new process serves with its own token', async () => {
    const { children, supervisor, clock, states } = setup();
    const started = supervisor.start();
    children[0].ready(40001);
    await started;
    children[0].exit(null, 'SIGKILL');
    expect(supervisor.state).toMatchObject({ state: 'restarting', attempt: 1, of: 3, retryInMs: 1000, reason: 'служба завершена сигналом SIGKILL' });
    expect(supervisor.connection()).toBeNull();
    const line = trayStatus(coreDown(supervisor.state)!);
    expect(line).toMatchObject({ state: 'warning', line: 'Служба Спутника перезапускается после сбоя (попытка 1 из 3)' });
    clock.advance(999);
    expect(children).toHaveLength(1);
    clock.advance(1);
    expect(children).toHaveLength(2);
    expect(children[1].sent[0]).toMatchObject({ type: 'start' });
    children[1].ready(40002);
    expect(supervisor.connection()).toEqual({ baseUrl: 'http://127.0.0.1:40002', token: 'tok-40002' });
    expect(states).toEqual(['starting', 'running', 'restarting', 'starting', 'running']);
  });

  it('a crash loop gives up after maxRestarts with a Russian state the tray shows in red', async () => {
    const { children, supervisor, clock, log } = await running();
    children[0].exit(1);
    for (const wait of [1000, 2000, 5000]) {
      clock.advance(wait);
      // Crashes again while starting (never ready).
      children[children.length - 1].exit(1);
    }
    expect(children).toHaveLength(4);
    expect(supervisor.state).toEqual({ state: 'failed', crashes: 4, reason: 'служба завершилась с кодом 1' });
    expect(trayStatus(coreDown(supervisor.state)!)).toMatchObject({
      state: 'problem',
      line: 'Служба Спутника остановлена после 4 сбоев подряд — перезапустите службу',
    });
    expect(log.mock.calls.at(-1)![0]).toContain('больше не перезапускается');
    clock.advance(3_600_000);
    expect(children).toHaveLength(4);
  });

  it('a run that served for stableMs resets the count: occasional crashes are always restarted', async () => {
    const { children, supervisor, clock } = await running();
    for (let i = 0; i < 6; i++) {
      clock.advance(60_000);
      children[children.length - 1].exit(1);
      expect(supervisor.state).toMatchObject({ state: 'restarting', attempt: 1 });
      clock.advance(1000);
      children[children.length - 1].ready();
    }
    expect(children).toHaveLength(7);
  });

  it('a process that does not get ready in time is ended and counts as a crash', async () => {
    const { children, supervisor, clock } = await running();
    children[0].exit(1);
    clock.advance(1000);
    clock.advance(30_000);
    expect(children[1].killed).toBe(true);
    expect(supervisor.state).toMatchObject({ state: 'restarting', attempt: 2, reason: 'служба не ответила за 30 с' });
  });

  it('stop: asks the core to stop within the grace and reports a clean exit 0', async () => {
    const { children, supervisor, states } = await running();
    const stopping = supervisor.stop(5000);
    expect(children[0].sent.at(-1)).toEqual({ type: 'stop', graceMs: 5000 });
    expect(supervisor.state.state).toBe('stopping');
    children[0].exit(0);
    await expect(stopping).resolves.toEqual({ clean: true, killed: false, code: 0, signal: null });
    expect(children[0].killed).toBe(false);
    expect(states.slice(-2)).toEqual(['stopping', 'stopped']);
  });

  it('stop: a core that does not exit within grace + margin is killed', async () => {
    const { children, supervisor, clock } = await running({ stopMarginMs: 1000 });
    const stopping = supervisor.stop(5000);
    clock.advance(5999);
    expect(children[0].killed).toBe(false);
    clock.advance(1);
    await vi.waitFor(() => expect(children[0].killed).toBe(true));
    await expect(stopping).resolves.toEqual({ clean: false, killed: true, code: null, signal: 'SIGKILL' });
  });

  it('stop during a restart backoff starts nothing more', async () => {
    const { children, supervisor, clock } = await running();
    children[0].exit(1);
    await expect(supervisor.stop(5000)).resolves.toMatchObject({ clean: true, killed: false });
    clock.advance(600_000);
    expect(children).toHaveLength(1);
    expect(supervisor.state.state).toBe('stopped');
  });

  it("keeps the core's secrets writes in the shell's SecretStore, and says why when they are refused", async () => {
    const safe = fakeSafeStorage();
    const store = new SecretStore({ safeStorage: safe, platform: 'linux', backing: memoryBacking() });
    const { children } = await running({ secrets: store });
    children[0].send({ type: 'secrets-set', id: 7, values: { 'passteam.token': 'NEW' } });
    expect(store.get('passteam.token')).toBe('NEW');
    expect(children[0].sent.at(-1)).toEqual({ type: 'secrets-done', id: 7 });
    children[0].send({ type: 'secrets-delete', id: 8, key: 'passteam.token' });
    expect(store.has('passteam.token')).toBe(false);
    safe.backend = 'basic_text';
    children[0].send({ type: 'secrets-set', id: 9, values: { 'passteam.token': 'X' } });
    expect(children[0].sent.at(-1)).toEqual({ type: 'secrets-done', id: 9, refused: NO_KEYRING_REASON });
  });

  it('the secrets snapshot has every key and the decryptable values', () => {
    const backing = memoryBacking({ 'paykeeper.password': Buffer.from('garbage').toString('base64') });
    const store = new SecretStore({ safeStorage: fakeSafeStorage(), platform: 'win32', backing });
    store.set('passteam.token', 'PT');
    expect(secretsSnapshot(store)).toEqual({ availability: { ok: true }, keys: ['paykeeper.password', 'passteam.token'], values: [['passteam.token', 'PT']] });
  });
});

describe('«Перезапустить службу»: the operator starts the core again', () => {
  /** setup() run into a crash loop until the supervisor gave up (maxRestarts 3: 4 crashes). */
  async function gaveUp() {
    const t = await running();
    t.children[0].exit(1);
    for (const wait of [1000, 2000, 5000]) {
      t.clock.advance(wait);
      t.last().exit(1);
    }
    expect(t.supervisor.state).toMatchObject({ state: 'failed', crashes: 4 });
    return t;
  }

  it('after a crash loop: a new process, and the crash count starts again from zero', async () => {
    const { children, supervisor, clock, states, last } = await gaveUp();
    expect(coreDown(supervisor.state)!.restart).toBe(true);
    const restarted = supervisor.restart(5000);
    expect(children).toHaveLength(5);
    expect(last().sent[0]).toMatchObject({ type: 'start' });
    expect(supervisor.state.state).toBe('starting');
    last().ready(40005);
    await expect(restarted).resolves.toEqual(ready(40005));
    expect(supervisor.connection()).toEqual({ baseUrl: 'http://127.0.0.1:40005', token: 'tok-40005' });
    expect(states.slice(-3)).toEqual(['failed', 'starting', 'running']);
    // Counted from zero again: the next crash is restart 1 of 3, not a give-up.
    last().exit(1);
    expect(supervisor.state).toMatchObject({ state: 'restarting', attempt: 1, of: 3 });
    clock.advance(1000);
    expect(children).toHaveLength(6);
  });

  it('a restart whose process never serves ends failed with its reason, not in a loop', async () => {
    const { children, supervisor, clock, last } = await gaveUp();
    const restarted = supervisor.restart(5000);
    last().send({ type: 'failed', message: 'Настройка «passteam.token»: обязательно' });
    await expect(restarted).rejects.toThrow('Настройка «passteam.token»: обязательно');
    expect(supervisor.state).toEqual({ state: 'failed', crashes: 0, reason: 'Настройка «passteam.token»: обязательно' });
    expect(coreFailedNotice(supervisor.state as Extract<CoreState, { state: 'failed' }>)).toBe(
      'Служба Спутника не запустилась: Настройка «passteam.token»: обязательно. Когда причина устранена, выберите «Перезапустить службу» в меню значка Спутника.',
    );
    expect(trayStatus(coreDown(supervisor.state)!).line).toBe('Служба Спутника не запустилась — перезапустите службу');
    clock.advance(3_600_000);
    expect(children).toHaveLength(5);
    // And again, once the cause is fixed.
    const again = supervisor.restart(5000);
    last().ready(40006);
    await expect(again).resolves.toEqual(ready(40006));
  });

  it('a running core that does not answer is stopped as a quit stops it (killed past the grace), then started again; its end is no crash', async () => {
    const { children, supervisor, clock, states, log } = await running({ stopMarginMs: 1000 });
    const restarted = supervisor.restart(5000);
    expect(supervisor.state).toEqual({ state: 'stopping', restart: true });
    expect(trayStatus(coreDown(supervisor.state)!)).toMatchObject({ state: 'warning', line: 'Служба Спутника перезапускается…' });
    expect(children[0].sent.at(-1)).toEqual({ type: 'stop', graceMs: 5000 });
    // A second click joins the restart under way.
    expect(supervisor.restart(5000)).toBe(restarted);
    clock.advance(5999);
    expect(children[0].killed).toBe(false);
    clock.advance(1);
    await vi.waitFor(() => expect(children).toHaveLength(2));
    expect(children[0].killed).toBe(true);
    expect(log.mock.calls.flat().join('\n')).not.toContain('перезапуск 1 из');
    children[1].ready(40002);
    await expect(restarted).resolves.toEqual(ready(40002));
    expect(states).toEqual(['starting', 'running', 'stopping', 'starting', 'running']);
    clock.advance(3_600_000);
    expect(children).toHaveLength(2);
  });

  it('a core that stops when asked is started again at once', async () => {
    const { children, supervisor } = await running();
    const restarted = supervisor.restart(5000);
    children[0].exit(0);
    await vi.waitFor(() => expect(children).toHaveLength(2));
    expect(children[0].killed).toBe(false);
    children[1].ready(40002);
    await expect(restarted).resolves.toEqual(ready(40002));
  });

  it('while the supervisor restarts after a crash, restart() starts now instead of after the backoff', async () => {
    const { children, supervisor, clock } = await running();
    children[0].exit(1);
    expect(supervisor.state.state).toBe('restarting');
    const restarted = supervisor.restart(5000);
    expect(children).toHaveLength(2);
    children[1].ready();
    await restarted;
    clock.advance(60_000);
    expect(children).toHaveLength(2);
  });

  it('a quit while the old process ends starts nothing; restart is refused while starting or quitting', async () => {
    const { children, supervisor, clock } = await running();
    const restarted = supervisor.restart(5000);
    const stopping = supervisor.stop(5000);
    children[0].exit(0);
    await expect(restarted).rejects.toThrow('Спутник остановлен до запуска службы');
    await expect(stopping).resolves.toMatchObject({ clean: true });
    clock.advance(3_600_000);
    expect(children).toHaveLength(1);
    expect(supervisor.state.state).toBe('stopped');
    await expect(supervisor.restart(5000)).rejects.toThrow('Спутник останавливается: служба не перезапускается');
    const fresh = setup();
    void fresh.supervisor.start();
    await expect(fresh.supervisor.restart(5000)).rejects.toThrow('Служба Спутника уже запускается');
  });
});

describe('CoreWatch: the tray and the window over the supervisor', () => {
  /** TrayService's state, without Electron. */
  function fakeTray() {
    return {
      shown: [] as Array<HealthView | Error>,
      status: trayStatus(new CoreDown('warning', 'Спутник запускается…')),
      health: null as HealthView | Error | null,
      update(h: HealthView | Error) {
        this.shown.push(h);
        this.health = h;
        this.status = trayStatus(h);
        return this.status;
      },
    };
  }
  const HEALTH = { status: 'ok', version: '1', sandbox: false, listener: { url: 'x', exposed: false } } satisfies HealthView;

  it('says when the supervisor gives up, and «Перезапустить службу» brings the core back into the tray', async () => {
    const t = await running();
    const tray = fakeTray();
    const notify = vi.fn();
    let answers = true;
    const reloadWindow = vi.fn(async () => {});
    const watch = new CoreWatch({ core: t.supervisor, health: async () => (answers ? HEALTH : Promise.reject(new Error('timeout'))), tray, notify, restartGraceMs: 5000, reloadWindow });
    await watch.poll();
    expect(watch.status()).toEqual({ state: 'ok', line: 'Всё работает', down: false, restart: false });
    // Hung: the health does not come; the window is offered the restart too.
    answers = false;
    await watch.poll();
    expect(watch.status()).toEqual({ state: 'problem', line: 'Служба Спутника не отвечает', down: true, restart: true });
    answers = true;
    t.children[0].exit(1);
    for (const wait of [1000, 2000, 5000]) {
      t.clock.advance(wait);
      t.last().exit(1);
    }
    expect(notify).toHaveBeenCalledExactlyOnceWith(
      'Служба Спутника 4 раз подряд завершилась со сбоем и больше не перезапускается сама (последний: служба завершилась с кодом 1). Чтобы запустить её снова, выберите «Перезапустить службу» в меню значка Спутника.',
    );
    expect(watch.status()).toEqual({ state: 'problem', line: 'Служба Спутника остановлена после 4 сбоев подряд — перезапустите службу', down: true, restart: true });
    const restarted = watch.restart();
    expect(watch.status()).toMatchObject({ state: 'warning', line: 'Служба Спутника запускается…', down: true, restart: false });
    expect(reloadWindow).not.toHaveBeenCalled();
    t.last().ready(40005);
    await expect(restarted).resolves.toEqual({ state: 'ok', line: 'Всё работает', down: false, restart: false });
    expect(tray.shown.at(-1)).toEqual(HEALTH);
    // The new process has its own login token: the open window is loaded from it (its old token would get 401).
    expect(reloadWindow).toHaveBeenCalledOnce();
    t.last().exit(1);
    t.clock.advance(1000);
    t.last().ready(40006);
    expect(reloadWindow).toHaveBeenCalledTimes(2);
    watch.close();
  });

  it('a restart refused outright is a notification; one that failed is told once, by the failed state', async () => {
    const t = setup();
    void t.supervisor.start();
    const notify = vi.fn();
    const watch = new CoreWatch({ core: t.supervisor, health: async () => HEALTH, tray: fakeTray(), notify, restartGraceMs: 5000 });
    await expect(watch.restart()).resolves.toMatchObject({ line: 'Служба Спутника запускается…', restart: false });
    expect(notify).toHaveBeenCalledExactlyOnceWith('Служба Спутника уже запускается');
    t.children[0].ready();
    t.children[0].exit(1);
    for (const wait of [1000, 2000, 5000]) {
      t.clock.advance(wait);
      t.last().exit(1);
    }
    notify.mockClear();
    const restarted = watch.restart();
    t.last().send({ type: 'failed', message: 'порт 37080 занят' });
    await expect(restarted).resolves.toEqual({ state: 'problem', line: 'Служба Спутника не запустилась — перезапустите службу', down: true, restart: true });
    expect(notify).toHaveBeenCalledExactlyOnceWith('Служба Спутника не запустилась: порт 37080 занят. Когда причина устранена, выберите «Перезапустить службу» в меню значка Спутника.');
    watch.close();
  });
});

describe("the core process's mirror of the secrets", () => {
  it('reads the snapshot, writes through the shell and keeps what the shell accepted', async () => {
    const asked: unknown[] = [];
    const mirror = new MirroredSecrets({ availability: { ok: true }, keys: ['a', 'gone'], values: [['a', 'A']] }, async (r) => void asked.push(r));
    expect(mirror.get('a')).toBe('A');
    await mirror.setMany({ b: 'B' });
    await mirror.delete('gone');
    await mirror.delete('never-stored');
    expect(asked).toEqual([{ op: 'set', values: { b: 'B' } }, { op: 'delete', key: 'gone' }]);
    expect(mirror.keys().sort()).toEqual(['a', 'b']);
    expect(mirror.get('b')).toBe('B');
  });

  it('without a keyring it refuses like the SecretStore, without asking the shell', async () => {
    const ask = vi.fn(async () => {});
    const mirror = new MirroredSecrets({ availability: { ok: false, reason: NO_KEYRING_REASON }, keys: ['a'], values: [] }, ask);
    await expect(mirror.setMany({ a: 'x' })).rejects.toBeInstanceOf(SecretsRefusedError);
    expect(ask).not.toHaveBeenCalled();
    expect(mirror.get('a')).toBeUndefined();
  });

  it('a refusal from the shell leaves the mirror unchanged', async () => {
    const mirror = new MirroredSecrets({ availability: { ok: true }, keys: [], values: [] }, async () => {
      throw new SecretsRefusedError(NO_KEYRING_REASON);
    });
    await expect(mirror.setMany({ a: 'x' })).rejects.toBeInstanceOf(SecretsRefusedError);
    expect(mirror.keys()).toEqual([]);
  });
});

describe("Electron's utility process adapter", () => {
  it("holds messages until 'spawn', reports the exit code, kill() ends it", () => {
    const handlers = new Map<string, (...args: any[]) => void>();
    const posted: unknown[] = [];
    const proc: UtilityProcessLike & { killed: boolean } = {
      pid: 42,
      killed: false,
      postMessage: (m) => void posted.push(m),
      kill() {
        this.killed = true;
        return true;
      },
      on: (event, listener) => void handlers.set(event, listener),
    };
    const child = utilityChild(proc);
    const exits: unknown[] = [];
    child.onExit((code, signal) => exits.push([code, signal]));
    child.postMessage({ type: 'stop', graceMs: 1 });
    expect(posted).toEqual([]);
    handlers.get('spawn')!();
    expect(posted).toEqual([{ type: 'stop', graceMs: 1 }]);
    child.kill();
    expect(proc.killed).toBe(true);
    handlers.get('exit')!(9);
    expect(exits).toEqual([[9, null]]);
  });
});

describe('the shell reaches a restarted core at its current address', () => {
  it('the tray health is GET /api/health with the current token; nothing is sent while the core is down', async () => {
    const calls: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
    let at: { baseUrl: string; token: string } | null = { baseUrl: 'http://127.0.0.1:40001', token: 'one' };
    const control = new CoreControl({
      fetch: async (url, init) => {
        calls.push({ url, method: init.method, headers: init.headers });
        return { ok: true, status: 200, json: async () => ({ status: 'ok', version: '1', listener: { url: 'x', exposed: false } }) };
      },
      connection: () => at,
      health: () => null,
    });
    await expect(control.health()).resolves.toMatchObject({ status: 'ok' });
    at = { baseUrl: 'http://127.0.0.1:40002', token: 'two' };
    await control.health();
    expect(calls).toEqual([
      { url: 'http://127.0.0.1:40001/api/health', method: 'GET', headers: { authorization: 'Bearer one' } },
      { url: 'http://127.0.0.1:40002/api/health', method: 'GET', headers: { authorization: 'Bearer two' } },
    ]);
    at = null;
    await expect(control.health()).rejects.toThrow('Не удалось узнать состояние Спутника: служба Спутника не запущена');
    await expect(control.syncDocpart()).rejects.toThrow('Не удалось запустить синхронизацию Docpart: служба Спутника не запущена');
    expect(calls).toHaveLength(2);
  });

  it("the window's IPC trusts the origin the core serves at now", () => {
    let origin = 'http://127.0.0.1:40001';
    const on = new Map<string, (event: IpcSyncEvent) => void>();
    registerIpc(
      { on: (channel, l) => on.set(channel, l), handle: () => {} },
      { connection: () => ({ baseUrl: origin, token: 't' }), getAutostart: () => false, setAutostart: () => false, showLogsFolder: async () => {}, appVersion: () => '1', quit: () => {}, coreStatus: () => ({ state: 'ok', line: '', down: false, restart: false }), restartCore: async () => ({ state: 'ok', line: '', down: false, restart: false }) },
      () => origin,
    );
    const ask = (url: string) => {
      const event: IpcSyncEvent & IpcSender = { senderFrame: { url }, returnValue: undefined };
      on.get(IPC.connection)!(event);
      return event.returnValue;
    };
    expect(ask('http://127.0.0.1:40001/')).toEqual({ baseUrl: 'http://127.0.0.1:40001', token: 't' });
    origin = 'http://127.0.0.1:40002';
    expect(ask('http://127.0.0.1:40001/')).toBeNull();
    expect(ask('http://127.0.0.1:40002/')).toEqual({ baseUrl: 'http://127.0.0.1:40002', token: 't' });
  });

  it('the open window loads the login link of the core now serving', async () => {
    let url = 'http://127.0.0.1:40001/?token=one';
    const loaded: string[] = [];
    const win = {
      loadURL: async (u: string) => void loaded.push(u),
      show() {},
      hide() {},
      focus() {},
      isMinimized: () => false,
      restore() {},
      isDestroyed: () => false,
      isMaximized: () => false,
      maximize() {},
      getNormalBounds: () => ({ x: 0, y: 0, width: 800, height: 600 }),
      on() {},
      webContents: { setWindowOpenHandler() {}, on() {} },
    } as unknown as WindowLike;
    const windows = new WindowService({ createWindow: () => win, preloadPath: '/p', url: () => url, openExternal: () => {} });
    await windows.reload();
    expect(loaded).toEqual([]);
    await windows.show();
    url = 'http://127.0.0.1:40002/?token=two';
    await windows.reload();
    expect(loaded).toEqual(['http://127.0.0.1:40001/?token=one', 'http://127.0.0.1:40002/?token=two']);
  });
});
