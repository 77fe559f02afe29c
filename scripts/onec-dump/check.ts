/**
 * What Designer needs of a dump to load it, checked as text (there is no platform here): every
 * XML file is well-formed; Configuration.xml lists exactly the objects that have files; borrowed
 * objects are marked as such; uuids are unique; ConfigDumpInfo.xml lists every object; modules are
 * UTF-8 with a BOM and CRLF; every form has its Form.xml and module; event subscription handlers
 * and scheduled job methods name exported routines of server common modules of the dump; the
 * types a subscription listens to are objects of the dump (a configuration object must be borrowed
 * to be named).
 */
import { readModule } from '../bsl-check/module.ts';
import { child, configurationOf, elements, folderOfKind, objectsOf, parseXml, text, type ChildObject, type Files, type MdObject } from './model.ts';

// Own objects whose name is their public identity: an HTTP service's name is in the publication
// and in the roles' rights, so it keeps the name it was published under.
const UNPREFIXED_KINDS = new Set(['HTTPService']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Event subscription source types (`cfg:CatalogObject.X`) → the object kind they belong to.
const SOURCE_KINDS: Record<string, string> = {
  CatalogObject: 'Catalog', DocumentObject: 'Document', ChartOfCharacteristicTypesObject: 'ChartOfCharacteristicTypes',
  ExchangePlanObject: 'ExchangePlan', BusinessProcessObject: 'BusinessProcess', TaskObject: 'Task',
  InformationRegisterRecordSet: 'InformationRegister', AccumulationRegisterRecordSet: 'AccumulationRegister',
  AccountingRegisterRecordSet: 'AccountingRegister', CalculationRegisterRecordSet: 'CalculationRegister',
  ConstantValueManager: 'Constant',
};

/** Problems of one dump, each `path: what is wrong` in Russian; empty when Designer would load it. */
export function checkDump(files: Files): string[] {
  const problems: string[] = [];
  for (const [path, body] of files) if (path.endsWith('.xml')) parseXml(body, path, problems);
  const xmlProblems = problems.length;
  const configuration = configurationOf(files, []);
  const objects = objectsOf(files, []);
  if (!configuration) return problems.length > 0 ? problems : ['Configuration.xml: нет файла или он не читается'];

  checkListed(configuration.listed, objects, problems);
  checkBorrowed(configuration.prefix, objects, problems);
  checkUuids(files, problems);
  checkDumpInfo(files, configuration, objects, problems);
  checkModules(files, problems);
  checkForms(files, objects, problems);
  checkHandlers(files, objects, problems);
  // A file that does not parse is reported once, by itself.
  return [...problems.slice(0, xmlProblems), ...new Set(problems.slice(xmlProblems))];
}

function checkListed(listed: string[], objects: MdObject[], problems: string[]): void {
  const have = new Set(objects.map((o) => `${o.kind}.${o.name}`));
  for (const key of listed) {
    const kind = key.slice(0, key.indexOf('.'));
    const folder = folderOfKind(kind);
    if (!folder) problems.push(`Configuration.xml: неизвестный вид объекта «${kind}» (${key})`);
    else if (!have.has(key)) problems.push(`Configuration.xml: объект ${key} указан, но файла ${folder}/${key.slice(kind.length + 1)}.xml нет`);
  }
  for (const o of objects) if (!listed.includes(`${o.kind}.${o.name}`)) problems.push(`${o.path}: объекта ${o.kind}.${o.name} нет в ChildObjects файла Configuration.xml`);
  for (const key of new Set(listed)) if (listed.indexOf(key) !== listed.lastIndexOf(key)) problems.push(`Configuration.xml: ${key} указан дважды`);
}

function checkBorrowed(prefix: string, objects: MdObject[], problems: string[]): void {
  const marks = (path: string, what: string, o: { adopted: boolean; extends?: string }) => {
    if (o.adopted && !(o.extends && UUID.test(o.extends))) {
      problems.push(`${path}: ${what} заимствован (ObjectBelonging Adopted), но нет ExtendedConfigurationObject с uuid объекта конфигурации`);
    }
    if (!o.adopted && o.extends) problems.push(`${path}: ${what} с ExtendedConfigurationObject, но без ObjectBelonging Adopted`);
  };
  const ownChildren = (o: MdObject, children: ChildObject[], parent: string) => {
    for (const c of children) {
      const what = `${parent}.${c.kind}.${c.name}`;
      marks(o.path, what, c);
      // Added to a borrowed object: its name must not clash with the configuration's own.
      if (o.adopted && !c.adopted && prefix && !c.name.startsWith(prefix)) problems.push(`${o.path}: ${what} добавлен расширением, но без префикса «${prefix}»`);
      ownChildren(o, c.children, what);
    }
  };
  for (const o of objects) {
    const what = `${o.kind}.${o.name}`;
    marks(o.path, what, o);
    if (o.kind === 'Language' && !o.adopted) problems.push(`${o.path}: язык в расширении всегда заимствован (ObjectBelonging Adopted)`);
    if (!o.adopted && prefix && !o.name.startsWith(prefix) && !UNPREFIXED_KINDS.has(o.kind)) {
      problems.push(`${o.path}: ${what} — собственный объект расширения без префикса «${prefix}» (или не отмечен как заимствованный)`);
    }
    ownChildren(o, o.children, what);
  }
}

function checkUuids(files: Files, problems: string[]): void {
  const seen = new Map<string, string>();
  for (const [path, body] of files) {
    if (!path.endsWith('.xml') || path === 'ConfigDumpInfo.xml') continue;
    const ids = [
      ...[...body.matchAll(/\buuid="([^"]+)"/g)].map((m) => m[1]),
      ...[...body.matchAll(/<(?:xr:TypeId|xr:ValueId|xr:ObjectId|ExtendedConfigurationObject)>([^<]+)</g)].map((m) => m[1]),
    ];
    for (const id of ids) {
      const key = id.toLowerCase();
      if (!UUID.test(key)) problems.push(`${path}: «${id}» — не uuid`);
      const first = seen.get(key);
      if (first) problems.push(`${path}: uuid ${id} уже есть в ${first}`);
      else seen.set(key, path);
    }
  }
}

function checkDumpInfo(files: Files, configuration: { name: string; uuid: string }, objects: MdObject[], problems: string[]): void {
  const body = files.get('ConfigDumpInfo.xml');
  if (body === undefined) {
    problems.push('ConfigDumpInfo.xml: нет файла (node scripts/onec-dump.ts запишет его)');
    return;
  }
  const doc = parseXml(body, 'ConfigDumpInfo.xml', []);
  if (!doc) return;
  const ids = new Map<string, string>();
  const collect = (parent: Node) => {
    for (const e of elements(parent)) {
      if (e.localName === 'Metadata') ids.set(e.getAttribute('name') ?? '', e.getAttribute('id') ?? '');
      collect(e);
    }
  };
  collect(doc);
  const expect = [
    [`Configuration.${configuration.name}`, configuration.uuid],
    ...objects.flatMap((o) => [[`${o.kind}.${o.name}`, o.uuid], ...o.forms.map((f) => [`${o.kind}.${o.name}.Form.${f.name}`, f.uuid])]),
  ];
  for (const [name, id] of expect) {
    if (!ids.has(name)) problems.push(`ConfigDumpInfo.xml: нет ${name} (node scripts/onec-dump.ts обновит файл)`);
    else if (ids.get(name) !== id) problems.push(`ConfigDumpInfo.xml: у ${name} id ${ids.get(name)}, а в выгрузке ${id}`);
  }
  const known = new Set(expect.map(([n]) => n));
  for (const name of ids.keys()) {
    const top = name.split('.').slice(0, 2).join('.');
    if (!known.has(top) && !name.startsWith('Configuration.')) problems.push(`ConfigDumpInfo.xml: ${name} — такого объекта в выгрузке нет`);
  }
}

function checkModules(files: Files, problems: string[]): void {
  for (const [path, body] of files) {
    if (!path.endsWith('.bsl')) continue;
    if (!body.startsWith('\uFEFF')) problems.push(`${path}: модуль без BOM (Designer пишет модули в UTF-8 с BOM)`);
    if (/(^|[^\r])\n/.test(body)) problems.push(`${path}: строки разделены LF, а не CRLF`);
  }
}

function checkForms(files: Files, objects: MdObject[], problems: string[]): void {
  for (const o of objects) {
    const forms = o.kind === 'CommonForm' ? [{ path: o.path, formPath: `CommonForms/${o.name}/Ext/Form.xml`, modulePath: `CommonForms/${o.name}/Ext/Form/Module.bsl` }] : o.forms;
    for (const f of forms) {
      for (const p of [f.path, f.formPath, f.modulePath]) if (!files.has(p)) problems.push(`${o.path}: у формы нет файла ${p}`);
    }
    const listed = new Set(o.forms.map((f) => f.path));
    const prefix = `${o.path.slice(0, -'.xml'.length)}/Forms/`;
    for (const p of files.keys()) {
      if (p.startsWith(prefix) && /^[^/]+\.xml$/.test(p.slice(prefix.length)) && !listed.has(p)) problems.push(`${p}: формы нет в ChildObjects ${o.path}`);
    }
  }
}

function checkHandlers(files: Files, objects: MdObject[], problems: string[]): void {
  const have = new Set(objects.map((o) => `${o.kind}.${o.name}`));
  for (const o of objects) {
    if (o.kind !== 'EventSubscription' && o.kind !== 'ScheduledJob') continue;
    const doc = parseXml(files.get(o.path) ?? '', o.path, []);
    const props = doc && child(elements(doc.documentElement)[0], 'Properties');
    if (!props) continue;
    const property = o.kind === 'EventSubscription' ? 'Handler' : 'MethodName';
    const target = text(props, property) ?? '';
    const m = /^CommonModule\.([^.]+)\.([^.]+)$/.exec(target);
    if (!m) {
      problems.push(`${o.path}: ${property} «${target}» — нужно CommonModule.<Модуль>.<Процедура>`);
    } else {
      const [, module, routine] = m;
      const moduleXml = files.get(`CommonModules/${module}.xml`);
      const source = files.get(`CommonModules/${module}/Ext/Module.bsl`);
      if (moduleXml === undefined || source === undefined) {
        problems.push(`${o.path}: ${property} ${target}: в выгрузке нет общего модуля ${module}`);
      } else {
        const found = readModule(source).routines.find((r) => r.name.toLowerCase() === routine.toLowerCase());
        if (!found) problems.push(`${o.path}: ${property} ${target}: в модуле ${module} нет процедуры ${routine}`);
        else if (!found.exported) problems.push(`${o.path}: ${property} ${target}: процедура ${routine} не экспортирована`);
        if (!/<Server>true<\/Server>/.test(moduleXml)) problems.push(`${o.path}: ${property} ${target}: модуль ${module} не серверный (флажок «Сервер»)`);
      }
    }
    if (o.kind === 'EventSubscription') {
      for (const t of elements(child(props, 'Source') ?? props).map((e) => e.textContent?.trim() ?? '')) {
        const s = /^cfg:(\w+)\.(.+)$/.exec(t);
        const kind = s && SOURCE_KINDS[s[1]];
        if (s && kind && !have.has(`${kind}.${s[2]}`)) problems.push(`${o.path}: источник ${t}: объекта ${kind}.${s[2]} нет в расширении (объект конфигурации нужно заимствовать)`);
      }
    }
  }
}
