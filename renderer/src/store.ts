import { create } from 'zustand';
import { api, ApiError } from './api.ts';
import type { Health, JournalEntry } from './types.ts';

export const PAGE_SIZE = 50;

interface UiState {
  health: Health | null;
  healthError: string | null;
  entries: JournalEntry[];
  next: string | null;
  q: string;
  journalError: string | null;
  journalLoading: boolean;
  setQuery(q: string): void;
  refreshHealth(): Promise<void>;
  refreshJournal(): Promise<void>;
  loadMore(): Promise<void>;
}

function message(e: unknown): string {
  return e instanceof ApiError ? e.message : `Неожиданная ошибка: ${(e as Error).message}`;
}

// A slow response for an old query must not overwrite the rows of a newer one.
let journalSeq = 0;

export const useUi = create<UiState>()((set, get) => ({
  health: null,
  healthError: null,
  entries: [],
  next: null,
  q: '',
  journalError: null,
  journalLoading: false,

  setQuery(q) {
    set({ q });
  },

  async refreshHealth() {
    try {
      set({ health: await api.health(), healthError: null });
    } catch (e) {
      set({ healthError: message(e) });
    }
  },

  async refreshJournal() {
    const seq = ++journalSeq;
    const { q } = get();
    set({ journalLoading: true });
    try {
      const page = await api.journal({ q, limit: PAGE_SIZE });
      if (seq !== journalSeq) return;
      set((state) => {
        // Keep older pages the operator already loaded with "show more" across auto-refreshes.
        const oldest = page.entries.at(-1)?.id;
        const keepOlder = state.q === q && oldest !== undefined && state.entries.length > PAGE_SIZE;
        const older = keepOlder ? state.entries.filter((e) => e.id < oldest) : [];
        return {
          entries: [...page.entries, ...older],
          next: older.length > 0 ? state.next : page.next,
          journalError: null,
          journalLoading: false,
        };
      });
    } catch (e) {
      if (seq === journalSeq) set({ journalError: message(e), journalLoading: false });
    }
  },

  async loadMore() {
    const { next, q } = get();
    if (next === null) return;
    const seq = ++journalSeq;
    set({ journalLoading: true });
    try {
      const page = await api.journal({ q, limit: PAGE_SIZE, before: next });
      if (seq !== journalSeq) return;
      set((state) => ({
        entries: [...state.entries, ...page.entries],
        next: page.next,
        journalError: null,
        journalLoading: false,
      }));
    } catch (e) {
      if (seq === journalSeq) set({ journalError: message(e), journalLoading: false });
    }
  },
}));
