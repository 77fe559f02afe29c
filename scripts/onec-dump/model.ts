/**
 * A configuration or extension dump as Designer writes it («Выгрузить конфигурацию в файлы»): files
 * by path, and the metadata objects they hold — each object's `<Folder>/<Name>.xml`, its child
 * objects with uuids, its forms and its modules.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';

/** Path inside the dump (with `/`) → text as read (UTF-8; a BOM stays as U+FEFF at the start). */
export type Files = Map<string, string>;

/** Object kinds in the order Designer lists them in Configuration.xml, with the folder of each. */
export const KINDS: ReadonlyArray<readonly [kind: string, folder: string]> = [
  ['Language', 'Languages'], ['Subsystem', 'Subsystems'], ['StyleItem', 'StyleItems'], ['Style', 'Styles'],
  ['CommonPicture', 'CommonPictures'], ['SessionParameter', 'SessionParameters'], ['Role', 'Roles'],
  ['CommonTemplate', 'CommonTemplates'], ['FilterCriterion', 'FilterCriteria'], ['CommonModule', 'CommonModules'],
  ['CommonAttribute', 'CommonAttributes'], ['ExchangePlan', 'ExchangePlans'], ['XDTOPackage', 'XDTOPackages'],
  ['WebService', 'WebServices'], ['HTTPService', 'HTTPServices'], ['WSReference', 'WSReferences'],
  ['EventSubscription', 'EventSubscriptions'], ['ScheduledJob', 'ScheduledJobs'], ['SettingsStorage', 'SettingsStorages'],
  ['FunctionalOption', 'FunctionalOptions'], ['FunctionalOptionsParameter', 'FunctionalOptionsParameters'],
  ['DefinedType', 'DefinedTypes'], ['CommonCommand', 'CommonCommands'], ['CommandGroup', 'CommandGroups'],
  ['Constant', 'Constants'], ['CommonForm', 'CommonForms'], ['Catalog', 'Catalogs'], ['Document', 'Documents'],
  ['DocumentNumerator', 'DocumentNumerators'], ['Sequence', 'Sequences'], ['DocumentJournal', 'DocumentJournals'],
  ['Enum', 'Enums'], ['Report', 'Reports'], ['DataProcessor', 'DataProcessors'], ['InformationRegister', 'InformationRegisters'],
  ['AccumulationRegister', 'AccumulationRegisters'], ['AccountingRegister', 'AccountingRegisters'],
  ['CalculationRegister', 'CalculationRegisters'], ['ChartOfCharacteristicTypes', 'ChartsOfCharacteristicTypes'],
  ['ChartOfAccounts', 'ChartsOfAccounts'], ['ChartOfCalculationTypes', 'ChartsOfCalculationTypes'],
  ['BusinessProcess', 'BusinessProcesses'], ['Task', 'Tasks'], ['ExternalDataSource', 'ExternalDataSources'],
];
const folderOf = new Map(KINDS.map(([k, f]) => [k, f]));
const kindOf = new Map(KINDS.map(([k, f]) => [f, k]));

export function folderOfKind(kind: string): string | undefined {
  return folderOf.get(kind);
}

export interface ChildObject {
  /** `Attribute`, `Dimension`, `Resource`, `URLTemplate`, … */
  kind: string;
  name: string;
  uuid: string;
  adopted: boolean;
  extends?: string;
  children: ChildObject[];
}

export interface Form {
  name: string;
  uuid: string;
  /** The form's metadata file, Forms/<name>.xml. */
  path: string;
  /** The form itself (Ext/Form.xml) and its module. */
  formPath: string;
  modulePath: string;
}

export interface MdObject {
  kind: string;
  name: string;
  uuid: string;
  /** `<Folder>/<Name>.xml` */
  path: string;
  adopted: boolean;
  /** ExtendedConfigurationObject: the object of the configuration a borrowed one stands for. */
  extends?: string;
  children: ChildObject[];
  forms: Form[];
  /** Files of the object's own Ext folder (modules, rights, schedule, …). */
  ext: string[];
}

