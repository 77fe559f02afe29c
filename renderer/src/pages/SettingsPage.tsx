import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api.ts';
import { CopyButton, ErrorBox, Loading } from '../components/ui.tsx';
import { errorMessage, useLeaveGuard, useResource } from '../hooks.ts';
import { useUi } from '../store.ts';
import { MODULE_SETTINGS } from '../modules.tsx';
import type { SettingsSectionMeta, SettingsView, TestResult } from '../types.ts';
import './settings.css';

/** A section and its fields as the service describes them (GET /api/meta: order, labels, kinds, bounds). */
type SectionDef = SettingsSectionMeta;

type Values = Record<string, string | boolean>;

function getPath(obj: unknown, path: string): unknown {
  let node = obj;
  for (const k of path.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
  return node;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = obj;
  for (const k of parts.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

/** Secrets are write-only: the view says only whether one is set (`secrets` map or `{set: true}`). */
function secretIsSet(view: SettingsView, path: string): boolean {
  if (view.secrets && path in view.secrets) return view.secrets[path] === true;
  const v = getPath(view.config, path);
  return (typeof v === 'object' && v !== null && (v as { set?: unknown }).set === true) || (typeof v === 'string' && v !== '');
}

function initialValues(section: SectionDef, view: SettingsView): Values {
  const out: Values = {};
  for (const f of section.fields) {
    const v = getPath(view.config, `${section.name}.${f.key}`);
    if (f.kind === 'bool') out[f.key] = v === true;
    else if (f.kind === 'secret') out[f.key] = '';
    else out[f.key] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/** The section's patch: blanks stay out (the saved value is kept), a secret only when typed. */
function toPatch(section: SectionDef, values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of section.fields) {
    const v = values[f.key];
    if (f.kind === 'bool') setPath(out, f.key, v === true);
    else if (typeof v === 'string' && v.trim() !== '') setPath(out, f.key, f.kind === 'number' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : f.kind === 'secret' ? v : v.trim());
  }
  return out;
}

/** A quick check before the round trip; the server's 422 stays the source of truth. */
function localCheck(section: SectionDef, values: Values): { field: string; message: string } | null {
  for (const f of section.fields) {
    const v = values[f.key];
    if (typeof v !== 'string' || v.trim() === '') continue;
    if (f.kind === 'number') {
      const n = Number(v.trim());
      // Ranges are the server's to judge (its 422 names the field); only a non-number is caught here.
      if (!Number.isInteger(n)) return { field: f.key, message: 'нужно целое число' };
    }
    if (f.kind === 'url' && !/^https?:\/\/[^\s/]+/i.test(v.trim())) return { field: f.key, message: 'нужен адрес вида https://host или http://127.0.0.1:порт' };
  }
  return null;
}

/** Saved credentials the connector is using were refused: it is paused until its settings change. */
function SavedRefused({ name }: { name: string }) {
  const connector = useUi((s) => s.health?.connectors?.[name]);
  if (connector?.state !== 'paused' || !connector.lastError || connector.lastError.code === 'paused_by_operator') return null;
  return (
    <div className="settings-refused" role="alert">
      <strong>Отправка приостановлена до изменения настроек.</strong> Сохранённые настройки не приняты: {connector.lastError.message}
    </div>
  );
}

function SectionForm({ section, view, onSaved, onDirty }: { section: SectionDef; view: SettingsView; onSaved: (v: SettingsView) => void; onDirty: (dirty: boolean) => void }) {
  const [values, setValues] = useState<Values>(() => initialValues(section, view));
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [test, setTest] = useState<{ busy: boolean; result: TestResult | null }>({ busy: false, result: null });
  // Which check is current: an edit makes a running one's answer stale, so it is dropped.
  const testRun = useRef(0);
  const id = (key: string) => `set-${section.name}-${key.replace('.', '-')}`;
  const dirty = JSON.stringify(values) !== JSON.stringify(initialValues(section, view));
  useEffect(() => onDirty(dirty), [dirty, onDirty]);
  useEffect(() => () => onDirty(false), [onDirty]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFieldError(null);
    setFormError(null);
    setSaved(null);
    const local = localCheck(section, values);
    if (local) {
      setFieldError(local);
      document.getElementById(id(local.field))?.focus();
      return;
    }
    setBusy(true);
    try {
      const next = await api.saveSettings({ [section.name]: toPatch(section, values) });
      onSaved(next);
      setValues(initialValues(section, next));
      setSaved(next.restartRequired ? 'Сохранено. Изменение вступит в силу после перезапуска Спутника.' : 'Сохранено');
      void useUi.getState().refreshHealth();
    } catch (err) {
      const prefix = `${section.name}.`;
      if (err instanceof ApiError && err.field?.startsWith(prefix) && section.fields.some((f) => f.key === err.field!.slice(prefix.length))) {
        const key = err.field.slice(prefix.length);
        setFieldError({ field: key, message: err.message });
        document.getElementById(id(key))?.focus();
      } else setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const runTest = async () => {
    const run = ++testRun.current;
    setTest({ busy: true, result: null });
    let result: TestResult;
    try {
      result = await api.testConnection(section.name, toPatch(section, values));
    } catch (err) {
      result = { ok: false, message: errorMessage(err) };
    }
    if (run === testRun.current) setTest({ busy: false, result });
  };

  const set = (key: string, v: string | boolean) => {
    setValues({ ...values, [key]: v });
    if (fieldError?.field === key) setFieldError(null);
    setSaved(null);
    // The check was of the values before this edit: its answer no longer says anything.
    testRun.current++;
    setTest({ busy: false, result: null });
  };

  return (
    <form className="panel settings-form" aria-labelledby={`${id('title')}`} onSubmit={(e) => void submit(e)} noValidate>
      <h3 id={id('title')}>{section.title}</h3>
      {section.testable && <SavedRefused name={section.name} />}
      {section.fields.map((f) => {
        const err = fieldError?.field === f.key ? fieldError.message : null;
        const fromEnv = view.fromEnv?.includes(`${section.name}.${f.key}`);
        const describedBy = [err ? `${id(f.key)}-err` : '', f.hint || f.kind === 'secret' ? `${id(f.key)}-hint` : ''].filter(Boolean).join(' ') || undefined;
        if (f.kind === 'bool') {
          return (
            <div key={f.key} className="field field-check">
              <label htmlFor={id(f.key)}>
                <input id={id(f.key)} type="checkbox" checked={values[f.key] === true} onChange={(e) => set(f.key, e.target.checked)} aria-describedby={describedBy} /> {f.label}
              </label>
              {err && (
                <div id={`${id(f.key)}-err`} className="field-error" role="alert">
                  {err}
                </div>
              )}
            </div>
          );
        }
        const isSet = f.kind === 'secret' && secretIsSet(view, `${section.name}.${f.key}`);
        return (
          <div key={f.key} className={`field ${err ? 'field-invalid' : ''}`}>
            <label htmlFor={id(f.key)}>{f.label}</label>
            <input
              id={id(f.key)}
              name={`${section.name}.${f.key}`}
              type={f.kind === 'secret' ? 'password' : f.kind === 'number' ? 'number' : f.kind === 'url' ? 'url' : 'text'}
              inputMode={f.kind === 'number' ? 'numeric' : undefined}
              min={f.min}
              max={f.max}
              autoComplete={f.kind === 'secret' ? 'new-password' : 'off'}
              spellCheck={false}
              value={String(values[f.key] ?? '')}
              placeholder={f.kind === 'secret' ? (isSet ? 'задан; введите новый, чтобы заменить' : 'не задан') : undefined}
              onChange={(e) => set(f.key, e.target.value)}
              aria-invalid={err ? true : undefined}
              aria-describedby={describedBy}
            />
            {(f.hint || f.kind === 'secret') && (
              <div id={`${id(f.key)}-hint`} className="field-hint muted">
                {f.kind === 'secret' ? (isSet ? 'задан' : 'не задан') + (fromEnv ? ' (из переменной окружения)' : '') : f.hint}
              </div>
            )}
            {err && (
              <div id={`${id(f.key)}-err`} className="field-error" role="alert">
                {err}
              </div>
            )}
          </div>
        );
      })}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          Сохранить
        </button>
        {section.testable && (
          <button type="button" disabled={test.busy} onClick={() => void runTest()}>
            {test.busy ? 'Проверяем…' : 'Проверить соединение'}
          </button>
        )}
        {dirty && !busy && <span className="unsaved">Есть несохранённые изменения</span>}
        {saved && (
          <span className="ok-text" role="status">
            {saved}
          </span>
        )}
      </div>
      {formError && <div className="error" role="alert">{formError}</div>}
      {test.result && (
        <div className={`test-result ${test.result.ok ? 'test-ok' : 'test-bad'}`} role="status">
          <strong>{test.result.ok ? 'Соединение есть.' : 'Проверка не прошла.'}</strong> <span className="test-message">{test.result.message}</span>
          {/* Only the form's values were tried: nothing was saved, and sending goes on as it was. */}
          <div className="test-note">Проверены значения из формы; сохранённые настройки не изменились.</div>
        </div>
      )}
    </form>
  );
}

export function bslSnippet(host: string, port: number, token: string): string {
  return [
    '// Спутник: вызов API для 1С с этого компьютера',
    `Соединение = Новый HTTPСоединение("${host}", ${port}, , , Новый ИнтернетПрокси(Ложь), 15);`,
    'Заголовки = Новый Соответствие;',
    `Заголовки.Вставить("Authorization", "Bearer ${token}");`,
    'Заголовки.Вставить("Content-Type", "application/json; charset=utf-8");',
    'Запрос = Новый HTTPЗапрос("/v1/health", Заголовки);',
    'Ответ = Соединение.Получить(Запрос);',
    'Если Ответ.КодСостояния <> 200 Тогда',
    '\tВызватьИсключение "Спутник не ответил: " + Ответ.КодСостояния + " " + Ответ.ПолучитьТелоКакСтроку();',
    'КонецЕсли;',
  ].join('\n');
}

function ListenerBlock() {
  const listener = useUi((s) => s.listener);
  const error = useUi((s) => s.listenerError);
  useEffect(() => void useUi.getState().refreshListener(), []);
  if (error) return <ErrorBox message={error} onRetry={() => void useUi.getState().refreshListener()} />;
  if (!listener) return <Loading />;
  let host = '127.0.0.1';
  try {
    const h = new URL(listener.url).hostname;
    if (h && h !== '0.0.0.0' && h !== '[::]') host = h;
  } catch {
    /* keep loopback */
  }
  const code = bslSnippet(host, listener.port, listener.token);
  return (
    <section className="panel" aria-labelledby="bsl-title">
      <h3 id="bsl-title">Подключение 1С</h3>
      <dl className="status-grid">
        <dt>Адрес</dt>
        <dd>
          <code>{listener.url}</code> <CopyButton text={listener.url} what="адрес для 1С" />
        </dd>
        <dt>Порт</dt>
        <dd>
          <code>{listener.port}</code>
        </dd>
        <dt>Токен</dt>
        <dd>
          <code className="listener-token">{listener.token}</code> <CopyButton text={listener.token} what="токен для 1С" />
        </dd>
      </dl>
      <h4>Готовый код для 1С (встроенный язык)</h4>
      <pre className="body bsl" aria-label="Код для 1С">
        {code}
      </pre>
      <CopyButton text={code} label="Копировать код" />
    </section>
  );
}

function DesktopBlock() {
  const bridge = window.sputnik;
  const [autostart, setAutostart] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    bridge?.getAutostart().then(setAutostart, (e: unknown) => setError(errorMessage(e)));
  }, [bridge]);
  if (!bridge) return null;
  return (
    <section className="panel" aria-labelledby="desktop-title">
      <h3 id="desktop-title">Приложение</h3>
      <div className="field field-check">
        <label>
          <input
            type="checkbox"
            checked={autostart === true}
            disabled={autostart === null}
            onChange={(e) => {
              bridge.setAutostart(e.target.checked).then(setAutostart, (err: unknown) => setError(errorMessage(err)));
            }}
          />{' '}
          Запускать вместе с Windows
        </label>
      </div>
      <button type="button" onClick={() => void bridge.showLogsFolder().catch((e: unknown) => setError(errorMessage(e)))}>
        Открыть папку с логами
      </button>
      {error && <div className="error">{error}</div>}
    </section>
  );
}

/** The question before leaving with unsaved forms (null: nothing unsaved). */
export function leaveQuestion(unsaved: readonly string[]): string | null {
  if (unsaved.length === 0) return null;
  return `Изменения в настройках (${unsaved.join(', ')}) не сохранены и пропадут. Уйти со страницы?`;
}

/** `section`: `#/settings/passteam` (a link from «Требует внимания») opens at that connector's form. */
export function SettingsPage({ section }: { section?: string | null }) {
  const settings = useResource((signal) => api.settings(signal), 'settings');
  const meta = useUi((s) => s.meta);
  const metaError = useUi((s) => s.metaError);
  const sections = meta?.settings ?? [];
  const extras = (meta?.modules ?? []).flatMap((m) => {
    const extra = MODULE_SETTINGS.get(m.name);
    return extra ? [extra] : [];
  });
  const [view, setView] = useState<SettingsView | null>(null);
  const [generation, setGeneration] = useState(0);
  const [unsaved, setUnsaved] = useState<Record<string, boolean>>({});
  useEffect(() => {
    if (settings.data) setView(settings.data);
  }, [settings.data]);
  const v = meta ? (view ?? settings.data) : null;
  const ready = v !== null;
  useEffect(() => {
    if (!ready || !section) return;
    const form = document.getElementById(`set-${section}-title`)?.closest('form');
    form?.scrollIntoView({ block: 'start' });
    form?.querySelector<HTMLElement>('input, select, textarea')?.focus({ preventScroll: true });
  }, [ready, section]);
  // One stable callback per form, so a form's effect does not run on every page render.
  const dirtyFns = useRef(new Map<string, (dirty: boolean) => void>());
  const onDirty = (name: string) => {
    let fn = dirtyFns.current.get(name);
    if (!fn) {
      fn = (dirty: boolean) => setUnsaved((u) => (u[name] === dirty ? u : { ...u, [name]: dirty }));
      dirtyFns.current.set(name, fn);
    }
    return fn;
  };
  const titles = [...sections.map((s) => [s.name, s.short] as const), ...extras.map((e) => [e.part, e.short] as const)];
  useLeaveGuard(leaveQuestion(titles.filter(([name]) => unsaved[name]).map(([, title]) => title)));
  const pending = v && 'restartPending' in v && Array.isArray(v.restartPending) ? v.restartPending.map(String) : [];
  return (
    <>
      <h2 className="page-title">Настройки</h2>
      {settings.error && <ErrorBox message={settings.error} onRetry={settings.reload} />}
      {!meta && metaError && !settings.error && <ErrorBox message={metaError} onRetry={() => void useUi.getState().refreshMeta()} />}
      {!v && !settings.error && !(metaError && !meta) && <Loading />}
      {v && (
        <>
          <p className="muted">
            {v.savedTo ? `Настройки хранятся в ${v.savedTo}` : 'Изменения действуют до перезапуска Спутника (песочница).'}
          </p>
          {pending.length > 0 && (
            <div className="settings-restart" role="status">
              Сохранено, но ещё не действует: {pending.map((p) => (meta && Object.hasOwn(meta.restartTitles, p) ? meta.restartTitles[p] : p)).join(', ')}. Изменения вступят в силу после перезапуска Спутника.
            </div>
          )}
          <div className="settings-grid">
            {sections.map((s) => (
              <SectionForm
                key={`${s.name}-${generation}`}
                section={s}
                view={v}
                onDirty={onDirty(s.name)}
                onSaved={(next) => {
                  setView(next);
                  // Other forms keep what the operator typed; only the secrets' «задан» changes.
                  if (s.name === 'listener') void useUi.getState().refreshListener();
                }}
              />
            ))}
          </div>
          {extras.map(({ part, component: Extra }) => (
            <Extra key={`${part}-${generation}`} view={v} onSaved={setView} onDirty={onDirty(part)} />
          ))}
          <button type="button" className="link-button" onClick={() => (settings.reload(), setGeneration(generation + 1))}>
            Отменить несохранённые изменения
          </button>
        </>
      )}
      <ListenerBlock />
      <DesktopBlock />
    </>
  );
}
