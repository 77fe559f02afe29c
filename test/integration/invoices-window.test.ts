import { describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { paykeeperModule } from '../../main/connectors/paykeeper/index.ts';
import { startFakePayKeeper } from '../../main/sandbox/paykeeper/fake.ts';
import { startTestCore, type TestCore } from '../helpers/core.ts';

/**
 * The accountant's invoices in the window (docs/admin-api.md): the list, its total and the export
 * hold the same rows for any period, state and search; a bad or reversed period is refused by name.
 * The store's clock is injected: every invoice is created on a known local day, whatever today is.
 */
const localNoon = (y: number, m: number, d: number) => new Date(y, m - 1, d, 12, 0, 0).getTime();

async function setup() {
  const fake = await startFakePayKeeper({ user: 'u', password: 'p' });
  const clock = { t: localNoon(2026, 11, 15) };
  const t = await startTestCore({
    config: { paykeeper: { enabled: true, baseUrl: fake.url, user: 'u', password: 'p' } },
    modules: [paykeeperModule],
    outbox: { now: () => clock.t },
  });
  const issue = async (orderId: string, amount: string, clientId: string, send = true) => {
    const r = await t.api('/v1/invoices?wait=10', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId, amount, email: 'a@b.ru', clientId, send }) });
    expect(r.status).toBe(200);
    return (await r.json()) as { invoiceId: string; state: string };
  };
  // November: two for Петров (one paid), one prepared without e-mail, one on another day; December: one more.
  await issue('N-1', '100.10', 'Петров Пётр');
  await issue('N-2', '200.20', 'Иванова Анна', false);
  const paid = await issue('N-3', '300.30', 'ПЕТРОВ П. П.');
  fake.pay(paid.invoiceId);
  clock.t += 61_000; // the stored status is stale: the next GET asks PayKeeper
  expect(((await (await t.api('/v1/invoices/N-3')).json()) as { state: string }).state).toBe('paid');
  clock.t = localNoon(2026, 11, 20);
  await issue('N-4', '400.40', 'Сидоров');
  clock.t = localNoon(2026, 12, 1);
  await issue('D-1', '5000.00', 'Петров Пётр');
  return { t };
}

const ui = (t: TestCore, path: string) => fetch(`${t.uiUrl}${path.replace(/^\//, '')}`, { headers: { Authorization: `Bearer ${t.uiToken}` } });
const qs = (q: Record<string, string>) => new URLSearchParams(q).toString();

interface ListAnswer {
  invoices: Array<{ orderId: string; amount: string }>;
  total: number;
  totals: { count: number; amount: string; paid: { count: number; amount: string } };
}

/** The body as written, BOM included (Response.text() drops it). */
const text = async (r: Response) => Buffer.from(await r.arrayBuffer()).toString('utf8');

/** The CSV's data rows (up to the blank line) and its totals lines, cells split on «;». */
function readCsv(text: string): { ids: string[]; totals: string[][] } {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const lines = text.slice(1).split('\r\n');
  const blank = lines.indexOf('');
  return { ids: lines.slice(1, blank).map((l) => l.split(';')[0]), totals: lines.slice(blank + 1).filter(Boolean).map((l) => l.split(';')) };
}

/** The XLSX's data rows (up to the blank row) and the rows under it, as cell values. */
async function readXlsx(bytes: ArrayBuffer): Promise<{ ids: string[]; totals: unknown[][] }> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(bytes) as never);
  const ws = wb.worksheets[0];
  const rows: unknown[][] = [];
  ws.eachRow({ includeEmpty: true }, (row) => rows.push((row.values as unknown[]).slice(1)));
  const blank = rows.findIndex((r, i) => i > 0 && r.every((v) => v == null));
  return { ids: rows.slice(1, blank).map((r) => String(r[0])), totals: rows.slice(blank + 1) };
}

