/**
 * The BSL check: the structural findings of each module, plus two rules across modules —
 * `Модуль.Метод(` on one of our common modules names an Экспорт routine of it, and code compiled
 * on the (managed) client does not touch server-only objects.
 *
 * Client code is: a routine marked `&НаКлиенте` (or `&НаКлиентеНаСервереБезКонтекста`), and,
 * outside such directives, a common module with the «Клиент (управляемое приложение)» flag —
 * unless the code sits inside `#Если Сервер Или ВнешнееСоединение Тогда … #КонецЕсли` (a condition of
 * only Сервер, НаСервере, ВнешнееСоединение joined by Или; other conditions are not evaluated).
 */
import { readModule, type ModuleModel, type Routine } from './module.ts';
import { repoSources, type Source } from './sources.ts';
import type { Finding } from './tokens.ts';

export type { Finding, Source };

interface CommonModule {
  name: string;
  routines: Routine[];
}

export function checkRepo(root: string): Finding[] {
  return checkSources(repoSources(root));
}

export function checkSources(sources: Source[]): Finding[] {
  const read = sources.map((source) => ({ source, model: readModule(source.text) }));
  const modulesByDump = new Map<string, CommonModule[]>();
  for (const { source, model } of read) {
    if (!source.commonModule || source.dump === undefined) continue;
    const list = modulesByDump.get(source.dump) ?? [];
    list.push({ name: source.commonModule, routines: model.routines });
    modulesByDump.set(source.dump, list);
  }
  const all = [...modulesByDump.values()].flat();

  const findings: Finding[] = [];
  for (const { source, model } of read) {
    const at = (line: number, message: string) => findings.push({ file: source.file, line: line + source.firstLine - 1, message });
    if (source.problem) at(1, source.problem);
    for (const f of model.findings) at(f.line, f.message);
    // Doc blocks show how to call the modules from a configuration, so they see all of ours.
    checkCalls(model, source.dump === undefined ? all : (modulesByDump.get(source.dump) ?? []), at);
    checkClientCode(model, source, at);
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function checkCalls(model: ModuleModel, modules: CommonModule[], at: (line: number, message: string) => void): void {
  for (const call of model.calls) {
    const targets = modules.filter((m) => m.name.toLowerCase() === call.module.toLowerCase());
    if (targets.length === 0) continue; // not ours (БСП's ОбщегоНазначения, a variable, …)
    const found = targets.flatMap((m) => m.routines.filter((r) => r.name.toLowerCase() === call.method.toLowerCase()));
    if (found.some((r) => r.exported)) continue;
    const name = `${call.module}.${call.method}`;
    at(
      call.line,
      found.length > 0
        ? `«${name}»: «${found[0].name}» в общем модуле «${targets[0].name}» не экспортирована (нет «Экспорт»)`
        : `«${name}»: в общем модуле «${targets[0].name}» нет процедуры или функции «${call.method}»`,
    );
  }
}

function checkClientCode(model: ModuleModel, source: Source, at: (line: number, message: string) => void): void {
  for (const use of model.serverUses) {
    if (use.serverOnly) continue;
    const directive = use.routine?.directive;
    const context = directive?.context ?? source.context?.context;
    if (context !== 'client' && context !== 'both') continue;
    const why = directive ? `«${use.routine?.name}» компилируется на клиенте (&${directive.name})` : source.context?.why;
    at(use.line, `«${use.what}» недоступно на клиенте: ${why}; перенесите это в серверную процедуру или внутрь «#Если Сервер Или ВнешнееСоединение Тогда»`);
  }
}
