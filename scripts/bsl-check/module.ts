/**
 * One BSL module read into what the checks need: its routines (name, kind, Экспорт, compile
 * directive), qualified calls `Модуль.Метод(`, uses of server-only objects, and the findings of
 * the structural rules: balanced blocks and preprocessor instructions, Тогда/Цикл after their
 * headers, Возврат with a value only in a Функция, no two routines or module variables whose
 * names differ only in case.
 *
 * Preprocessor branches are not evaluated: both sides of a `#Если … #Иначе` are read as one
 * text, so declaring one routine twice under different conditions is reported as a duplicate.
 */
import { keywordOf, sameName, spell, type Keyword } from './keywords.ts';
import { tokenize, type Finding, type Token } from './tokens.ts';

export type Context = 'client' | 'server' | 'both';

export interface Routine {
  name: string;
  kind: 'procedure' | 'function';
  exported: boolean;
  line: number;
  /** From `&НаКлиенте` and the like; undefined when the routine has none. */
  directive?: { name: string; context: Context };
}

export interface Call {
  module: string;
  method: string;
  line: number;
}

export interface ServerUse {
  /** `Константы`, `Новый Запрос`, … as written. */
  what: string;
  line: number;
  routine?: Routine;
  /** Inside `#Если Сервер Или ВнешнееСоединение Тогда`: never compiled on the client. */
  serverOnly: boolean;
}

export interface ModuleModel {
  routines: Routine[];
  calls: Call[];
  serverUses: ServerUse[];
  findings: Omit<Finding, 'file'>[];
}

const directives = new Map<string, Context>([
  ['наклиенте', 'client'],
  ['atclient', 'client'],
  ['насервере', 'server'],
  ['atserver', 'server'],
  ['насерверебезконтекста', 'server'],
  ['atservernocontext', 'server'],
  ['наклиентенасерверебезконтекста', 'both'],
  ['atclientatservernocontext', 'both'],
  ['наклиентенасервере', 'both'],
  ['atclientatserver', 'both'],
]);

// Global properties and types 1C provides only on the server (and in the external connection and
// the thick client): a managed client module that names them does not compile.
const serverManagers = new Set(
  [
    'Константы', 'Справочники', 'Документы', 'ЖурналыДокументов', 'Последовательности', 'РегистрыСведений',
    'РегистрыНакопления', 'РегистрыБухгалтерии', 'РегистрыРасчета', 'ПланыВидовХарактеристик', 'ПланыСчетов',
    'ПланыВидовРасчета', 'ПланыОбмена', 'БизнесПроцессы', 'Задачи', 'Обработки', 'Отчеты', 'РегламентныеЗадания',
    'ФоновыеЗадания', 'БезопасноеХранилищеДанных', 'ХранилищеОбщихНастроек', 'ХранилищеСистемныхНастроек',
    'ПользователиИнформационнойБазы', 'ПараметрыСеанса', 'Метаданные',
    'Constants', 'Catalogs', 'Documents', 'InformationRegisters', 'AccumulationRegisters', 'AccountingRegisters',
    'ChartsOfCharacteristicTypes', 'ChartsOfAccounts', 'ExchangePlans', 'BusinessProcesses', 'Tasks',
    'DataProcessors', 'Reports', 'ScheduledJobs', 'BackgroundJobs', 'SecureDataStorage', 'CommonSettingsStorage',
    'InfoBaseUsers', 'SessionParameters', 'Metadata',
  ].map((w) => w.toLowerCase()),
);
const serverTypes = new Set(
  [
    'Запрос', 'МенеджерВременныхТаблиц', 'ТаблицаЗначений', 'ДеревоЗначений', 'БлокировкаДанных', 'ПостроительЗапроса',
    'Query', 'TempTablesManager', 'ValueTable', 'ValueTree', 'DataLock', 'QueryBuilder',
  ].map((w) => w.toLowerCase()),
);
const serverFunctions = new Set(
  [
    'НачатьТранзакцию', 'ЗафиксироватьТранзакцию', 'ОтменитьТранзакцию', 'УстановитьПривилегированныйРежим',
    'BeginTransaction', 'CommitTransaction', 'RollbackTransaction', 'SetPrivilegedMode',
  ].map((w) => w.toLowerCase()),
);
// A `#Если` whose condition names only these (joined by Или) is code the client never compiles;
// any other condition (НЕ ВебКлиент, …) is not evaluated, and its code is checked as the module's.
const serverSymbols = new Set(['сервер', 'насервере', 'внешнеесоединение', 'server', 'atserver', 'externalconnection']);