describe('invoices in the window: list, total and export agree', () => {
  it('the export holds exactly the listed rows for the period, state and search, with the total of the screen', async () => {
    const { t } = await setup();
    const november = { from: '2026-11-01', to: '2026-11-30' };

    const all = (await (await ui(t, `/api/invoices?${qs(november)}`)).json()) as ListAnswer;
    expect(all.invoices.map((i) => i.orderId).sort()).toEqual(['N-1', 'N-2', 'N-3', 'N-4']);
    expect(all.totals).toEqual({ count: 4, amount: '1001.00', paid: { count: 1, amount: '300.30' } });
    expect(all.total).toBe(4);

    const cases: Array<Record<string, string>> = [
      {},
      { state: 'paid' },
      { state: 'sent' },
      { q: 'петров' },
      { q: 'петров', state: 'sent' },
      { from: '2026-11-16', to: '2026-12-31' },
      { q: 'нет-такого' },
    ];
    for (const c of cases) {
      const query = { ...november, ...c };
      const list = (await (await ui(t, `/api/invoices?${qs(query)}`)).json()) as ListAnswer;
      const listed = list.invoices.map((i) => i.orderId).sort();

      const csvAnswer = await ui(t, `/api/invoices/export?${qs({ ...query, format: 'csv' })}`);
      expect(csvAnswer.status).toBe(200);
      const csv = readCsv(await text(csvAnswer));
      expect(csv.ids.sort(), JSON.stringify(c)).toEqual(listed);
      const [sum, paid, filter] = csv.totals;
      expect(sum[0]).toBe('Итого');
      expect(sum[3]).toBe(list.totals.amount.replace('.', ','));
      expect(paid[0]).toBe('из них оплачено');
      expect(paid[3]).toBe(list.totals.paid.amount.replace('.', ','));
      expect(filter[0]).toBe('Отбор');

      const xlsxAnswer = await ui(t, `/api/invoices/export?${qs({ ...query, format: 'xlsx' })}`);
      expect(xlsxAnswer.status).toBe(200);
      const xlsx = await readXlsx(await xlsxAnswer.arrayBuffer());
      expect(xlsx.ids.sort(), JSON.stringify(c)).toEqual(listed);
      expect(xlsx.totals[0].slice(0, 4)).toEqual(['Итого', expect.stringMatching(new RegExp(`^${list.totals.count} сч`)), undefined, Number(list.totals.amount)]);
      expect(xlsx.totals[1].slice(0, 4)).toEqual(['из них оплачено', expect.stringMatching(new RegExp(`^${list.totals.paid.count} сч`)), undefined, Number(list.totals.paid.amount)]);
    }

    // What the file was filtered by is written under its totals, and the state is in its name.
    const paidCsv = await ui(t, `/api/invoices/export?${qs({ ...november, state: 'paid', q: 'Петров', format: 'csv' })}`);
    expect(decodeURIComponent(paidCsv.headers.get('content-disposition')!)).toContain('Счета PayKeeper 2026-11-01 — 2026-11-30 (оплачен).csv');
    const { totals } = readCsv(await text(paidCsv));
    expect(totals[0].slice(0, 4)).toEqual(['Итого', '1 счёт', '', '300,30']);
    expect(totals[2][1]).toBe('01.11.2026 — 30.11.2026, состояние «оплачен», поиск «петров»');
  });

  it('a bad or reversed period is refused with 422 naming the field, for the list and the export alike', async () => {
    const { t } = await setup();
    for (const path of ['/api/invoices', '/api/invoices/export']) {
      const reversed = await ui(t, `${path}?${qs({ from: '2026-11-30', to: '2026-11-01' })}`);
      expect(reversed.status, path).toBe(422);
      const r = ((await reversed.json()) as { error: { field: string; message: string } }).error;
      expect(r.field).toBe('to');
      expect(r.message).toBe('Поле «По»: конец периода 01.11.2026 раньше его начала 30.11.2026');

      const bad = await ui(t, `${path}?${qs({ from: '31.02.2026', to: '2026-11-30' })}`);
      expect(bad.status, path).toBe(422);
      const b = ((await bad.json()) as { error: { field: string; message: string } }).error;
      expect(b.field).toBe('from');
      expect(b.message).toMatch(/^Поле «С»: «31\.02\.2026» — не дата/);

      const half = await ui(t, `${path}?${qs({ from: '2026-11-01', to: '30.11.20' })}`);
      expect(half.status, path).toBe(422);
      expect(((await half.json()) as { error: { field: string } }).error.field).toBe('to');
    }
    // A field the operator cleared is sent empty: «не заполнено», not an open period.
    const cleared = await ui(t, `/api/invoices?from=&to=2026-11-30`);
    expect(cleared.status).toBe(422);
    expect(((await cleared.json()) as { error: { field: string; message: string } }).error).toEqual({ code: 'invalid_value', field: 'from', message: 'Поле «С» не заполнено: укажите первый день периода' });
    const noPeriod = await ui(t, `/api/invoices/export?format=csv`);
    expect(noPeriod.status).toBe(422);
    expect(((await noPeriod.json()) as { error: { field: string; message: string } }).error).toMatchObject({ field: 'from', message: expect.stringMatching(/^Поле «С» не заполнено/) });
  });
});
