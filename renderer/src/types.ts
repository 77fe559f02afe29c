/** Shapes of the admin API responses the UI reads (see docs/admin-api.md). */
import type { ConnectorHealth as ServiceConnectorHealth, HealthBody } from '../../main/core/health-shape.ts';

export type { Meta, SettingsFieldMeta, SettingsSectionMeta } from '../../main/core/meta-shape.ts';

/** A connector's name as the service registers it (GET /api/meta). */
export type ConnectorName = string;

export interface ApiErrorBody {
  code: string;
  message: string;
}

/** One connector's state in the health: its shape is the service's (main/core/health-shape.ts). */
export type ConnectorHealth = ServiceConnectorHealth;
export type ConnectorState = ConnectorHealth['state'];

/** GET /api/health: the detailed health (every part present; ReGate's when it is on) and the 1C address. */
export type Health = Required<Omit<HealthBody, 'regate'>> & Pick<HealthBody, 'regate'> & { listener: { url: string; exposed: boolean } };

export interface ListenerInfo {
  url: string;
  port: number;
  token: string;
}

export type Direction = 'in' | 'out';

/** One HTTP exchange of a journal event. */
export interface JournalEntry {
  id: number;
  at: string;
  direction: Direction;
  system: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number | null;
  entity: string | null;
  jobId?: number | null;
  error: unknown;
  /** Judged by what the answer means: a refusal in a 200 answer is failed. */
  failed?: boolean;
  /** The raw technical text of a failure (code, host). */
  detail?: string | null;
}

export interface JournalEntryFull extends JournalEntry {
  requestBody: string | null;
  responseBody: string | null;
  /** The request's form fields, decoded. */
  requestForm?: Array<{ name: string; value: string }> | null;
}

/** One thing that happened (GET /api/journal): a card delivered, a refusal, a Docpart pull, a 1C call. */
export interface JournalEvent {
  id: number;
  at: string;
  endedAt: string | null;
  direction: Direction;
  system: string;
  entity: string | null;
  title: string;
  outcome: 'running' | 'ok' | 'failed' | 'interrupted';
  summary: string | null;
  error: string | null;
  /** «Повторить» can work here. */
  retry: boolean;
  counts: Record<string, number> | null;
  exchanges: number;
  durationMs: number;
  method: string | null;
  url: string | null;
  status: number | null;
}

export interface JournalEventFull extends JournalEvent {
  items: JournalEntry[];
}

export interface JournalPage {
  entries: JournalEvent[];
  next: string | null;
  /** About how many rows the search has not looked at yet: the background indexing has not reached them. */
  unsearched?: number;
}

export type CardState = 'queued' | 'synced' | 'failed';

export interface Card {
  code: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  bonus: number | null;
  state: CardState;
  cardId: string | null;
  cardUrl: string | null;
  installed: boolean | null;
  updatedAt: string | null;
  lastError: ApiErrorBody | null;
}

export interface CardFull extends Card {
  birthday?: string | null;
  values?: Record<string, unknown> | null;
  sent?: Record<string, unknown> | null;
}

export type InvoiceState = 'queued' | 'created' | 'sent' | 'paid' | 'expired' | 'revoked' | 'failed';

export interface Invoice {
  orderId: string;
  state: InvoiceState;
  invoiceId: string | null;
  invoiceUrl: string | null;
  amount: number | null;
  email: string | null;
  clientId: string | null;
  phone: string | null;
  serviceName: string | null;
  expiry: string | null;
  createdAt: string | null;
  paidAt: string | null;
  paymentId: string | null;
  error: unknown;
}

/** The sum of every invoice a filter matches (not just the page shown); money as exact text "1234.50". */
export interface InvoiceTotals {
  count: number;
  amount: string;
  paid: { count: number; amount: string };
}

export interface DocpartOrder {
  orderId: number | string;
  time: string | null;
  userId: number | string | null;
  status: string | number | null;
  paid: 0 | 1 | 2 | number;
  amount: number | null;
  obtainCaption: string | null;
  officeName: string | null;
  itemsCount: number | null;
  buyer: string | null;
  changedAt: string | null;
}

export interface DocpartOrderFull extends DocpartOrder {
  items?: Array<Record<string, unknown>>;
  user?: Record<string, unknown> | null;
}

export interface DocpartSyncView {
  running: boolean;
  stage: 'items' | 'payments' | null;
  counts: { orders: number; items: number; users: number; payments: number; saved: number } | null;
  startedAt: string | null;
  last: { orders: number; changed: number; payments: number; paymentsChanged: number; users: number; finishedAt: string } | null;
  lastError: { code: string; message: string; at: string } | null;
  nextAt: string | null;
  stored: { orders: number; payments: number } | null;
}

export interface SettingsView {
  config: Record<string, Record<string, unknown>>;
  /** Which secrets are set, by dotted path (values never leave the service). */
  secrets?: Record<string, boolean>;
  fromEnv?: string[];
  savedTo?: string | null;
  restartRequired?: boolean;
}

export interface TestResult {
  ok: boolean;
  message: string;
}

/** «Требует внимания» (GET /api/attention): its shape is the service's (main/core/attention-shape.ts). */
export type { AttentionAction, AttentionItem, AttentionList } from '../../main/core/attention-shape.ts';