type Block =
  | { kind: 'routine'; token: Token; routine: Routine }
  | { kind: 'if'; token: Token; hasElse: boolean }
  | { kind: 'loop'; token: Token }
  | { kind: 'try'; token: Token; hasExcept: boolean };

const closers: Record<Routine['kind'] | Exclude<Block['kind'], 'routine'>, Keyword> = {
  procedure: 'endprocedure',
  function: 'endfunction',
  if: 'endif',
  loop: 'enddo',
  try: 'endtry',
};

// A header that meets one of these before its Тогда/Цикл lacks it.
const statementKeywords = new Set<Keyword>([
  'procedure', 'endprocedure', 'function', 'endfunction', 'if', 'elsif', 'else', 'endif', 'for', 'while',
  'enddo', 'try', 'except', 'endtry', 'return', 'var',
]);
// After a bare Возврат the next token is one of these (the last statement of a block needs no `;`).
const blockEnds = new Set<Keyword>(['endprocedure', 'endfunction', 'endif', 'elsif', 'else', 'enddo', 'except', 'endtry']);

interface PreBlock {
  kind: 'region' | 'if' | 'insert' | 'delete';
  line: number;
  text: string;
  serverOnly: boolean;
}
const preOpen: Record<string, PreBlock['kind']> = {
  область: 'region', region: 'region', если: 'if', if: 'if', вставка: 'insert', insert: 'insert', удаление: 'delete', delete: 'delete',
};
const preClose: Record<string, PreBlock['kind']> = {
  конецобласти: 'region', endregion: 'region', конецесли: 'if', endif: 'if',
  конецвставки: 'insert', endinsert: 'insert', конецудаления: 'delete', enddelete: 'delete',
};

