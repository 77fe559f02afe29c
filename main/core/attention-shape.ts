/**
 * «Требует внимания»'s shapes, once: the core and the modules build the list (attention.ts), the
 * window reads it (renderer/src/types.ts). Imports nothing, so module types and the window's type
 * check can follow it without the core.
 */

export interface AttentionItem {
  /** The core's `refusal`, `connector`, `queue`, or a module's entity kind (`card`, `invoice`: its descriptor's journal subjects). */
  kind: string;
  /** Stable id: `card:200001`, `refusal:invoice:A-1`, `connector:passteam`, `queue:paykeeper`. */
  ref: string;
  title: string;
  reason: string;
  action: AttentionAction;
  /** Local time (YYYY-MM-DDTHH:MM:SS) it has been like this since. */
  since: string;
  /** The operator may take it off the list (refusals: 1C may never send that call again). */
  dismissible?: boolean;
}

export type AttentionAction =
  /** What to do in 1C or in a remote's own cabinet: words, no button. */
  | { type: 'instruction'; label: string }
  /** A place in the window, e.g. `#/settings/passteam`. */
  | { type: 'open'; label: string; href: string }
  /** A button: the window POSTs `body` to `path` (retry, resume, load now). */
  | { type: 'call'; label: string; path: string; body?: Record<string, string> };

export interface AttentionList {
  items: AttentionItem[];
  /** All of them, also those beyond the page (`items` is capped). */
  total: number;
}

/** A 1C write call as the listener answered it. */
export interface OnecCall {
  method: string;
  /** The route's pattern, `/v1/cards/:code`. */
  route: string;
  params: Record<string, unknown>;
  /** The parsed body; undefined when it could not be read. */
  body: unknown;
  status: number;
  /** The answer as JSON, parsed only when asked. */
  answer(): unknown;
}

/** What a call was about and, when 1C was refused, what it was told and what to fix in 1C. */
export interface CallSubject {
  /** `card:200001`, `invoice:A-1`; null when the call named none (a body that could not be read). */
  entity: string | null;
  title: string;
  refused?: { code: string; message: string; field?: string; fix: string };
}
