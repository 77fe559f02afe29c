import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api.ts';
import { errorMessage } from '../hooks.ts';
import type { SettingsView } from '../types.ts';

/**
 * ReGate's tenants (one 1C base each) in the window: list, add, edit, remove, saved as the whole
 * `regate.tenants` list. Passwords are write-only: the page knows only whether one is set, and a
 * blank password field keeps the saved one (the server matches tenants by id, so an id is fixed
 * once saved). ReGate builds its tenants at start, so a save applies after a restart.
 */
type Kind = 'text' | 'url' | 'number' | 'secret';
interface FieldDef {
  key: string;
  label: string;
  kind: Kind;
  hint?: string;
  min?: number;
  max?: number;
}

const FIELDS: FieldDef[] = [
  { key: 'id', label: 'Код базы', kind: 'text', hint: 'латинские буквы, цифры, - и _; у каждой базы свой' },
  { key: 'baseUrl', label: 'Адрес HTTP-сервиса ReGate в 1С', kind: 'url', hint: 'например https://1c.local/base/hs/regate/v1' },
  { key: 'onecUser', label: 'Пользователь 1С', kind: 'text', hint: 'технический пользователь, под которым Спутник вызывает 1С' },
  { key: 'onecPassword', label: 'Пароль пользователя 1С', kind: 'secret' },
  { key: 'user', label: 'Логин для Richest.store', kind: 'text', hint: 'под этим логином Richest.store обращается к этой базе' },
  { key: 'password', label: 'Пароль для Richest.store', kind: 'secret' },
  { key: 'poolSize', label: 'poolSize публикации 1С', kind: 'number', min: 2, max: 200, hint: 'Спутник держит не больше poolSize − 1 одновременных вызовов' },
  { key: 'quotaPerMinute', label: 'Вызовов в минуту, не больше', kind: 'number', min: 1, hint: 'пусто — без ограничения' },
  { key: 'prewarmSeconds', label: 'Прогревать ассортимент раз в, секунд', kind: 'number', min: 0, max: 86400, hint: '0 — не прогревать' },
  { key: 'timeouts.readSeconds', label: 'Ждать ответа 1С на чтение, секунд', kind: 'number', min: 1, max: 600 },
  { key: 'timeouts.writeSeconds', label: 'Ждать ответа 1С на запись, секунд', kind: 'number', min: 1, max: 600 },
];
const NEW_TENANT: Record<string, string> = { poolSize: '10', prewarmSeconds: '0', 'timeouts.readSeconds': '15', 'timeouts.writeSeconds': '60' };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (o: Obj, path: string): unknown => path.split('.').reduce<unknown>((n, k) => (isObj(n) ? n[k] : undefined), o);

interface Row {
  /** React's key: stable while rows are added and removed. */
  key: number;
  /** The saved tenant this row edits (its fields not in the form are sent back as they were), or null when new. */
  stored: Obj | null;
  /** Its index in the saved list: where the view says whether its passwords are set. */
  storedIndex: number | null;
  values: Record<string, string>;
}

function rowsOf(view: SettingsView): Row[] {
  const tenants = view.config.regate?.tenants;
  if (!Array.isArray(tenants)) return [];
  return tenants.filter(isObj).map((t, i) => ({
    key: i,
    stored: t,
    storedIndex: i,
    values: Object.fromEntries(FIELDS.map((f) => [f.key, f.kind === 'secret' ? '' : String(at(t, f.key) ?? '')])),
  }));
}

const snapshot = (rows: Row[]) => JSON.stringify(rows.map((r) => [r.storedIndex, r.values]));