/** Reads every file under `dir` as it is (BOM and line ends kept). */
export function readDump(dir: string): Files {
  const files: Files = new Map();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/** Parses XML; every warning or error of the parser is a problem (Designer refuses such files). */
export function parseXml(text: string, path: string, problems: string[]): Document | undefined {
  let failed = false;
  const report = (level: string) => (msg: unknown) => {
    failed = true;
    problems.push(`${path}: XML ${level}: ${String(msg).split('\n')[0]}`);
  };
  const doc = new DOMParser({ errorHandler: { warning: report('warning'), error: report('error'), fatalError: report('fatal error') } }).parseFromString(text.replace(/^\uFEFF/, ''), 'text/xml');
  return failed ? undefined : doc;
}

const isElement = (n: Node): n is Element => n.nodeType === 1;
export const elements = (parent: Node): Element[] => {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (isElement(n)) out.push(n);
  return out;
};
export const child = (parent: Node, name: string): Element | undefined => elements(parent).find((e) => e.localName === name);
export const text = (parent: Node | undefined, name: string): string | undefined => (parent ? child(parent, name)?.textContent?.trim() : undefined);

/** The metadata object a top-level `<Folder>/<Name>.xml` describes (root MetaDataObject → its one element). */
function objectElement(doc: Document): Element | undefined {
  const root = doc.documentElement;
  return root?.localName === 'MetaDataObject' ? elements(root)[0] : undefined;
}

function childObjects(el: Element): ChildObject[] {
  const list = child(el, 'ChildObjects');
  if (!list) return [];
  return elements(list)
    .filter((e) => e.getAttribute('uuid'))
    .map((e) => {
      const props = child(e, 'Properties');
      return {
        kind: e.localName ?? '',
        name: text(props, 'Name') ?? '',
        uuid: e.getAttribute('uuid') ?? '',
        adopted: text(props, 'ObjectBelonging') === 'Adopted',
        extends: text(props, 'ExtendedConfigurationObject'),
        children: childObjects(e),
      };
    });
}

/**
 * The dump's metadata objects: every `<Folder>/<Name>.xml` directly under a known kind folder.
 * Files that do not parse are reported in `problems` and left out.
 */
export function objectsOf(files: Files, problems: string[] = []): MdObject[] {
  const out: MdObject[] = [];
  for (const [path, body] of files) {
    const m = /^([^/]+)\/([^/]+)\.xml$/.exec(path);
    const kind = m && kindOf.get(m[1]);
    if (!m || !kind) continue;
    const doc = parseXml(body, path, problems);
    const el = doc && objectElement(doc);
    if (!el) continue;
    const props = child(el, 'Properties');
    const name = text(props, 'Name') ?? '';
    if (el.localName !== kind || name !== m[2]) {
      problems.push(`${path}: описан «${el.localName}.${name}», а по имени файла ожидался «${kind}.${m[2]}»`);
    }
    const dir = `${m[1]}/${m[2]}`;
    const forms: Form[] = [];
    for (const formName of elements(child(el, 'ChildObjects') ?? el).filter((e) => e.localName === 'Form').map((e) => e.textContent?.trim() ?? '')) {
      const formPath = `${dir}/Forms/${formName}.xml`;
      const formDoc = files.has(formPath) ? parseXml(files.get(formPath) ?? '', formPath, problems) : undefined;
      forms.push({
        name: formName,
        uuid: (formDoc && objectElement(formDoc)?.getAttribute('uuid')) ?? '',
        path: formPath,
        formPath: `${dir}/Forms/${formName}/Ext/Form.xml`,
        modulePath: `${dir}/Forms/${formName}/Ext/Form/Module.bsl`,
      });
    }
    out.push({
      kind,
      name,
      uuid: el.getAttribute('uuid') ?? '',
      path,
      adopted: text(props, 'ObjectBelonging') === 'Adopted',
      extends: text(props, 'ExtendedConfigurationObject'),
      children: childObjects(el),
      forms,
      ext: [...files.keys()].filter((p) => p.startsWith(`${dir}/Ext/`)),
    });
  }
  return out;
}

/** Configuration.xml: the extension's properties and its ChildObjects list (`Kind.Name`, in order). */
export function configurationOf(files: Files, problems: string[] = []): { name: string; uuid: string; prefix: string; version: string; listed: string[] } | undefined {
  const body = files.get('Configuration.xml');
  if (body === undefined) {
    problems.push('Configuration.xml: нет файла');
    return undefined;
  }
  const doc = parseXml(body, 'Configuration.xml', problems);
  const el = doc && objectElement(doc);
  if (!doc || !el) return undefined;
  const props = child(el, 'Properties');
  return {
    name: text(props, 'Name') ?? '',
    uuid: el.getAttribute('uuid') ?? '',
    prefix: text(props, 'NamePrefix') ?? '',
    version: doc.documentElement.getAttribute('version') ?? '',
    listed: elements(child(el, 'ChildObjects') ?? el).map((e) => `${e.localName}.${e.textContent?.trim() ?? ''}`),
  };
}
