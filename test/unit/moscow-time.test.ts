import { describe, expect, it } from 'vitest';
import { fromMoscowWall, moscowWall, MSK_OFFSET_MS, MSK_ZONE, mskDate, mskDateTime, mskIso } from '../../main/time/moscow.ts';

describe('Moscow time (one definition for PayKeeper, Docpart and the sandboxes)', () => {
  it('is UTC+3 all year: the wall clock, its text, and back', () => {
    const late = Date.parse('2026-12-31T21:30:05.123Z'); // already 2027 in Moscow
    expect(mskIso(late)).toBe('2027-01-01T00:30:05');
    expect(mskDateTime(late)).toBe('2027-01-01 00:30:05');
    expect(mskDate(late)).toBe('2027-01-01');
    expect(moscowWall(late).getUTCHours()).toBe(0);
    expect(mskDate(Date.parse('2026-07-01T20:59:59Z'))).toBe('2026-07-01'); // summer: still +3
    expect(fromMoscowWall(2027, 1, 1, 0, 30, 5)).toBe(Date.parse('2026-12-31T21:30:05Z'));
    expect(fromMoscowWall(2026, 7, 1)).toBe(Date.parse(`2026-07-01T00:00:00${MSK_ZONE}`));
    expect(MSK_OFFSET_MS).toBe(3 * 3_600_000);
  });
});