export function readModule(text: string): ModuleModel {
  const { tokens, problems } = tokenize(text);
  const findings: Omit<Finding, 'file'>[] = [...problems];
  const routines: Routine[] = [];
  const calls: Call[] = [];
  const serverUses: ServerUse[] = [];
  const blocks: Block[] = [];
  const pre: PreBlock[] = [];
  const varsByScope = new Map<Routine | undefined, Map<string, { name: string; line: number }>>();
  let pendingDirective: Routine['directive'];
  // After Если/ИначеЕсли the condition runs to Тогда; after Для/Пока the header runs to Цикл.
  let awaiting: { expected: Keyword; opener: Token } | undefined;

  const report = (line: number, message: string): void => void findings.push({ line, message });
  const punct = (i: number, text: string): boolean => tokens[i]?.kind === 'punct' && tokens[i].text === text;
  // `Объект.Новый` or `Структура.Если` after a dot is a property, not a keyword.
  const kw = (i: number): Keyword | undefined => (tokens[i]?.kind === 'word' && !punct(i - 1, '.') ? keywordOf(tokens[i].text) : undefined);
  const routine = (): Routine | undefined => (blocks[0]?.kind === 'routine' ? blocks[0].routine : undefined);
  const unclosed = (b: Block): void => {
    const close = b.kind === 'routine' ? closers[b.routine.kind] : closers[b.kind];
    report(b.token.line, `нет «${spell(close, b.token.text)}» для «${b.token.text}» (строка ${b.token.line})`);
  };
  // An end keyword closes the innermost block of its kind; blocks left open inside it are reported.
  const close = (kind: Block['kind'], t: Token): Block | undefined => {
    const at = blocks.findLastIndex((b) => b.kind === kind);
    if (at < 0) {
      report(t.line, `«${t.text}» без начала блока`);
      return undefined;
    }
    for (const b of blocks.splice(at + 1).reverse()) unclosed(b);
    return blocks.pop();
  };
  const declare = (name: string, line: number, what: string): void => {
    const scope = routine();
    const seen = varsByScope.get(scope) ?? new Map<string, { name: string; line: number }>();
    varsByScope.set(scope, seen);
    const prev = seen.get(name.toLowerCase());
    if (prev) report(line, `${what} «${name}» уже объявлена в строке ${prev.line} как «${prev.name}» (имена в 1С не различают регистр)`);
    else seen.set(name.toLowerCase(), { name, line });
  };

  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i];
    const k = kw(i);
    if (awaiting) {
      if (k === awaiting.expected) {
        awaiting = undefined;
        i++;
        continue;
      }
      if ((k && statementKeywords.has(k)) || punct(i, ';') || t.kind === 'preproc' || t.kind === 'directive') {
        report(awaiting.opener.line, `после «${awaiting.opener.text}» нет «${spell(awaiting.expected, awaiting.opener.text)}»`);
        awaiting = undefined;
      }
    }
    if (t.kind === 'preproc') {
      preprocessor(t, pre, report);
      i++;
      continue;
    }
    if (t.kind === 'directive') {
      const context = directives.get(t.text.toLowerCase());
      // Extension annotations (&Перед, &Вместо, …) keep the context directive next to them.
      if (context) pendingDirective = { name: t.text, context };
      i++;
      continue;
    }
    if (t.kind === 'word' && !k && !punct(i - 1, '.')) {
      const lower = t.text.toLowerCase();
      const afterNew = kw(i - 1) === 'new';
      if ((punct(i + 1, '.') && serverManagers.has(lower)) || (punct(i + 1, '(') && serverFunctions.has(lower)) || (afterNew && serverTypes.has(lower))) {
        serverUses.push({
          what: afterNew ? `${tokens[i - 1].text} ${t.text}` : t.text,
          line: t.line,
          routine: routine(),
          serverOnly: pre.some((p) => p.serverOnly),
        });
      }
      if (punct(i + 1, '.') && tokens[i + 2]?.kind === 'word' && punct(i + 3, '(')) {
        calls.push({ module: t.text, method: tokens[i + 2].text, line: t.line });
      }
    }
    switch (k) {
      case 'procedure':
      case 'function': {
        for (const b of blocks.splice(0).reverse()) unclosed(b);
        const name = tokens[i + 1];
        let j = i + 1;
        if (name?.kind !== 'word') {
          report(t.line, `после «${t.text}» нет имени`);
        } else {
          j = i + 2;
          if (!punct(j, '(')) report(t.line, `после имени «${name.text}» нет списка параметров в скобках`);
          else {
            for (let depth = 0; j < tokens.length; j++) {
              if (punct(j, '(')) depth++;
              else if (punct(j, ')') && --depth === 0) break;
            }
            j++;
          }
        }
        const exported = kw(j) === 'export';
        const r: Routine = { name: name?.kind === 'word' ? name.text : '', kind: k, exported, line: t.line, directive: pendingDirective };
        pendingDirective = undefined;
        const dup = r.name ? routines.find((x) => sameName(x.name, r.name)) : undefined;
        if (dup) {
          report(t.line, `«${r.name}» уже объявлена в строке ${dup.line} как «${dup.name}» (имена в 1С не различают регистр): модуль не скомпилируется`);
        }
        routines.push(r);
        blocks.push({ kind: 'routine', token: t, routine: r });
        i = exported ? j + 1 : j;
        continue;
      }
      case 'endprocedure':
      case 'endfunction': {
        const want = k === 'endprocedure' ? 'procedure' : 'function';
        const opened = close('routine', t);
        if (opened?.kind === 'routine' && opened.routine.kind !== want) {
          report(t.line, `«${t.text}» закрывает «${opened.token.text} ${opened.routine.name}» (строка ${opened.token.line})`);
        }
        break;
      }
      case 'if':
        blocks.push({ kind: 'if', token: t, hasElse: false });
        awaiting = { expected: 'then', opener: t };
        break;
      case 'elsif': {
        const top = blocks.at(-1);
        if (top?.kind !== 'if' || top.hasElse) report(t.line, `«${t.text}» без «Если» или после «Иначе»`);
        awaiting = { expected: 'then', opener: t };
        break;
      }
      case 'else': {
        const top = blocks.at(-1);
        if (top?.kind !== 'if' || top.hasElse) report(t.line, `«${t.text}» без «Если» или повторно`);
        else top.hasElse = true;
        break;
      }
      case 'endif':
        close('if', t);
        break;
      case 'for':
      case 'while':
        blocks.push({ kind: 'loop', token: t });
        awaiting = { expected: 'do', opener: t };
        break;
      case 'enddo':
        close('loop', t);
        break;
      case 'try':
        blocks.push({ kind: 'try', token: t, hasExcept: false });
        break;
      case 'except': {
        const top = blocks.at(-1);
        if (top?.kind !== 'try' || top.hasExcept) report(t.line, `«${t.text}» без «Попытка»`);
        else top.hasExcept = true;
        break;
      }
      case 'endtry': {
        const opened = close('try', t);
        if (opened?.kind === 'try' && !opened.hasExcept) report(opened.token.line, `у «${opened.token.text}» нет «${spell('except', opened.token.text)}»`);
        break;
      }
      case 'then':
      case 'do':
        report(t.line, `«${t.text}» без заголовка «${spell(k === 'then' ? 'if' : 'for', t.text)}»`);
        break;
      case 'return': {
        const r = routine();
        const nk = kw(i + 1);
        const bare = i + 1 === tokens.length || punct(i + 1, ';') || tokens[i + 1].kind === 'preproc' || (nk !== undefined && blockEnds.has(nk));
        if (r?.kind === 'procedure' && !bare) {
          report(t.line, `«${t.text}» со значением в процедуре «${r.name}»: значение возвращает только функция`);
        } else if (r?.kind === 'function' && bare) {
          report(t.line, `«${t.text}» без значения в функции «${r.name}»`);
        }
        break;
      }
      case 'var': {
        pendingDirective = undefined;
        let j = i + 1;
        for (; j < tokens.length && !punct(j, ';'); j++) {
          if (tokens[j].kind === 'word' && kw(j) !== 'export') declare(tokens[j].text, tokens[j].line, 'переменная');
          if (kw(j) && kw(j) !== 'export') break;
        }
        i = j;
        continue;
      }
    }
    i++;
  }
  if (awaiting) report(awaiting.opener.line, `после «${awaiting.opener.text}» нет «${spell(awaiting.expected, awaiting.opener.text)}»`);
  for (const b of blocks.reverse()) unclosed(b);
  for (const p of pre.reverse()) report(p.line, `нет «#${p.kind === 'region' ? 'КонецОбласти' : p.kind === 'if' ? 'КонецЕсли' : p.kind === 'insert' ? 'КонецВставки' : 'КонецУдаления'}» для «#${p.text}»`);
  return { routines, calls, serverUses, findings };
}

