import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readModule } from '../../scripts/bsl-check/module.ts';
import { checkDump } from '../../scripts/onec-dump/check.ts';
import { DUMPS, expectedFiles, staleFiles } from '../../scripts/onec-dump/expected.ts';
import { objectsOf, readDump } from '../../scripts/onec-dump/model.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The 1C extension dumps (onec/regate/src, onec/sputnik/rozn23, onec/sputnik/ut11): nothing here can
 * run Designer, so what «Загрузить расширение из файлов» needs is checked as text — and each planted
 * mistake must be reported, naming the file.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROZN = 'onec/sputnik/rozn23';

/** A copy of the Розница dump to plant a mistake in. */
function plant(change: (dir: string) => void): string[] {
  const dir = join(tempDir('onec-dump-'), 'src');
  cpSync(join(ROOT, ROZN), dir, { recursive: true });
  change(dir);
  return checkDump(readDump(dir));
}

const edit = (path: string, from: string | RegExp, to: string) => {
  const body = readFileSync(path, 'utf8');
  const next = body.replace(from, to);
  if (next === body) throw new Error(`nothing to replace in ${path}`);
  writeFileSync(path, next);
};

describe('the dumps in the repository', () => {
  it.each(DUMPS)('%s loads: no structural problem', (dir) => {
    expect(checkDump(readDump(join(ROOT, dir)))).toEqual([]);
  });

  it('are up to date with node scripts/onec-dump.ts: modules in Designer bytes, ConfigDumpInfo.xml, the УТ 11 variant', () => {
    const expected = expectedFiles(ROOT);
    const outdated = [...expected].filter(([p, t]) => {
      try {
        return readFileSync(join(ROOT, p), 'utf8') !== t;
      } catch {
        return true;
      }
    });
    expect(outdated.map(([p]) => p)).toEqual([]);
    expect(staleFiles(ROOT, expected)).toEqual([]);
  });

  it('the УТ 11 variant borrows КартыЛояльности where Розница borrows ИнформационныеКарты, and nothing else differs but the adapter', () => {
    const rozn = readDump(join(ROOT, ROZN));
    const ut = readDump(join(ROOT, 'onec/sputnik/ut11'));
    const names = (files: typeof rozn) => objectsOf(files).map((o) => `${o.kind}.${o.name}`).sort();
    expect(names(rozn).filter((n) => !names(ut).includes(n))).toEqual(['Catalog.ИнформационныеКарты']);
    expect(names(ut).filter((n) => !names(rozn).includes(n))).toEqual(['Catalog.КартыЛояльности']);
    expect(ut.get('EventSubscriptions/сп_КартаПередЗаписью.xml')).toContain('<v8:Type>cfg:CatalogObject.КартыЛояльности</v8:Type>');
    expect(ut.get('Configuration.xml')).toContain('<v8:content>Спутник (1С:Управление торговлей 11)</v8:content>');

    const module = 'CommonModules/сп_Конфигурация/Ext/Module.bsl';
    const exported = (files: typeof rozn) =>
      readModule(files.get(module) ?? '')
        .routines.filter((r) => r.exported)
        .map((r) => `${r.kind} ${r.name}`)
        .sort();
    expect(exported(ut)).toEqual(exported(rozn));
    expect(ut.get(module)).not.toEqual(rozn.get(module));
    // Everything else is the same text: one source for the shared code.
    const shared = [...rozn.keys()].filter((p) => p.endsWith('.bsl') && p !== module);
    expect(shared.filter((p) => ut.get(p) !== rozn.get(p))).toEqual([]);
  });
});

