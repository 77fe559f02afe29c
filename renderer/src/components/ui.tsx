import { useState, type ReactNode } from 'react';
import { api, downloadWithToken, isDesktop } from '../api.ts';
import { errorMessage } from '../hooks.ts';
import { cardStateLabel, invoiceStateLabel } from '../format.ts';

export function Loading({ text = 'Загрузка…' }: { text?: string }) {
  return (
    <div className="muted loading" role="status">
      {text}
    </div>
  );
}

export function Empty({ text = 'Пока пусто…' }: { text?: string }) {
  return <div className="muted empty">{text}</div>;
}

export function ErrorBox({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <span>{message}</span>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Повторить
        </button>
      )}
    </div>
  );
}

/** Loading / error / empty states around a list, in one place for every page. */
export function ListState({
  loading,
  error,
  count,
  onRetry,
  emptyText,
}: {
  loading: boolean;
  error: string | null;
  count: number;
  onRetry: () => void;
  emptyText?: string;
}) {
  if (error) return <ErrorBox message={error} onRetry={onRetry} />;
  if (loading && count === 0) return <Loading />;
  if (!loading && count === 0) return <Empty text={emptyText} />;
  return null;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // An insecure context or a denied permission: the old way still works in most shells.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Копировать', what }: { text: string; label?: string; what?: string }) {
  const [done, setDone] = useState<null | boolean>(null);
  return (
    <button
      type="button"
      className="copy"
      aria-label={what ? `${label}: ${what}` : label}
      onClick={() => {
        void copyText(text).then((ok) => {
          setDone(ok);
          setTimeout(() => setDone(null), 2000);
        });
      }}
    >
      {done === true ? 'Скопировано' : done === false ? 'Не удалось скопировать' : label}
    </button>
  );
}

export function MoreButton({ shown, total, loading, onMore }: { shown: number; total: number; loading: boolean; onMore: () => void }) {
  return (
    <div className="pager">
      <span className="muted">
        Показано {shown} из {total}
      </span>
      {shown < total && (
        <button type="button" disabled={loading} onClick={onMore}>
          Показать ещё
        </button>
      )}
    </div>
  );
}

export function Detail({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <dl className="detail-grid">
      {rows.map(([k, v]) => (
        <div key={k} className="detail-row">
          <dt>{k}</dt>
          <dd>{v === null || v === undefined || v === '' ? '—' : v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/** A side panel for the selected row; Esc or «Закрыть» returns to the list. */
export function DetailPanel({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  return (
    <aside
      className="panel detail-panel"
      aria-label={title}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="detail-head">
        <h3>{title}</h3>
        <button type="button" onClick={onClose}>
          Закрыть
        </button>
      </div>
      {children}
    </aside>
  );
}

export function Pre({ text }: { text: string | null | undefined }) {
  if (text === null || text === undefined || text === '') return <div className="muted">нет</div>;
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    /* not JSON: as is */
  }
  return <pre className="body">{shown}</pre>;
}

/** A retry button that shows its own outcome. */
/**
 * A failed card or invoice was refused for its data (phone taken, no phone, a bad amount): sending
 * it again fails again. Only Sputnik's own failure is worth «Повторить» (as «Требует внимания» decides).
 */
export function retryCanWork(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'internal_error';
}

export const REFUSED_HINT = 'Повторная отправка не поможет: исправьте данные в 1С и запишите их ещё раз (что именно — в «Требует внимания»).';

export function RetryButton({ entity, onDone }: { entity: string; onDone?: () => void }) {
  const [state, setState] = useState<{ busy: boolean; msg: string | null; ok: boolean }>({ busy: false, msg: null, ok: true });
  return (
    <span className="retry">
      <button
        type="button"
        disabled={state.busy}
        onClick={() => {
          setState({ busy: true, msg: null, ok: true });
          api.retry(entity).then(
            (r) => {
              const label = r.state ? (entity.startsWith('invoice:') ? invoiceStateLabel(r.state) : cardStateLabel(r.state)) : '';
              setState({ busy: false, msg: `Отправлено повторно${label ? ` (сейчас: ${label})` : ''}`, ok: true });
              onDone?.();
            },
            (e: unknown) => setState({ busy: false, msg: (e as Error).message, ok: false }),
          );
        }}
      >
        Повторить
      </button>
      {state.msg && (
        <span className={state.ok ? 'ok-text' : 'error'} role="status">
          {' '}
          {state.msg}
        </span>
      )}
    </span>
  );
}

/**
 * A date typed the Russian way, ДД.ММ.ГГГГ. The browser's own date picker follows the OS locale and
 * shows mm/dd/yyyy on an English system; this field never does. `value`/`onChange` carry YYYY-MM-DD
 * ('' = empty); a half-typed or impossible date is not passed on and is marked invalid.
 */
export function DateField({
  value,
  onChange,
  onInvalid,
  invalid: markedInvalid,
  required,
  label,
}: {
  value: string;
  onChange: (iso: string) => void;
  /** Called with the typed text when it is not a date (or empty when required), for a page that has it checked and explained. */
  onInvalid?: (text: string) => void;
  /** Marked invalid from outside (a period that ends before it starts). */
  invalid?: boolean;
  required?: boolean;
  label: string;
}) {
  const shown = (iso: string) => (iso ? iso.split('-').reverse().join('.') : '');
  const [text, setText] = useState(shown(value));
  const [lastValue, setLastValue] = useState(value);
  if (value !== lastValue) {
    setLastValue(value);
    setText(shown(value));
  }
  const parse = (t: string): string | null => {
    if (t.trim() === '') return '';
    const m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(t.trim());
    if (!m) return null;
    const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(y, mo - 1, d);
    if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
    return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };
  const invalid = markedInvalid || parse(text) === null || (required && text.trim() === '');
  return (
    <input
      type="text"
      inputMode="numeric"
      placeholder="ДД.ММ.ГГГГ"
      aria-label={label}
      aria-invalid={invalid || undefined}
      size={10}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const iso = parse(e.target.value);
        if (iso !== null && !(required && iso === '')) {
          setLastValue(iso);
          onChange(iso);
        } else onInvalid?.(e.target.value);
      }}
    />
  );
}

/**
 * A file to download from the admin API. In a browser a plain link (the session cookie
 * authenticates it); in the desktop app a link cannot carry the Bearer token, so it is fetched
 * with it and saved.
 */
export function DownloadLink({ path, fileName, children }: { path: string; fileName: string; children: ReactNode }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <a
        className="button"
        href={isDesktop() ? '#' : path}
        download
        onClick={(e) => {
          if (!isDesktop()) return;
          e.preventDefault();
          setError(null);
          downloadWithToken(path, fileName).catch((err: unknown) => setError(errorMessage(err)));
        }}
      >
        {children}
      </a>
      {error && <span className="error"> {error}</span>}
    </>
  );
}
