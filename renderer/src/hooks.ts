import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.ts';
import { subscribe, touches, type LiveEvent } from './live.ts';

export const PAGE_SIZE = 50;

export function errorMessage(e: unknown): string {
  return e instanceof ApiError ? e.message : `Неожиданная ошибка: ${(e as Error)?.message ?? String(e)}`;
}

/**
 * What a page with unsaved work asks before the operator leaves it (null: nothing to lose). One
 * page at a time has a form, so one slot is enough.
 */
let leaveQuestion: string | null = null;

/** Hash routing: `#/cards/200001` → ['cards', '200001']. Leaving a page with unsaved work asks first. */
export function useRoute(): [string, string | null] {
  const read = (): [string, string | null] => {
    const parts = window.location.hash.replace(/^#\/?/, '').split('/');
    const page = parts[0] || 'overview';
    const rest = parts.slice(1).join('/');
    return [page, rest ? decodeURIComponent(rest) : null];
  };
  const [route, setRoute] = useState(read);
  const current = useRef({ route, hash: window.location.hash });
  useEffect(() => {
    const onHash = () => {
      const next = read();
      // A link or Back already moved the address: a «stay» puts it back without a history entry.
      if (next[0] !== current.current.route[0] && leaveQuestion !== null && !window.confirm(leaveQuestion)) {
        history.replaceState(history.state, '', current.current.hash || window.location.pathname + window.location.search);
        return;
      }
      current.current = { route: next, hash: window.location.hash };
      setRoute(next);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

/**
 * While `question` is set, going to another page asks it (confirm) and closing or reloading the
 * window asks the browser's own «leave site?» (Electron: main/desktop/window.ts asks instead).
 */
export function useLeaveGuard(question: string | null): void {
  useEffect(() => {
    if (question === null) return;
    leaveQuestion = question;
    const onUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = question; // older engines ask only when returnValue is set
    };
    window.addEventListener('beforeunload', onUnload);
    return () => {
      if (leaveQuestion === question) leaveQuestion = null;
      window.removeEventListener('beforeunload', onUnload);
    };
  }, [question]);
}

export function go(page: string, param?: string | null): void {
  window.location.hash = param ? `#/${page}/${encodeURIComponent(param)}` : `#/${page}`;
}

export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function useLive(handler: (e: LiveEvent) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe((e) => ref.current(e)), []);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** One resource: loads on mount and when `key` changes; `reload` refetches keeping the old data shown. */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string, liveKind?: Parameters<typeof touches>[1]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const ctl = useRef<AbortController | null>(null);

  const run = useCallback((quiet: boolean) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    if (!quiet) setLoading(true);
    loadRef.current(c.signal).then(
      (d) => {
        if (c.signal.aborted) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (c.signal.aborted || (e as Error).name === 'AbortError') return;
        // A background refresh that fails keeps the rows on screen but says so.
        setError(errorMessage(e));
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    setData(null);
    run(false);
    return () => ctl.current?.abort();
  }, [key, run]);

  useLive((e) => {
    if (liveKind && touches(e, liveKind) && !document.hidden) run(true);
  });

  return { data, error, loading, reload: useCallback(() => run(false), [run]) };
}

export interface PagedList<T> {
  items: T[];
  total: number;
  loading: boolean;
  error: string | null;
  loadMore: () => void;
  reload: () => void;
}

/**
 * An offset-paged list («Показать ещё»). Live updates refetch everything loaded so far in one
 * request, so pages the operator opened stay open.
 */
export function usePagedList<T>(
  fetchPage: (offset: number, limit: number, signal: AbortSignal) => Promise<{ items: T[]; total: number }>,
  key: string,
  /** The change feed the list follows (a module's `feeds` kind: 'cards', 'invoices', 'docpart'). */
  liveKind: string,
): PagedList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const countRef = useRef(0);
  /** Rows the operator asked to see: a live refetch that cancels a «Показать ещё» still brings its page. */
  const wantRef = useRef(PAGE_SIZE);
  const ctl = useRef<AbortController | null>(null);

  const load = useCallback((offset: number, limit: number, replace: boolean, quiet = false) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    if (!quiet) setLoading(true);
    fetchRef.current(offset, limit, c.signal).then(
      (page) => {
        if (c.signal.aborted) return;
        setItems((old) => {
          const next = replace ? page.items : [...old, ...page.items];
          countRef.current = next.length;
          return next;
        });
        setTotal(page.total);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (c.signal.aborted || (e as Error).name === 'AbortError') return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    setItems([]);
    countRef.current = 0;
    wantRef.current = PAGE_SIZE;
    load(0, PAGE_SIZE, true);
    return () => ctl.current?.abort();
  }, [key, load]);

  useLive((e) => {
    if (touches(e, liveKind) && !document.hidden) load(0, Math.min(Math.max(wantRef.current, countRef.current), 500), true, true);
  });

  return {
    items,
    total,
    loading,
    error,
    loadMore: useCallback(() => {
      wantRef.current = countRef.current + PAGE_SIZE;
      load(countRef.current, PAGE_SIZE, false);
    }, [load]),
    reload: useCallback(() => load(0, Math.max(wantRef.current, countRef.current), true), [load]),
  };
}