describe('planted mistakes are reported', () => {
  it('an object listed in Configuration.xml whose file is gone', () => {
    const problems = plant((dir) => rmSync(join(dir, 'CommonModules/сп_СпутникОчередь.xml')));
    expect(problems).toContain('Configuration.xml: объект CommonModule.сп_СпутникОчередь указан, но файла CommonModules/сп_СпутникОчередь.xml нет');
    expect(problems).toContain('ConfigDumpInfo.xml: CommonModule.сп_СпутникОчередь — такого объекта в выгрузке нет');
  });

  it('an object file Configuration.xml does not list', () => {
    const problems = plant((dir) => {
      const body = readFileSync(join(dir, 'Constants/сп_КурсорКарт.xml'), 'utf8').replace(/сп_КурсорКарт/g, 'сп_Лишняя');
      writeFileSync(join(dir, 'Constants/сп_Лишняя.xml'), body);
    });
    expect(problems).toContain('Constants/сп_Лишняя.xml: объекта Constant.сп_Лишняя нет в ChildObjects файла Configuration.xml');
  });

  it('a uuid used twice', () => {
    const problems = plant((dir) => {
      const taken = /<Constant uuid="([^"]+)"/.exec(readFileSync(join(dir, 'Constants/сп_КурсорКарт.xml'), 'utf8'))?.[1] ?? '';
      edit(join(dir, 'Constants/сп_КурсорСчетов.xml'), /<Constant uuid="[^"]+"/, `<Constant uuid="${taken}"`);
    });
    expect(problems.some((p) => /^Constants\/сп_КурсорСчетов\.xml: uuid [0-9a-f-]+ уже есть в Constants\/сп_КурсорКарт\.xml$/.test(p))).toBe(true);
  });

  it('a borrowed object without ExtendedConfigurationObject, and an added attribute without the prefix', () => {
    const problems = plant((dir) => {
      edit(join(dir, 'Catalogs/ИнформационныеКарты.xml'), /\t\t\t<ExtendedConfigurationObject>[^<]+<\/ExtendedConfigurationObject>\n/, '');
      edit(join(dir, 'Catalogs/ИнформационныеКарты.xml'), '<Name>сп_cardUrl</Name>', '<Name>cardUrl</Name>');
    });
    expect(problems).toContain(
      'Catalogs/ИнформационныеКарты.xml: Catalog.ИнформационныеКарты заимствован (ObjectBelonging Adopted), но нет ExtendedConfigurationObject с uuid объекта конфигурации',
    );
    expect(problems).toContain('Catalogs/ИнформационныеКарты.xml: Catalog.ИнформационныеКарты.Attribute.cardUrl добавлен расширением, но без префикса «сп_»');
  });

  it('a module without the BOM, with LF line ends', () => {
    const problems = plant((dir) => {
      const path = join(dir, 'CommonModules/сп_Спутник/Ext/Module.bsl');
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n'));
    });
    expect(problems).toEqual([
      'CommonModules/сп_Спутник/Ext/Module.bsl: модуль без BOM (Designer пишет модули в UTF-8 с BOM)',
      'CommonModules/сп_Спутник/Ext/Module.bsl: строки разделены LF, а не CRLF',
    ]);
  });

  it('a form without its module', () => {
    const problems = plant((dir) => rmSync(join(dir, 'DataProcessors/сп_НастройкиСпутника/Forms/Форма/Ext/Form/Module.bsl')));
    expect(problems).toEqual([
      'DataProcessors/сп_НастройкиСпутника.xml: у формы нет файла DataProcessors/сп_НастройкиСпутника/Forms/Форма/Ext/Form/Module.bsl',
    ]);
  });

  it('a scheduled job whose method is not exported, a subscription whose handler does not exist', () => {
    const problems = plant((dir) => {
      edit(join(dir, 'CommonModules/сп_СпутникОчередь/Ext/Module.bsl'), 'Процедура ОтправитьОчередь() Экспорт', 'Процедура ОтправитьОчередь()');
      edit(join(dir, 'EventSubscriptions/сп_БонусыПриЗаписи.xml'), 'сп_СпутникПодписки.БонусыПриЗаписи', 'сп_СпутникПодписки.БонусыПослеЗаписи');
    });
    expect(problems).toContain(
      'ScheduledJobs/сп_ОтправкаОчереди.xml: MethodName CommonModule.сп_СпутникОчередь.ОтправитьОчередь: процедура ОтправитьОчередь не экспортирована',
    );
    expect(problems).toContain(
      'EventSubscriptions/сп_БонусыПриЗаписи.xml: Handler CommonModule.сп_СпутникПодписки.БонусыПослеЗаписи: в модуле сп_СпутникПодписки нет процедуры БонусыПослеЗаписи',
    );
  });

  it('a subscription on a configuration object the extension does not borrow', () => {
    const problems = plant((dir) => {
      rmSync(join(dir, 'AccumulationRegisters/БонусныеБаллы.xml'));
      edit(join(dir, 'Configuration.xml'), /\t\t\t<AccumulationRegister>БонусныеБаллы<\/AccumulationRegister>\n/, '');
    });
    expect(problems).toContain(
      'EventSubscriptions/сп_БонусыПриЗаписи.xml: источник cfg:AccumulationRegisterRecordSet.БонусныеБаллы: объекта AccumulationRegister.БонусныеБаллы нет в расширении (объект конфигурации нужно заимствовать)',
    );
  });

  it('XML that is not well-formed, and an object ConfigDumpInfo.xml does not list', () => {
    const problems = plant((dir) => {
      edit(join(dir, 'ScheduledJobs/сп_ЗагрузкаКарт/Ext/Schedule.xml'), '</Schedule>', '</Schedul>');
      edit(join(dir, 'ConfigDumpInfo.xml'), /\t\t<Metadata name="Constant\.сп_ТаймаутКарт"[^\n]*\n/, '');
    });
    expect(problems.some((p) => p.startsWith('ScheduledJobs/сп_ЗагрузкаКарт/Ext/Schedule.xml: XML'))).toBe(true);
    expect(problems).toContain('ConfigDumpInfo.xml: нет Constant.сп_ТаймаутКарт (node scripts/onec-dump.ts обновит файл)');
  });
});
