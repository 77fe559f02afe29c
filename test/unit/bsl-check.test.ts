import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkRepo, checkSources, type Source } from '../../scripts/bsl-check/check.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The BSL check (scripts/bsl-check): 1C rejects a whole module for one error, and nothing here can
 * run the platform, so the 1C side's code is checked as text: the repository's own BSL must be
 * clean, and each planted mistake must be reported at its line.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Findings as `line: message` for one inline module (a doc block: no module of its own). */
function check(text: string, more: Partial<Source> = {}, others: Source[] = []): string[] {
  const source: Source = { file: 'sample.bsl', firstLine: 1, text, ...more };
  return checkSources([source, ...others]).filter((f) => f.file === 'sample.bsl').map((f) => `${f.line}: ${f.message}`);
}

const bsl = (...lines: string[]) => lines.join('\n');

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

describe('the repository', () => {
  it('has no findings in onec/**/*.bsl and the ```bsl blocks of its Markdown', () => {
    expect(checkRepo(ROOT)).toEqual([]);
  });
});

describe('planted mistakes', () => {
  it('an Если without КонецЕсли is reported at the Если', () => {
    const text = bsl(
      'Процедура А()',
      '	Если Истина Тогда',
      '		Сообщить("если");',
      'КонецПроцедуры',
    );
    expect(check(text)).toEqual(['2: нет «КонецЕсли» для «Если» (строка 2)']);
  });

  it('a КонецЦикла with no loop, and unclosed blocks at the end of the text', () => {
    expect(check(bsl('Процедура А()', '	КонецЦикла;', 'КонецПроцедуры'))).toEqual(['2: «КонецЦикла» без начала блока']);
    expect(check(bsl('Функция Б()', '	Попытка', '		Возврат 1;'))).toEqual([
      '1: нет «КонецФункции» для «Функция» (строка 1)',
      '2: нет «КонецПопытки» для «Попытка» (строка 2)',
    ]);
  });

  it('a condition with no Тогда, a loop header with no Цикл', () => {
    const text = bsl(
      'Процедура А(Массив)',
      '	Если Массив.Количество() = 0',
      '		Возврат;',
      '	КонецЕсли;',
      '	Для Каждого Элемент Из Массив',
      '		Сообщить(Элемент);',
      '	КонецЦикла;',
      '	Пока Ложь',
      '	КонецЦикла;',
      'КонецПроцедуры',
    );
    expect(check(text)).toEqual(['2: после «Если» нет «Тогда»', '5: после «Для» нет «Цикл»', '8: после «Пока» нет «Цикл»']);
  });

  it('two routines whose names differ only in case (what broke the ReGate module)', () => {
    const text = bsl(
      'Функция ClientGET(Запрос)',
      '	Возврат ClientGet(Запрос);',
      'КонецФункции',
      '',
      'Функция ClientGet(Контекст)',
      '	Возврат Неопределено;',
      'КонецФункции',
    );
    expect(check(text)).toEqual(['5: «ClientGet» уже объявлена в строке 1 как «ClientGET» (имена в 1С не различают регистр): модуль не скомпилируется']);
  });

  it('module variables declared twice', () => {
    expect(check(bsl('Перем Кэш Экспорт, Счетчик;', 'Перем кэш;'))).toEqual([
      '2: переменная «кэш» уже объявлена в строке 1 как «Кэш» (имена в 1С не различают регистр)',
    ]);
  });

  it('Возврат with a value in a Процедура, and without one in a Функция', () => {
    const text = bsl(
      'Процедура А()',
      '	Если Истина Тогда',
      '		Возврат', // a bare one may end a block without `;`
      '	КонецЕсли;',
      '	Возврат Истина;',
      'КонецПроцедуры',
      'Функция Б()',
      '	Возврат;',
      'КонецФункции',
    );
    expect(check(text)).toEqual(['5: «Возврат» со значением в процедуре «А»: значение возвращает только функция', '8: «Возврат» без значения в функции «Б»']);
  });

  it('a call to a routine of our common module that is not exported, or not there', () => {
    const module: Source = {
      file: 'onec/CommonModules/СпутникКарты.bsl',
      firstLine: 1,
      dump: 'onec',
      commonModule: 'СпутникКарты',
      context: { context: 'server', why: '' },
      text: bsl('Процедура ОтправитьКарту(Карта) Экспорт', 'КонецПроцедуры', 'Функция ДанныеКарты(Карта)', '	Возврат 1;', 'КонецФункции'),
    };
    const text = bsl(
      'Процедура А(Карта)',
      '	СпутникКарты.ОтправитьКарту(Карта);',
      '	спутниккарты.ДанныеКарты(Карта);',
      '	СпутникКарты.ЗагрузитьВсё();',
      '	ОбщегоНазначения.ЗначениеРеквизитаОбъекта(Карта, "Код"); // БСП: not ours, not checked',
      'КонецПроцедуры',
    );
    expect(check(text, {}, [module])).toEqual([
      '3: «спутниккарты.ДанныеКарты»: «ДанныеКарты» в общем модуле «СпутникКарты» не экспортирована (нет «Экспорт»)',
      '4: «СпутникКарты.ЗагрузитьВсё»: в общем модуле «СпутникКарты» нет процедуры или функции «ЗагрузитьВсё»',
    ]);
    // A module of another dump is not the one a module calls.
    expect(check(text, { dump: 'onec/regate/src' }, [module])).toEqual([]);
  });

  it('Константы in a &НаКлиенте routine; the same in &НаСервере is fine', () => {
    const text = bsl(
      '&НаКлиенте',
      'Процедура Команда(Команда)',
      '	Токен = Константы.СпутникТокен.Получить();',
      'КонецПроцедуры',
      '',
      '&НаСервере',
      'Процедура КомандаНаСервере()',
      '	Токен = Константы.СпутникТокен.Получить();',
      '	Запрос = Новый Запрос;',
      'КонецПроцедуры',
    );
    expect(check(text)).toEqual([
      '3: «Константы» недоступно на клиенте: «Команда» компилируется на клиенте (&НаКлиенте); перенесите это в серверную процедуру или внутрь «#Если Сервер Или ВнешнееСоединение Тогда»',
    ]);
  });

  it('a common module compiled on the client and the server reads a constant only under #Если Сервер', () => {
    const common: Partial<Source> = {
      commonModule: 'Спутник',
      dump: 'onec',
      context: { context: 'both', why: 'общий модуль «Спутник» компилируется на клиенте (флажок «Клиент (управляемое приложение)», по README.md)' },
    };
    // The README's advice («прочитайте токен из константы») followed literally:
    const naive = bsl(
      'Функция НастройкиПодключения() Экспорт',
      '	Настройки = Новый Структура("Токен", Константы.СпутникТокен.Получить());',
      '	Возврат Настройки;',
      'КонецФункции',
    );
    expect(check(naive, common)).toEqual([
      '2: «Константы» недоступно на клиенте: общий модуль «Спутник» компилируется на клиенте (флажок «Клиент (управляемое приложение)», по README.md); перенесите это в серверную процедуру или внутрь «#Если Сервер Или ВнешнееСоединение Тогда»',
    ]);
    const guarded = bsl(
      'Функция НастройкиПодключения() Экспорт',
      '	Настройки = Новый Структура("Токен", "");',
      '	#Если Сервер Или ВнешнееСоединение Тогда',
      '	Настройки.Токен = Константы.СпутникТокен.Получить();',
      '	#Иначе',
      '	Настройки.Токен = Константы.СпутникТокен.Получить();',
      '	#КонецЕсли',
      '	Возврат Настройки;',
      'КонецФункции',
    );
    expect(check(guarded, common)).toEqual([expect.stringMatching(/^6: «Константы» недоступно на клиенте/)]);
    expect(check(bsl('#Если НаСервере Тогда', 'Процедура Б()', '	Запрос = Новый Запрос;', 'КонецПроцедуры', '#КонецЕсли'), common)).toEqual([]);
    expect(check(bsl('#Если Не ВебКлиент Тогда', 'Процедура Б()', '	Запрос = Новый Запрос;', 'КонецПроцедуры', '#КонецЕсли'), common)).toEqual([
      expect.stringMatching(/^3: «Новый Запрос» недоступно на клиенте/),
    ]);
  });

  it('unclosed strings, dates and preprocessor blocks', () => {
    const text = bsl(
      '#Область Первая',
      'Процедура А()',
      '	Текст = "ВЫБРАТЬ',
      '	Т.Код";', // a continuation line must start with |
      '	Дата = \'20240101;',
      'КонецПроцедуры',
      '#Если Сервер',
      '#КонецЕсли',
    );
    expect(check(text)).toEqual([
      '1: нет «#КонецОбласти» для «#Область Первая»',
      '3: строка не закрыта кавычкой (продолжение строки должно начинаться с «|»)',
      // the stray quote of line 4 opens a string that runs to the end of its line
      '4: строка не закрыта кавычкой (продолжение строки должно начинаться с «|»)',
      '5: дата не закрыта апострофом',
      '7: после «#Если» нет «Тогда»',
    ]);
  });

  it('the English keywords are the same language', () => {
    const ok = bsl(
      'Function Total(Items) Export',
      '	Sum = 0;',
      '	For Each Item In Items Do',
      '		If Item = Undefined Then',
      '			Continue;',
      '		ElsIf Item > 0 Then',
      '			Sum = Sum + Item;',
      '		Else',
      '			Raise "negative";',
      '		EndIf;',
      '	EndDo;',
      '	Return Sum;',
      'EndFunction',
    );
    expect(check(ok)).toEqual([]);
    expect(check(bsl('Procedure A()', '	While True', '	EndDo;', '	Return 1;', 'EndProcedure'))).toEqual([
      '2: после «While» нет «Do»',
      '4: «Return» со значением в процедуре «A»: значение возвращает только функция',
    ]);
  });
});

