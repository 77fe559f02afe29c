import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, LimiterTimeout } from '../../main/regate/limiter.ts';
import { ReadCache } from '../../main/regate/cache.ts';
import { RegateProblem, unreadable } from '../../main/regate/problem.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ReGate concurrency limiter', () => {
  it('never lets more than poolSize − 1 calls into 1C, even with 300 callers', async () => {
    const l = new ConcurrencyLimiter({ poolSize: 10 });
    let inside = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const release = await l.acquire(i % 3 ? 'read' : 'write');
        inside++;
        peak = Math.max(peak, inside);
        await new Promise((r) => setTimeout(r, 1 + (i % 5)));
        inside--;
        release('ok');
      }),
    );
    expect(peak).toBe(9);
    expect(l.maxInFlight).toBe(9);
    expect(l.inFlight).toBe(0);
  });

  it('backs off ×0.9 on overload and grows +1 back when calls succeed with half the limit in use', async () => {
    const l = new ConcurrencyLimiter({ poolSize: 11 });
    expect(l.limit).toBe(10);
    for (let i = 0; i < 5; i++) (await l.acquire('read'))('overload');
    expect(l.limit).toBe(5); // 10 × 0.9^5 = 5.9
    const releases = await Promise.all(Array.from({ length: 5 }, () => l.acquire('read')));
    for (const r of releases) r('ok');
    expect(l.limit).toBeGreaterThan(5);
    expect(l.limit).toBeLessThanOrEqual(10);
  });

  it('writes of one client run one at a time and in the order they came; others pass them', async () => {
    const l = new ConcurrencyLimiter({ poolSize: 10 });
    const order: string[] = [];
    const a1 = await l.acquire('write', { key: 'client:A' });
    const a2p = l.acquire('write', { key: 'client:A' }).then((r) => (order.push('A2'), r));
    const bp = l.acquire('write', { key: 'client:B' }).then((r) => (order.push('B'), r));
    await tick();
    expect(order).toEqual(['B']);
    a1('ok');
    const a2 = await a2p;
    expect(order).toEqual(['B', 'A2']);
    a2('ok');
    (await bp)('ok');
  });

  it('a queue of writes cannot starve reads: freed slots go to reads up to their share (30 %)', async () => {
    const l = new ConcurrencyLimiter({ poolSize: 11 }); // limit 10: writes 7, reads 3 when both wait
    const writes = await Promise.all(Array.from({ length: 10 }, () => l.acquire('write'))); // idle reads: writes may borrow
    const started: string[] = [];
    const queuedWrites = Array.from({ length: 5 }, (_, i) => l.acquire('write').then((r) => (started.push(`w${i}`), r)));
    const queuedReads = Array.from({ length: 3 }, (_, i) => l.acquire('read').then((r) => (started.push(`r${i}`), r)));
    for (const w of writes.slice(0, 3)) w('ok');
    await tick();
    expect(started).toEqual(['r0', 'r1', 'r2']); // the writes that came first still wait: the write share (7) is full
    for (const w of writes.slice(3)) w('ok');
    for (const r of await Promise.all(queuedReads)) r('ok');
    for (const w of await Promise.all(queuedWrites)) w('ok');
    expect(started.slice(3).sort()).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('a caller that waits too long gets LimiterTimeout (the gateway answers 503 or 202)', async () => {
    const l = new ConcurrencyLimiter({ poolSize: 2 });
    const held = await l.acquire('read');
    await expect(l.acquire('read', { waitMs: 20 })).rejects.toBeInstanceOf(LimiterTimeout);
    held('ok');
    expect(l.queued).toBe(0);
  });
});

describe('ReGate read cache', () => {
  const policy = { freshMs: 1000, staleMs: 10_000, staleIfErrorMs: 60_000 };

  it('identical concurrent misses share one 1C call', async () => {
    const c = new ReadCache<number>();
    let calls = 0;
    const load = async () => (calls++, await new Promise((r) => setTimeout(r, 20)), 42);
    const got = await Promise.all(Array.from({ length: 50 }, () => c.get('k', policy, load)));
    expect(calls).toBe(1);
    expect(got.every((g) => g.value === 42)).toBe(true);
  });

  it('fresh → served without a call; stale → served at once and refreshed in the background; 1C failing → stale if error, else the error', async () => {
    const clock = { t: 0 };
    const c = new ReadCache<string>({ now: () => clock.t });
    let calls = 0;
    let fail = false;
    const load = async () => {
      calls++;
      if (fail) throw new Error('1C down');
      return `v${calls}`;
    };
    expect((await c.get('k', policy, load)).state).toBe('miss');
    clock.t = 500;
    expect(await c.get('k', policy, load)).toMatchObject({ value: 'v1', state: 'fresh' });
    expect(calls).toBe(1);
    clock.t = 5000;
    expect(await c.get('k', policy, load)).toMatchObject({ value: 'v1', state: 'stale' });
    await tick();
    expect(calls).toBe(2);
    expect(await c.get('k', policy, load)).toMatchObject({ value: 'v2', state: 'fresh' });
    fail = true;
    clock.t = 30_000; // past fresh + stale: a call is needed, it fails, the old answer is served
    expect(await c.get('k', policy, load)).toMatchObject({ value: 'v2', state: 'stale' });
    clock.t = 100_000; // past stale-if-error: the error goes to the caller
    await expect(c.get('k', policy, load)).rejects.toThrow('1C down');
    expect(c.hitRate).toBeGreaterThan(0);
  });

  it('fresh(): a fresh answer at once, counted as a hit as get() counts it; nothing for a stale, missing or forgotten one', async () => {
    const clock = { t: 0 };
    const c = new ReadCache<string>({ now: () => clock.t });
    expect(c.fresh('k', policy)).toBeUndefined();
    await c.get('k', policy, async () => 'v1');
    expect(c.fresh('k', policy)).toEqual({ value: 'v1', storedAt: 0, state: 'fresh' });
    expect([c.hits, c.misses]).toEqual([1, 1]);
    clock.t = policy.freshMs + 1;
    expect(c.fresh('k', policy)).toBeUndefined(); // stale: get() serves it and refreshes it
    expect([c.hits, c.misses]).toEqual([1, 1]);
    clock.t = 0;
    c.delete('k');
    expect(c.fresh('k', policy)).toBeUndefined();
  });
});

describe('ReGate problems', () => {
  it('RFC 9457 body with a Russian detail; an unreadable 1C answer is 502 with its first 500 characters', () => {
    const p = new RegateProblem(503, 'onec_unavailable', '1С недоступна', 'База 1С не отвечает; повторите позже', { retryAfterSeconds: 30 });
    expect(p.toBody('r-1')).toEqual({ type: 'https://sputnik.local/regate/problems/onec_unavailable', title: '1С недоступна', status: 503, detail: 'База 1С не отвечает; повторите позже', code: 'onec_unavailable', retryable: true, requestId: 'r-1' });
    const u = unreadable('\uFEFF' + 'Ошибка '.repeat(200), 500);
    expect(u.status).toBe(502);
    expect(u.message.length).toBeLessThan(560);
    expect(u.message).toContain('HTTP 500');
  });
});
