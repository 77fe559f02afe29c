import { create } from 'zustand';
import { api } from './api.ts';
import { setNames } from './format.ts';
import { errorMessage } from './hooks.ts';
import { subscribe, touches, watchLink, type Link } from './live.ts';
import type { Health, ListenerInfo, Meta } from './types.ts';

/** What every page shares: the health (header, banner, overview), the 1C listener address, the link, the attention count. */
interface UiState {
  health: Health | null;
  /** The service's modules (menu, pages, settings, names); null until it has answered once. */
  meta: Meta | null;
  metaError: string | null;
  refreshMeta(): Promise<void>;
  /** Whether Sputnik answers; while it does not, what is shown is as of `link.lastSeen`. */
  link: Link;
  /** How many things «Требует внимания» lists; null until known. */
  attention: number | null;
  refreshAttention(): Promise<void>;
  healthError: string | null;
  listener: ListenerInfo | null;
  listenerError: string | null;
  refreshHealth(): Promise<void>;
  refreshListener(): Promise<void>;
  setHealth(health: Health): void;
}

export const useUi = create<UiState>()((set, get) => ({
  health: null,
  meta: null,
  metaError: null,
  link: { state: 'ok', lastSeen: null },
  attention: null,
  healthError: null,
  listener: null,
  listenerError: null,

  async refreshHealth() {
    try {
      set({ health: await api.health(), healthError: null });
    } catch (e) {
      set({ healthError: errorMessage(e) });
    }
  },

  async refreshMeta() {
    try {
      const meta = await api.meta();
      setNames(meta);
      set({ meta, metaError: null });
    } catch (e) {
      if (!get().meta) set({ metaError: errorMessage(e) });
    }
  },

  async refreshListener() {
    try {
      set({ listener: await api.listener(), listenerError: null });
    } catch (e) {
      set({ listenerError: errorMessage(e) });
    }
  },

  async refreshAttention() {
    try {
      set({ attention: (await api.attention(1)).total });
    } catch {
      /* the link banner or the page itself says what is wrong */
    }
  },

  setHealth(health) {
    set({ health, healthError: null });
  },
}));

function isHealth(v: unknown): v is Health {
  return typeof v === 'object' && v !== null && 'connectors' in v && 'queue' in v;
}

let started = false;
/** Health follows the event stream (or the poll tick); called once by App. */
export function startHealthFeed(): () => void {
  if (started) return () => {};
  started = true;
  void useUi.getState().refreshMeta();
  void useUi.getState().refreshHealth();
  void useUi.getState().refreshAttention();
  const off = subscribe((e) => {
    // The meta does not change while Sputnik runs: asked again only until it has come once.
    if (!useUi.getState().meta && (e.type === 'health' || e.type === 'tick')) void useUi.getState().refreshMeta();
    if (e.type === 'health' && isHealth(e.health)) useUi.getState().setHealth(e.health);
    else if (touches(e, 'health') && !document.hidden) void useUi.getState().refreshHealth();
    if (e.type === 'attention' && e.total !== null) useUi.setState({ attention: e.total });
    else if (e.type === 'tick' && !document.hidden) void useUi.getState().refreshAttention();
  });
  const offLink = watchLink((link) => useUi.setState({ link }));
  return () => {
    started = false;
    off();
    offLink();
  };
}