function preprocessor(t: Token, pre: PreBlock[], report: (line: number, message: string) => void): void {
  const [first = '', ...rest] = t.text.split(/\s+/);
  const word = first.toLowerCase();
  const words = rest.map((w) => w.toLowerCase());
  const conditionWords = () => {
    if (!/^(тогда|then)$/.test(words.at(-1) ?? '')) report(t.line, `после «#${first}» нет «Тогда»`);
    return words.slice(0, -1).filter((w) => w !== 'или' && w !== 'or');
  };
  const serverOnlyCondition = () => {
    const names = conditionWords();
    return names.length > 0 && names.every((w) => serverSymbols.has(w));
  };
  if (preOpen[word]) {
    pre.push({ kind: preOpen[word], line: t.line, text: t.text, serverOnly: preOpen[word] === 'if' && serverOnlyCondition() });
  } else if (preClose[word]) {
    if (pre.at(-1)?.kind === preClose[word]) pre.pop();
    else report(t.line, `«#${first}» без начала`);
  } else if (word === 'иначеесли' || word === 'elsif' || word === 'иначе' || word === 'else') {
    const top = pre.at(-1);
    if (top?.kind !== 'if') report(t.line, `«#${first}» без «#Если»`);
    // The other branches are compiled where the first one is not: check them as ordinary code.
    else top.serverOnly = word === 'иначеесли' || word === 'elsif' ? serverOnlyCondition() : false;
  } else if (word !== 'использовать' && word !== 'use') {
    report(t.line, `неизвестная инструкция препроцессора «#${first}»`);
  }
}
