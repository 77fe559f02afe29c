import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../main/store/cursor.ts';

describe('change-feed cursors', () => {
  it('round-trip and stay opaque', () => {
    const c = encodeCursor('cards', 12345);
    expect(c).not.toContain('12345');
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/); // URL-safe: 1C can put it in a query string as is
    expect(decodeCursor('cards', c)).toBe(12345);
  });

  it('refuse a cursor of another feed or garbage with 400 naming the field', () => {
    for (const bad of [encodeCursor('invoices', 1), 'garbage', '', '%%%']) {
      expect(() => decodeCursor('cards', bad, 'changedSince')).toThrow(expect.objectContaining({ status: 400, code: 'invalid_cursor', field: 'changedSince' }));
    }
  });
});
