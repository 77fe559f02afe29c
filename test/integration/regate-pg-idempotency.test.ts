import { describe, expect, it } from 'vitest';
import type { PgStore } from '../../main/regate/postgres/connection.ts';
import { fingerprint, PgIdempotency } from '../../main/regate/postgres/idempotency.ts';
import { until, usePostgres } from '../helpers/regate-pg.ts';

const write = (key: string, body = '{"n":1}', orderKey = 'client-1') => ({ tenant: 'shop', key, method: 'POST', path: '/bookings', body, orderKey, methodName: 'bookings.create' });

/** PostgreSQL's clock has passed `at` (epoch ms): leases are judged by it, so the test waits on it too. */
const pgPassed = (store: PgStore, at: number) => async () => (await store.query<{ ok: boolean }>('SELECT clock_timestamp() > $1 AS ok', [new Date(at)])).rows[0].ok;

describe('ReGate on PostgreSQL: writes by Idempotency-Key shared by the instances', () => {
  const pg = usePostgres();

  it('new, replay, in progress and mismatch as on SQLite, with the same fingerprint', async () => {
    const db = await pg.freshDatabase('idem_semantics');
    const idem = new PgIdempotency(db.open(), { instanceId: 'a' });
    // What the SQLite store's fingerprint gives for the same requests (a key is judged alike on both stores).
    expect(fingerprint('POST', '/bookings', '{"n":1}')).toBe('8e1713e910125de453fbca8f05bbc203f94004285c646a5b9e9d285a311cbdb1');
    expect(fingerprint('POST', '/bookings', null)).toBe('0fda213eac1d0e47af5d1802f306d2919189fedc0e72b7cf2a0e5651bf01469b');

    const first = await idem.begin(write('k1'));
    expect(first.kind).toBe('new');
    expect(first.record).toMatchObject({ tenant: 'shop', key: 'k1', method: 'POST', method_name: 'bookings.create', state: 'running', owner: 'a', order_key: 'client-1', body: '{"n":1}' });
    expect(first.record.lease_until).toBeGreaterThan(first.record.created_at);
    expect((await idem.begin(write('k1'))).kind).toBe('in_progress');
    expect((await idem.begin(write('k1', '{"n":2}'))).kind).toBe('mismatch');

    await idem.finish(first.record.id, 'done', 201, { order: 'ЗК-1' });
    const again = await idem.begin(write('k1'));
    expect(again.kind).toBe('replay');
    expect(again.record).toMatchObject({ state: 'done', status: 201, owner: null, lease_until: null });
    expect(JSON.parse(again.record.answer!)).toEqual({ order: 'ЗК-1' });
    expect((await idem.begin(write('k1', '{"n":2}'))).kind).toBe('mismatch');

    // Another tenant's same key is another write.
    expect((await idem.begin({ ...write('k1'), tenant: 'other' })).kind).toBe('new');
    // Forgotten: the key is free for a retry.
    const second = await idem.begin(write('k2'));
    await idem.forget(second.record.id);
    expect((await idem.begin(write('k2'))).kind).toBe('new');
    expect(await idem.openCounts()).toEqual(new Map([['shop', 1], ['other', 1]]));
  });

  it('a key older than the TTL is free again, and prune forgets finished ones only', async () => {
    const db = await pg.freshDatabase('idem_ttl');
    const idem = new PgIdempotency(db.open(), { instanceId: 'a', ttlMs: 300 });
    const done = await idem.begin(write('old'));
    await idem.finish(done.record.id, 'done', 200, { ok: true });
    const running = await idem.begin(write('still-running'));
    await until(async () => (await idem.begin(write('old', '{"other":true}'))).kind === 'new', 'the expired key to be free');
    const finished = await idem.begin(write('to-prune'));
    await idem.finish(finished.record.id, 'failed', 409, { problem: 'x' });
    await until(async () => (await idem.prune()) > 0 && (await idem.get(finished.record.id)) === undefined, 'prune');
    expect(await idem.get(running.record.id)).toMatchObject({ state: 'running' });
  });

  it('the same key sent to three instances at once makes exactly one new write', async () => {
    const db = await pg.freshDatabase('idem_race');
    const instances = ['a', 'b', 'c'].map((id) => new PgIdempotency(db.open({ max: 20 }), { instanceId: id }));
    for (let round = 0; round < 30; round++) {
      const key = `race-${round}`;
      // Each instance sends the key several times at once, the third instance once with another body.
      const inputs = instances.flatMap((i, n) => [0, 1, 2].map((m) => ({ i, input: write(key, n === 2 && m === 2 ? '{"n":9}' : '{"n":1}') })));
      const results = await Promise.all(inputs.map(({ i, input }) => i.begin(input)));
      expect(results.filter((r) => r.kind === 'new')).toHaveLength(1);
      const winner = results.find((r) => r.kind === 'new')!.record;
      results.forEach((r, n) => {
        expect(r.record.id).toBe(winner.id);
        if (r.kind === 'new') return;
        const same = fingerprint('POST', '/bookings', inputs[n].input.body) === winner.fingerprint;
        expect(r.kind).toBe(same ? 'in_progress' : 'mismatch');
      });
      const { rows } = await db.stores[1].query('SELECT count(*)::int AS n FROM regate_requests WHERE key = $1', [key]);
      expect(rows[0].n).toBe(1);
    }
  }, 60_000);

  it('a new write is recorded and its line checked in one statement; of one line\'s writes begun together on three instances, only one instance finds it free', async () => {
    const db = await pg.freshDatabase('idem_line');
    const stores = [db.open(), db.open(), db.open()];
    const statements: string[] = [];
    const query = stores[0].query.bind(stores[0]);
    stores[0].query = ((text: string, params?: unknown[]) => (statements.push(text), query(text, params))) as PgStore['query'];
    const [a, b, c] = stores.map((s, i) => new PgIdempotency(s, { instanceId: `i${i}` }));
    const alone = await a.begin(write('alone', '{"n":0}', 'client-alone'));
    expect([alone.kind, alone.lineBusy, statements.length]).toEqual(['new', false, 1]); // the old code: no answer, asked in a second statement
    // Another instance's write of the line is running: busy; this instance's own: not.
    expect((await b.begin(write('alone-b', '{"n":0}', 'client-alone'))).lineBusy).toBe(true);
    expect((await a.begin(write('alone-a', '{"n":0}', 'client-alone'))).lineBusy).toBe(true); // b's is running now
    // Thirty at once on one fresh line, spread over the instances.
    const begun = await Promise.all(Array.from({ length: 30 }, (_, n) => [a, b, c][n % 3].begin(write(`t${n}`, `{"n":${n}}`, 'client-together'))));
    expect(begun.every((x) => x.kind === 'new' && typeof x.lineBusy === 'boolean')).toBe(true);
    const free = begun.filter((x) => x.lineBusy === false);
    expect(free.length).toBeGreaterThan(0);
    expect(new Set(free.map((x) => x.record.owner)).size).toBe(1);
  });

  it('a write is taken over only after its owner stopped renewing, never while the owner lives', async () => {
    const db = await pg.freshDatabase('idem_takeover');
    const leaseMs = 1000; // renewed every third: a live owner has two thirds of it to spare on a busy machine
    const owner = new PgIdempotency(db.open(), { instanceId: 'owner', leaseMs });
    const other = new PgIdempotency(db.open(), { instanceId: 'other', leaseMs });
    const third = new PgIdempotency(db.open(), { instanceId: 'third', leaseMs });
    const begun = await Promise.all(['w1', 'w2', 'w3'].map((k) => owner.begin(write(k, '{}', k))));
    const ids = begun.map((b) => b.record.id).sort((a, b) => a - b);

    // Alive: a whole lease past the first one passes by PostgreSQL time, the others keep trying, nothing is taken.
    /** Writes `other` and `third` take over while PostgreSQL's clock passes a lease beyond `leaseEnd`. */
    const takenWithin = async (leaseEnd: number, what: string) => {
      let taken = 0;
      await until(async () => {
        taken += (await other.takeOver()).length + (await third.takeOver()).length;
        return pgPassed(db.stores[0], leaseEnd + leaseMs)();
      }, what);
      return taken;
    };
    const firstLease = Math.max(...begun.map((b) => b.record.lease_until!));
    expect(await takenWithin(firstLease, 'a lease past the first one')).toBe(0);
    const live = await Promise.all(ids.map((id) => other.get(id)));
    expect(live.map((r) => r?.owner)).toEqual(['owner', 'owner', 'owner']);

    // The owner dies: no release, no renewal. After its lease another instance takes each write, once.
    owner.close();
    await db.stores[1].close();
    const got: number[] = [];
    const byThird: number[] = [];
    await until(async () => {
      got.push(...(await other.takeOver()).map((r) => r.id));
      byThird.push(...(await third.takeOver()).map((r) => r.id));
      return got.length + byThird.length === 3;
    }, 'the takeover');
    expect([...got, ...byThird].sort((a, b) => a - b)).toEqual(ids);
    for (const id of got) expect(await other.get(id)).toMatchObject({ state: 'running', owner: 'other' });
    for (const id of byThird) expect(await other.get(id)).toMatchObject({ state: 'running', owner: 'third' });
    // The new owners keep them: they renew by themselves, nobody takes them again.
    const leased = Math.max(...(await Promise.all(ids.map((id) => other.get(id)))).map((r) => r!.lease_until!));
    expect(await takenWithin(leased, 'a lease past the new ones')).toBe(0);
    // Finishing one ends its renewal; the taken-over write keeps its request id (the key) for 1C.
    const [taker, id] = got.length > 0 ? [other, got[0]] : [third, byThird[0]];
    await taker.finish(id, 'done', 201, { ok: 1 });
    expect(taker.sending).not.toContain(id);
    expect((await taker.get(id))!.key).toBe(begun.find((b) => b.record.id === id)!.record.key);
    other.close();
    third.close();
  }, 60_000);

  it('renew keeps only the writes still ours', async () => {
    const db = await pg.freshDatabase('idem_renew');
    const a = new PgIdempotency(db.open(), { instanceId: 'a', leaseMs: 60_000 });
    const x = await a.begin(write('x'));
    const y = await a.begin(write('y'));
    // y went to the queue on another instance meanwhile (no longer running here).
    await db.stores[0].query(`UPDATE regate_requests SET state = 'queued', owner = NULL WHERE id = $1`, [y.record.id]);
    expect(await a.renew()).toBe(1);
    expect(a.sending).toEqual([x.record.id]);
  });
});