describe('a correct module', () => {
  it('with keywords inside strings, comments, dates and multi-line queries has no findings', () => {
    const text = bsl(
      '// Если здесь КонецПроцедуры — это комментарий',
      '#Область ПрограммныйИнтерфейс',
      '',
      'Перем Кэш;',
      '',
      '&НаСервере',
      'Функция Данные(Знач Код, Режим = "Если") Экспорт // Функция в комментарии',
      '	Запрос = Новый Запрос(',
      '	"ВЫБРАТЬ',
      '	|	Т.Ссылка КАК Ссылка // не комментарий, а текст запроса',
      '	// а это комментарий между строками продолжения',
      '	|ИЗ',
      '	|	Справочник.Карты КАК Т',
      '	|ГДЕ',
      '	|	Т.Код = ""Процедура"" И Т.Дата > &Дата");',
      '	Запрос.УстановитьПараметр("Дата", \'20240101000000\');',
      '	Текст = "Строка с ""кавычками"", КонецЕсли; и // не комментарий";',
      '	Если Режим = "Если" Тогда Возврат ?(Код = "", Неопределено, Код); КонецЕсли;',
      '	Для Номер = 1 По 3 Цикл',
      '		Если Номер = 2 Тогда',
      '			Прервать;',
      '		ИначеЕсли Номер = 3',
      '			И Код <> "" Тогда',
      '			Продолжить;',
      '		Иначе',
      '			Попытка',
      '				ВызватьИсключение "Цикл";',
      '			Исключение',
      '				Сообщить(КраткоеПредставлениеОшибки(ИнформацияОбОшибке()));',
      '			КонецПопытки;',
      '		КонецЕсли',
      '	КонецЦикла;',
      '	Объект = Новый Структура("Если, Тогда", 1, 2);',
      '	Сообщить(Объект.Если + Объект.Тогда);',
      '	Возврат Запрос.Выполнить().Выгрузить();',
      'КонецФункции',
      '',
      'Функция Разделитель(Текст, Открыть = "(", Закрыть = ")")',
      '	Если Текст = ";" Тогда',
      '		Возврат ";"',
      '	КонецЕсли;',
      '	Возврат "." + Открыть',
      'КонецФункции',
      '',
      '#Если Сервер Или ВнешнееСоединение Тогда',
      'Процедура Очистить() Экспорт',
      '	Константы.Курсор.Установить("");',
      '	Возврат',
      'КонецПроцедуры',
      '#КонецЕсли',
      '',
      '#КонецОбласти',
      '',
      'Кэш = Новый Соответствие;',
    );
    expect(check(text, { context: { context: 'both', why: 'x' } })).toEqual([]);
  });
});

