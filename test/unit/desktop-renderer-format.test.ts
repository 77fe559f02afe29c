import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../main/config/schema.ts';
import { metaOf, REGISTRY } from '../../main/core/registry.ts';
import { directionArrow, errorText, formatAge, formatDuration, formatMoney, formatPoints, formatTime, setNames, stateLabel, systemName, unsearchedNote } from '../../renderer/src/format.ts';

// The modules' names come from the service (GET /api/meta): the same meta the admin API serves.
beforeAll(() => setNames(metaOf(REGISTRY, configSchema)));

describe('renderer wording', () => {
  it('connector states in Russian', () => {
    expect(stateLabel('disabled')).toBe('выключен');
    expect(stateLabel('ok')).toBe('работает');
    expect(stateLabel('failing')).toBe('нет связи');
    expect(stateLabel('paused')).toBe('приостановлен: проверьте настройки');
    expect(stateLabel('weird')).toBe('неизвестно (weird)');
  });

  it('queue age', () => {
    expect(formatAge(null)).toBe('—');
    expect(formatAge(42.7)).toBe('42 с');
    expect(formatAge(125)).toBe('2 мин 5 с');
    expect(formatAge(3 * 3600 + 7 * 60)).toBe('3 ч 7 мин');
    expect(formatAge(50 * 3600)).toBe('2 д 2 ч');
  });

  it('a journal search that left rows the indexing has not reached yet', () => {
    expect(unsearchedNote(12_345)).toBe('Поиск пока не охватил около 12\u00a0345 записей журнала: Спутник ещё готовит их к поиску. Список дополнится сам.');
    expect(unsearchedNote(1)).toMatch(/^Поиск пока не охватил около 1 записи журнала/);
    expect(unsearchedNote(21)).toMatch(/около 21 записи журнала/);
    expect(unsearchedNote(11)).toMatch(/около 11 записей журнала/);
    expect(unsearchedNote(3)).toMatch(/около 3 записей журнала/);
  });

  it('journal cells', () => {
    expect(directionArrow('out')).toBe('→');
    expect(directionArrow('in')).toBe('←');
    expect(systemName('1c')).toBe('1С');
    expect(systemName('paykeeper')).toBe('PayKeeper');
    expect(formatDuration(1.25)).toBe('1,3');
    expect(formatDuration(null)).toBe('—');
    expect(errorText({ code: 'timeout', message: 'нет ответа' })).toBe('нет ответа');
    expect(errorText('сбой')).toBe('сбой');
    expect(errorText(null)).toBe('');
  });

  it('money and bonus points in Russian notation', () => {
    expect(formatMoney('1234.5')).toBe('1\u00a0234,50\u00a0₽');
    expect(formatPoints(1250.5)).toBe('1\u00a0250,50');
    expect(formatPoints(null)).toBe('—');
  });

  it('today shows the time only, older entries the date too', () => {
    const now = new Date(2026, 10, 23, 15, 0, 0);
    expect(formatTime(new Date(2026, 10, 23, 9, 5, 7).toISOString(), now)).toBe('09:05:07');
    expect(formatTime(new Date(2026, 10, 20, 9, 5, 7).toISOString(), now)).toMatch(/^20\.11,? 09:05:07$/);
    expect(formatTime('not a date', now)).toBe('not a date');
  });
});
