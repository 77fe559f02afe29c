import { describe, expect, it } from 'vitest';
import { likeContains, readableText, searchKey, SEARCH_TEXT } from '../../main/store/search-text.ts';

describe('searchKey: one spelling for the stored text and the query', () => {
  it('folds Cyrillic case, ё to е, compatibility forms and runs of spaces', () => {
    expect(searchKey('Иванова')).toBe('иванова');
    expect(searchKey('иванова')).toBe('иванова');
    expect(searchKey('ИВАНОВА')).toBe('иванова');
    expect(searchKey('Ёлкина')).toBe('елкина');
    expect(searchKey('ЁЛКИНА')).toBe(searchKey('елкина'));
    expect(searchKey('Фе\u0308дорова')).toBe('федорова'); // е + combining diaeresis, as some keyboards type ё
    expect(searchKey('ЗК-0005')).toBe(searchKey('зк-0005'));
    expect(searchKey('ＺＫ－０００５')).toBe('zk-0005'); // full-width forms
    expect(searchKey('  ООО\u00a0 «Ромашка»\n')).toBe('ооо «ромашка»');
    expect(searchKey('İSTANBUL')).toBe('i̇stanbul'); // no locale: the same result on every machine
  });

  it('a query matches inside the stored text of a row, field by field', () => {
    const card = SEARCH_TEXT.card({ code: 'C-1', name: 'Ёлкина Мария', email: 'M.Elkina@Example.RU', card_id: null });
    expect(card).toBe('c-1\nелкина мария\nm.elkina@example.ru');
    for (const q of ['ЁЛКИНА', 'елкина', 'Ёлкина мария', 'ELKINA@example']) expect(card).toContain(searchKey(q));
    expect(card).not.toContain(searchKey('c-1 елкина')); // a match does not span two fields
  });

  it('the journal\'s text is what a person reads: URLs and form bodies decoded, JSON \\u escapes decoded', () => {
    expect(readableText('/v1/invoices/%D0%97%D0%9A-0005?wait=5')).toBe('/v1/invoices/ЗК-0005?wait=5');
    expect(readableText('{"buyer":"\\u0418\\u0432\\u0430\\u043d\\u043e\\u0432\\u0430"}')).toBe('{"buyer":"Иванова"}');
    expect(readableText('100% и %ZZ и %D0')).toBe('100% и %ZZ и %D0'); // not an escape, or not UTF-8: kept
    const row = SEARCH_TEXT.journal({ url: '/v1/invoices/%D0%97%D0%9A-0005', entity: 'invoice:ЗК-0005', req_body: null, res_body: '{"error":"Дубль заказа"}', error: null });
    expect(row).toContain(searchKey('зк-0005'));
    expect(row).toContain(searchKey('ДУБЛЬ'));
  });

  it('LIKE wildcards in a query are literal', () => {
    expect(likeContains(searchKey('100%_\\'))).toBe('%100\\%\\_\\\\%');
  });
});
