import type { WindowBounds } from './desktop-store.ts';

/**
 * Remembered window geometry, put back onto a screen that exists now: a monitor may have been
 * unplugged or a resolution lowered since the bounds were saved, and a window restored off
 * screen is a window the cashier can't find.
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_SIZE = { width: 1200, height: 800 } as const;
export const MIN_SIZE = { width: 760, height: 480 } as const;

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function centred(size: { width: number; height: number }, area: Rect): Rect {
  const width = Math.min(size.width, area.width);
  const height = Math.min(size.height, area.height);
  return { x: area.x + Math.round((area.width - width) / 2), y: area.y + Math.round((area.height - height) / 2), width, height };
}

/**
 * `workAreas`: every display's work area (without task bars); `primary`: the primary's.
 * Saved bounds go to the display they overlap most, shrunk to fit it and moved fully inside;
 * bounds that overlap no display are centred on the primary with their size kept (if it fits).
 */
export function clampBounds(saved: WindowBounds | undefined, workAreas: readonly Rect[], primary: Rect): WindowBounds {
  if (!saved) return { ...centred(DEFAULT_SIZE, primary), maximized: false };
  let best: Rect | undefined;
  let bestArea = 0;
  for (const area of workAreas) {
    const o = overlap(saved, area);
    if (o > bestArea) {
      best = area;
      bestArea = o;
    }
  }
  if (!best) return { ...centred(saved, primary), maximized: saved.maximized };
  const width = Math.min(Math.max(saved.width, Math.min(MIN_SIZE.width, best.width)), best.width);
  const height = Math.min(Math.max(saved.height, Math.min(MIN_SIZE.height, best.height)), best.height);
  const x = Math.min(Math.max(saved.x, best.x), best.x + best.width - width);
  const y = Math.min(Math.max(saved.y, best.y), best.y + best.height - height);
  return { x, y, width, height, maximized: saved.maximized };
}
