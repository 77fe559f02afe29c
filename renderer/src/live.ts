import { absoluteUrl, isDesktop } from './api.ts';

/**
 * Live updates. In a browser the page subscribes to `/api/events` (Server-Sent Events; the
 * session cookie authenticates it). EventSource cannot send the Bearer header the desktop app
 * uses, so there (and whenever the stream is unavailable) every listener is poked every 3 s.
 */
export type LiveEvent =
  | { type: 'health'; health: unknown }
  | { type: 'journal'; lastId: number | null }
  | { type: 'change'; kind: string }
  | { type: 'tick' };

type Listener = (event: LiveEvent) => void;

export const POLL_MS = 3000;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;
let started = false;
let mode: 'events' | 'polling' = 'polling';

function emit(event: LiveEvent): void {
  for (const l of [...listeners]) {
    try {
      l(event);
    } catch {
      /* one broken listener must not stop the others */
    }
  }
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

function startPolling(): void {
  mode = 'polling';
  if (pollTimer) return;
  pollTimer = setInterval(() => {
    // A hidden window (tray app minimised) has no reader; skip the work.
    if (document.hidden) return;
    emit({ type: 'tick' });
  }, POLL_MS);
}

function stopPolling(): void {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

function startEvents(): void {
  if (typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  const es = new EventSource(absoluteUrl('/api/events'));
  source = es;
  // Until the stream proves itself, keep polling so nothing is missed.
  startPolling();
  es.onopen = () => {
    mode = 'events';
    stopPolling();
    // Whatever happened while disconnected: refetch once.
    emit({ type: 'tick' });
  };
  es.addEventListener('health', (e) => emit({ type: 'health', health: parse((e as MessageEvent<string>).data) }));
  es.addEventListener('journal', (e) => {
    const data = parse((e as MessageEvent<string>).data) as { lastId?: number } | null;
    emit({ type: 'journal', lastId: typeof data?.lastId === 'number' ? data.lastId : null });
  });
  es.addEventListener('change', (e) => {
    const data = parse((e as MessageEvent<string>).data) as { kind?: string } | null;
    emit({ type: 'change', kind: String(data?.kind ?? '') });
  });
  es.onerror = () => {
    // CLOSED: the server refused the stream (no such route, 401); CONNECTING: it retries itself.
    startPolling();
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(() => {
        if (!source && listeners.size > 0) startEvents();
      }, 30_000);
    }
  };
}

function ensureStarted(): void {
  if (started) return;
  started = true;
  if (isDesktop()) startPolling();
  else startEvents();
}

export function subscribe(listener: Listener): () => void {
  ensureStarted();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function liveMode(): 'events' | 'polling' {
  return mode;
}

/** True when the event concerns the list of `kind` (a poll tick concerns everything). */
export function touches(event: LiveEvent, kind: 'cards' | 'invoices' | 'docpart' | 'journal' | 'health'): boolean {
  if (event.type === 'tick') return true;
  if (kind === 'journal') return event.type === 'journal';
  if (kind === 'health') return event.type === 'health';
  return event.type === 'change' && event.kind === kind;
}