describe('over a repository', () => {
  it('reads the compile flags from onec/README.md and from an extension dump, and resolves doc blocks against every module', async () => {
    const root = tempDir('bsl-check-');
    write(root, {
      'onec/README.md': bsl(
        '- `CommonModules/Спутник.bsl` — общий модуль «Спутник» (флажки: Сервер, Клиент (управляемое',
        '  приложение), Внешнее соединение).',
      ),
      'onec/CommonModules/Спутник.bsl': bsl('Функция Токен() Экспорт', '	Возврат Константы.СпутникТокен.Получить();', 'КонецФункции'),
      'onec/ext/src/Configuration.xml': '<MetaDataObject/>',
      'onec/ext/src/CommonModules/Клиент.xml':
        '<MetaDataObject><CommonModule><Properties><Name>Клиент</Name><ClientManagedApplication>true</ClientManagedApplication><Server>false</Server></Properties></CommonModule></MetaDataObject>',
      'onec/ext/src/CommonModules/Клиент/Ext/Module.bsl': bsl('Процедура Показать() Экспорт', '	Сообщить(Справочники.Карты.ПустаяСсылка());', 'КонецПроцедуры'),
      'onec/ext/src/CommonModules/Сервер.xml': '<MetaDataObject><CommonModule><Properties><Server>true</Server></Properties></CommonModule></MetaDataObject>',
      'onec/ext/src/CommonModules/Сервер/Ext/Module.bsl': bsl('Процедура Записать()', '	Запрос = Новый Запрос;', 'КонецПроцедуры'),
      'onec/ext/src/CommonModules/Без.bsl': '',
      'docs/how.md': bsl('Текст', '', '```bsl', '&НаСервере', 'Процедура А()', '	Сервер.Записать();', '	Спутник.Токен();', 'КонецПроцедуры', '```'),
      'node_modules/x/README.md': bsl('```bsl', 'Если', '```'),
    });
    const findings = checkRepo(root).map((f) => `${f.file}:${f.line}: ${f.message}`);
    expect(findings).toEqual([
      'docs/how.md:6: «Сервер.Записать»: «Записать» в общем модуле «Сервер» не экспортирована (нет «Экспорт»)',
      'onec/CommonModules/Спутник.bsl:2: «Константы» недоступно на клиенте: общий модуль «Спутник» компилируется на клиенте (флажок «Клиент (управляемое приложение)», по README.md); перенесите это в серверную процедуру или внутрь «#Если Сервер Или ВнешнееСоединение Тогда»',
      'onec/ext/src/CommonModules/Без.bsl:1: не найдены флажки общего модуля «Без»: нет ни CommonModules/Без.xml, ни строки «общий модуль «Без» (флажки: …)» в README.md рядом или в начале модуля',
      'onec/ext/src/CommonModules/Клиент/Ext/Module.bsl:2: «Справочники» недоступно на клиенте: общий модуль «Клиент» компилируется на клиенте (флажок «Клиент (управляемое приложение)», CommonModules/Клиент.xml); перенесите это в серверную процедуру или внутрь «#Если Сервер Или ВнешнееСоединение Тогда»',
    ]);

    // The CLI prints the same, one `file:line: message` a line, and fails.
    const cli = fileURLToPath(new URL('../../scripts/bsl-check.ts', import.meta.url));
    const run = await promisify(execFile)(process.execPath, [cli, root]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(run).toEqual({ code: 1, stdout: findings.map((f) => `${f}\n`).join('') });
  });
});