/** The tenant as the API takes it; blanks are left out (a default, or the saved password, applies). */
function toTenant(row: Row): Obj {
  const out: Obj = row.stored ? structuredClone(row.stored) : {};
  const timeouts: Obj = isObj(out.timeouts) ? { ...out.timeouts } : {};
  for (const f of FIELDS) {
    const raw = row.values[f.key] ?? '';
    const v = f.kind === 'secret' ? raw : raw.trim();
    const [head, leaf] = f.key.split('.');
    const target = leaf ? timeouts : out;
    const key = leaf ?? head;
    if (v === '') {
      // Required text left blank is sent blank, so the server names the field; optional numbers fall back.
      if (f.kind === 'text' || f.kind === 'url') target[key] = '';
      else delete target[key];
    } else target[key] = f.kind === 'number' && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  out.timeouts = timeouts;
  return out;
}

function localCheck(rows: Row[]): { row: number; field: string; message: string } | null {
  for (const [i, r] of rows.entries()) {
    for (const f of FIELDS) {
      const v = (r.values[f.key] ?? '').trim();
      if (v === '') continue;
      if (f.kind === 'number' && !/^-?\d+$/.test(v)) return { row: i, field: f.key, message: 'нужно целое число' };
      if (f.kind === 'url' && !/^https?:\/\/[^\s/]+/i.test(v)) return { row: i, field: f.key, message: 'нужен адрес вида https://host или http://127.0.0.1:порт' };
    }
  }
  return null;
}

const FIELD_OF_ERROR = /^regate\.tenants\[(\d+)\]\.(.+)$/;

export function RegateTenants({ view, onSaved, onDirty }: { view: SettingsView; onSaved: (v: SettingsView) => void; onDirty: (dirty: boolean) => void }) {
  const [rows, setRows] = useState<Row[]>(() => rowsOf(view));
  const [initial, setInitial] = useState(() => snapshot(rowsOf(view)));
  const nextKey = useRef(1000);
  const [fieldError, setFieldError] = useState<{ row: number; field: string; message: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const dirty = snapshot(rows) !== initial;
  useEffect(() => onDirty(dirty), [dirty, onDirty]);
  useEffect(() => () => onDirty(false), [onDirty]);
  const enabled = view.config.regate?.enabled === true;
  const id = (row: Row, key: string) => `regate-${row.key}-${key.replace('.', '-')}`;

  const edit = (rowKey: number, field: string, value: string) => {
    setRows((rs) => rs.map((r) => (r.key === rowKey ? { ...r, values: { ...r.values, [field]: value } } : r)));
    setFieldError(null);
    setSaved(null);
  };
  const add = () => {
    const key = nextKey.current++;
    setRows((rs) => [...rs, { key, stored: null, storedIndex: null, values: Object.fromEntries(FIELDS.map((f) => [f.key, NEW_TENANT[f.key] ?? ''])) }]);
    setSaved(null);
    // The new base's first field, once it is on the page.
    requestAnimationFrame(() => document.getElementById(`regate-${key}-id`)?.focus());
  };
  const remove = (rowKey: number) => {
    setRows((rs) => rs.filter((r) => r.key !== rowKey));
    setFieldError(null);
    setSaved(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFieldError(null);
    setFormError(null);
    setSaved(null);
    const local = localCheck(rows);
    if (local) {
      setFieldError(local);
      document.getElementById(id(rows[local.row], local.field))?.focus();
      return;
    }
    setBusy(true);
    try {
      const next = await api.saveSettings({ regate: { tenants: rows.map(toTenant) } });
      onSaved(next);
      const fresh = rowsOf(next);
      setRows(fresh);
      setInitial(snapshot(fresh));
      setSaved(next.restartRequired ? 'Сохранено. ReGate применит изменения после перезапуска Спутника.' : 'Сохранено, изменений не было.');
    } catch (err) {
      const m = err instanceof ApiError && err.field ? FIELD_OF_ERROR.exec(err.field) : null;
      const row = m ? rows[Number(m[1])] : undefined;
      if (m && row && FIELDS.some((f) => f.key === m[2])) {
        setFieldError({ row: Number(m[1]), field: m[2], message: errorMessage(err) });
        document.getElementById(id(row, m[2]))?.focus();
      } else setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel settings-form regate-tenants" aria-labelledby="regate-tenants-title" onSubmit={(e) => void submit(e)} noValidate>
      <h3 id="regate-tenants-title">ReGate: базы 1С для Richest.store</h3>
      <p className="muted small">
        {enabled ? 'ReGate включён.' : 'ReGate выключен (regate.enabled в файле настроек): базы сохранятся, но шлюз не работает.'} Адрес, порт и
        сертификат ReGate задаются в файле настроек. ReGate применяет изменения после перезапуска Спутника.
      </p>
      {rows.length === 0 && <p className="muted">Баз пока нет.</p>}
      {rows.map((row, i) => {
        const title = row.stored ? `База «${String(row.stored.id)}»` : 'Новая база';
        return (
          <fieldset key={row.key} className="tenant" aria-label={title}>
            <legend>{title}</legend>
            <div className="tenant-fields">
              {FIELDS.map((f) => {
                const err = fieldError?.row === i && fieldError.field === f.key ? fieldError.message : null;
                const isSet = f.kind === 'secret' && row.storedIndex !== null && view.secrets?.[`regate.tenants.${row.storedIndex}.${f.key}`] === true;
                const fixedId = f.key === 'id' && row.stored !== null;
                const hint = f.kind === 'secret' ? (isSet ? 'задан; оставьте пустым, чтобы не менять' : 'не задан') : fixedId ? 'не меняется; для другого кода уберите базу и добавьте заново' : f.hint;
                const describedBy = [err ? `${id(row, f.key)}-err` : '', hint ? `${id(row, f.key)}-hint` : ''].filter(Boolean).join(' ') || undefined;
                return (
                  <div key={f.key} className={`field ${err ? 'field-invalid' : ''}`}>
                    <label htmlFor={id(row, f.key)}>{f.label}</label>
                    <input
                      id={id(row, f.key)}
                      type={f.kind === 'secret' ? 'password' : f.kind === 'number' ? 'number' : f.kind === 'url' ? 'url' : 'text'}
                      inputMode={f.kind === 'number' ? 'numeric' : undefined}
                      min={f.min}
                      max={f.max}
                      readOnly={fixedId}
                      autoComplete={f.kind === 'secret' ? 'new-password' : 'off'}
                      spellCheck={false}
                      value={row.values[f.key] ?? ''}
                      placeholder={f.kind === 'secret' ? (isSet ? 'задан' : 'не задан') : undefined}
                      onChange={(e) => edit(row.key, f.key, e.target.value)}
                      aria-invalid={err ? true : undefined}
                      aria-describedby={describedBy}
                    />
                    {hint && (
                      <div id={`${id(row, f.key)}-hint`} className="field-hint muted">
                        {hint}
                      </div>
                    )}
                    {err && (
                      <div id={`${id(row, f.key)}-err`} className="field-error" role="alert">
                        {err}
                      </div>
                    )}
                  </div>
                );
              })}
            </div>
            <button type="button" className="tenant-remove" onClick={() => remove(row.key)}>
              Убрать базу{row.stored ? ` «${String(row.stored.id)}»` : ''}
            </button>
          </fieldset>
        );
      })}
      <div className="form-actions">
        <button type="button" onClick={add}>
          Добавить базу
        </button>
        <button type="submit" className="primary" disabled={busy}>
          Сохранить базы ReGate
        </button>
        {dirty && !busy && <span className="unsaved">Есть несохранённые изменения</span>}
        {saved && (
          <span className="ok-text" role="status">
            {saved}
          </span>
        )}
      </div>
      {formError && (
        <div className="error" role="alert">
          {formError}
        </div>
      )}
    </form>
  );
}
