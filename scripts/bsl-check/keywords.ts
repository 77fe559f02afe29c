/** BSL keywords the checks need, in both of the language's spellings (it is bilingual and case-insensitive). */

const spellings = {
  procedure: ['Процедура', 'Procedure'],
  endprocedure: ['КонецПроцедуры', 'EndProcedure'],
  function: ['Функция', 'Function'],
  endfunction: ['КонецФункции', 'EndFunction'],
  if: ['Если', 'If'],
  then: ['Тогда', 'Then'],
  elsif: ['ИначеЕсли', 'ElsIf'],
  else: ['Иначе', 'Else'],
  endif: ['КонецЕсли', 'EndIf'],
  for: ['Для', 'For'],
  while: ['Пока', 'While'],
  do: ['Цикл', 'Do'],
  enddo: ['КонецЦикла', 'EndDo'],
  try: ['Попытка', 'Try'],
  except: ['Исключение', 'Except'],
  endtry: ['КонецПопытки', 'EndTry'],
  return: ['Возврат', 'Return'],
  var: ['Перем', 'Var'],
  export: ['Экспорт', 'Export'],
  new: ['Новый', 'New'],
  or: ['Или', 'Or'],
} as const;

export type Keyword = keyof typeof spellings;

const byText = new Map<string, Keyword>();
for (const [kw, words] of Object.entries(spellings) as [Keyword, readonly string[]][]) {
  for (const w of words) byText.set(w.toLowerCase(), kw);
}

export function keywordOf(word: string): Keyword | undefined {
  return byText.get(word.toLowerCase());
}

/** The keyword as the author would write it: Russian when `like` is Cyrillic, else English. */
export function spell(kw: Keyword, like: string): string {
  return /[а-яё]/i.test(like) ? spellings[kw][0] : spellings[kw][1];
}

/** Same name to 1C: identifiers are case-insensitive. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
