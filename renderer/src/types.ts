/** Shapes of the admin API responses the UI reads (see the admin API contract). */
export type ConnectorState = 'disabled' | 'ok' | 'failing' | 'paused';

export interface ApiErrorBody {
  code: string;
  message: string;
}

export interface ConnectorHealth {
  state: ConnectorState;
  lastError: ApiErrorBody | null;
  since: string | null;
}

export interface Health {
  status: string;
  version: string;
  sandbox: boolean;
  listener: { url: string; exposed: boolean };
  connectors: Record<string, ConnectorHealth>;
  queue: { depth: number; oldestAgeSeconds: number | null };
  store: { ok: boolean };
}

export type Direction = 'in' | 'out';

export interface JournalEntry {
  id: number;
  at: string;
  direction: Direction;
  system: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number | null;
  entity: unknown;
  error: unknown;
}

export interface JournalPage {
  entries: JournalEntry[];
  next: string | null;
}
