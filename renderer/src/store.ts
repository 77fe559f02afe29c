import { create } from 'zustand';
import { api } from './api.ts';
import { errorMessage } from './hooks.ts';
import { subscribe, touches } from './live.ts';
import type { Health, ListenerInfo } from './types.ts';

/** What every page shares: the health (header, banner, overview) and the 1C listener address. */
interface UiState {
  health: Health | null;
  healthError: string | null;
  listener: ListenerInfo | null;
  listenerError: string | null;
  refreshHealth(): Promise<void>;
  refreshListener(): Promise<void>;
  setHealth(health: Health): void;
}

export const useUi = create<UiState>()((set) => ({
  health: null,
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

  async refreshListener() {
    try {
      set({ listener: await api.listener(), listenerError: null });
    } catch (e) {
      set({ listenerError: errorMessage(e) });
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
  void useUi.getState().refreshHealth();
  const off = subscribe((e) => {
    if (e.type === 'health' && isHealth(e.health)) useUi.getState().setHealth(e.health);
    else if (touches(e, 'health') && !document.hidden) void useUi.getState().refreshHealth();
  });
  return () => {
    started = false;
    off();
  };
}
