/**
 * ConfigDumpInfo.xml, which Designer writes beside every dump: one entry per object (with its child
 * objects nested), per form and per module, each with a version hash. Designer uses it to load only
 * what changed (`/LoadConfigFromFiles … -updateConfigDumpInfo`); a full load does not need the hashes
 * to match anything, so they are the SHA-1 of the files.
 */
import { createHash } from 'node:crypto';
import { objectsOf, type ChildObject, type Files } from './model.ts';

// The id suffix Designer gives an object's Ext files in ConfigDumpInfo (seen in real dumps).
const EXT_IDS: Record<string, number> = { 'Module.bsl': 0, 'Rights.xml': 0, 'CommandInterface.xml': 1, 'RecordSetModule.bsl': 1, 'CommandModule.bsl': 2 };

const sha1 = (...texts: (string | undefined)[]) => createHash('sha1').update(texts.join('\0')).digest('hex');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

interface Entry {
  name: string;
  id: string;
  version?: string;
  nested: string[];
}

function nested(prefix: string, children: ChildObject[], depth: number): string[] {
  return children.flatMap((c) => {
    const name = `${prefix}.${c.kind}.${c.name}`;
    const inner = nested(name, c.children, depth + 1);
    const tabs = '\t'.repeat(depth);
    return inner.length === 0
      ? [`${tabs}<Metadata name="${esc(name)}" id="${c.uuid}"/>`]
      : [`${tabs}<Metadata name="${esc(name)}" id="${c.uuid}">`, ...inner, `${tabs}</Metadata>`];
  });
}

/** ConfigDumpInfo.xml for the dump (its objects as they are in `files`). */
export function configDumpInfo(files: Files, configuration: { name: string; uuid: string; version: string }): string {
  const entries: Entry[] = [{ name: `Configuration.${configuration.name}`, id: configuration.uuid, version: sha1(files.get('Configuration.xml')), nested: [] }];
  for (const o of objectsOf(files)) {
    const name = `${o.kind}.${o.name}`;
    entries.push({ name, id: o.uuid, version: sha1(files.get(o.path)), nested: nested(name, o.children, 3) });
    for (const ext of o.ext) {
      const file = ext.slice(ext.lastIndexOf('/') + 1);
      const suffix = EXT_IDS[file];
      if (suffix !== undefined) entries.push({ name: `${name}.${file.replace(/\.(bsl|xml)$/, '')}`, id: `${o.uuid}.${suffix}`, version: sha1(files.get(ext)), nested: [] });
    }
    for (const f of o.forms) {
      entries.push({ name: `${name}.Form.${f.name}`, id: f.uuid, version: sha1(files.get(f.path)), nested: [] });
      entries.push({ name: `${name}.Form.${f.name}.Form`, id: `${f.uuid}.0`, version: sha1(files.get(f.formPath), files.get(f.modulePath)), nested: [] });
    }
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = entries.flatMap((e) => {
    const head = `\t\t<Metadata name="${esc(e.name)}" id="${e.id}" configVersion="${e.version}"`;
    return e.nested.length === 0 ? [`${head}/>`] : [`${head}>`, ...e.nested, '\t\t</Metadata>'];
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<ConfigDumpInfo xmlns="http://v8.1c.ru/8.3/xcf/dumpinfo" xmlns:xen="http://v8.1c.ru/8.3/xcf/enums" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" format="Hierarchical" version="${configuration.version}">`,
    '\t<ConfigVersions>',
    ...lines,
    '\t</ConfigVersions>',
    '</ConfigDumpInfo>',
    '',
  ].join('\n');
}
