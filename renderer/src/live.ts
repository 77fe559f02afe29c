import { absoluteUrl, isDesktop } from './api.ts';

/**
 * Live updates. In a browser the page subscribes to `/api/events` (Server-Sent Events; the
 * session cookie authenticates it). EventSource cannot send the Bearer header the desktop app
 * uses, so there (and whenever the stream is unavailable) every listener is poked every 3 s.
 *
 * It also says whether Sputnik answers at all: the stream carries a heartbeat every second, and
 * 3 s without any event (or the stream breaking) means Sputnik is gone: every page then shows so
 * and stops presenting what it shows as current, until the stream is back.
 */
export type LiveEvent =
  | { type: 'health'; health: unknown }
  | { type: 'journal'; lastId: number | null }
  | { type: 'change'; kind: string }
  | { type: 'attention'; total: number | null }
  | { type: 'tick' };

type Listener = (event: LiveEvent) => void;

/** Whether Sputnik answers. `lastSeen`: the last sign of life (ms), what the shown data is as of. */
export interface Link {
  state: 'ok' | 'lost' | 'denied';
  lastSeen: number | null;
}

export const POLL_MS = 3000;
/** Silence on the stream (heartbeat every 1 s) after which Sputnik is taken to be gone. */
export const SILENCE_MS = 2500;
const RECONNECT_MS = 1000;

const listeners = new Set<Listener>();
const linkListeners = new Set<(link: Link) => void>();
let source: EventSource | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;
let watchdog: ReturnType<typeof setInterval> | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let started = false;
let mode: 'events' | 'polling' = 'polling';
let link: Link = { state: 'ok', lastSeen: null };
let heardAt = 0;
let openedAt = 0;

function emit(event: LiveEvent): void {
  for (const l of [...listeners]) {
    try {
      l(event);
    } catch {
      /* one broken listener must not stop the others */
    }
  }
}

function setLink(state: Link['state']): void {
  if (state === 'ok') heardAt = Date.now();
  if (link.state === state) return;
  // `lastSeen` freezes when the link goes: it is the moment the data on screen is from.
  link = { state, lastSeen: heardAt || null };
  for (const l of [...linkListeners]) l(link);
}

/** A sign of life from Sputnik (an event, an answered request). */
function heard(): void {
  const was = link.state;
  setLink('ok');
  // Back after a loss: whatever happened meanwhile, every page refetches once.
  if (was !== 'ok') emit({ type: 'tick' });
}

/** The page's own requests: in polling mode they are the only signs of life. */
export function reportReachable(ok: boolean): void {
  if (!ok) setLink('lost');
  else if (mode === 'polling' || link.state === 'denied') heard();
}

/** Sputnik answered 401: the window's session is no longer valid (another data folder, a reinstall). */
export function reportDenied(): void {
  setLink('denied');
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

function reconnectSoon(ms = RECONNECT_MS): void {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (listeners.size > 0) startEvents();
  }, ms);
}

/** The stream was refused (not broken): is Sputnik down, is the session gone, or is it only the stream? */
async function probe(): Promise<void> {
  try {
    const r = await fetch(absoluteUrl('/api/health'), { cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 401) {
      reportDenied();
      reconnectSoon(POLL_MS);
    } else if (r.ok) {
      // Sputnik answers but not the stream (an older service): poll, and try the stream again later.
      heard();
      startPolling();
      reconnectSoon(30_000);
    } else {
      setLink('lost');
      reconnectSoon();
    }
  } catch {
    setLink('lost');
    reconnectSoon();
  }
}

function startEvents(): void {
  if (typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  source?.close();
  const es = new EventSource(absoluteUrl('/api/events'));
  source = es;
  openedAt = Date.now();
  // Until the stream proves itself, keep polling so nothing is missed.
  startPolling();
  const fromThis = (fn: (e: MessageEvent<string>) => void) => (e: Event) => {
    if (source !== es) return;
    heard();
    fn(e as MessageEvent<string>);
  };
  es.onopen = () => {
    if (source !== es) return;
    mode = 'events';
    stopPolling();
    setLink('ok');
    // Whatever happened while disconnected: refetch once.
    emit({ type: 'tick' });
  };
  es.addEventListener('beat', fromThis(() => {}));
  es.addEventListener('health', fromThis((e) => emit({ type: 'health', health: parse(e.data) })));
  es.addEventListener('journal', fromThis((e) => {
    const data = parse(e.data) as { lastId?: number } | null;
    emit({ type: 'journal', lastId: typeof data?.lastId === 'number' ? data.lastId : null });
  }));
  es.addEventListener('change', fromThis((e) => {
    const data = parse(e.data) as { kind?: string } | null;
    emit({ type: 'change', kind: String(data?.kind ?? '') });
  }));
  es.addEventListener('attention', fromThis((e) => {
    const data = parse(e.data) as { total?: number } | null;
    emit({ type: 'attention', total: typeof data?.total === 'number' ? data.total : null });
  }));
  es.onerror = () => {
    if (source !== es) return;
    // The stream broke: Sputnik stopped, restarts, or the connection died. CONNECTING: the browser
    // retries itself (every second, as the server asked); CLOSED: it gave up, so find out why.
    setLink('lost');
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      startPolling();
      void probe();
    }
  };
  if (!watchdog) {
    watchdog = setInterval(() => {
      if (!source || mode !== 'events') return;
      const now = Date.now();
      // No heartbeat while the socket looks open (a hung process, a dead network): gone. Start a
      // fresh stream, at most once a second, so it comes back by itself.
      if (now - heardAt > SILENCE_MS) {
        setLink('lost');
        if (now - openedAt > RECONNECT_MS) startEvents();
      }
    }, 250);
  }
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

/** Follows whether Sputnik answers; called at once with the current state. */
export function watchLink(listener: (link: Link) => void): () => void {
  linkListeners.add(listener);
  listener(link);
  return () => linkListeners.delete(listener);
}

export function liveMode(): 'events' | 'polling' {
  return mode;
}

/** True when the event concerns `kind`: the journal, the health, the attention count, or a module's change feed (a poll tick concerns everything). */
export function touches(event: LiveEvent, kind: string): boolean {
  if (event.type === 'tick') return true;
  if (kind === 'journal') return event.type === 'journal';
  if (kind === 'health') return event.type === 'health';
  if (kind === 'attention') return event.type === 'attention';
  return event.type === 'change' && event.kind === kind;
}
