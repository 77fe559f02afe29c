/**
 * The files under onec/ that scripts/onec-dump.ts owns, as they should be: modules in Designer's
 * bytes, ConfigDumpInfo.xml of each dump, and the УТ 11 variant of Sputnik's extension built from
 * the Розница 2.3 dump and its overlay.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configDumpInfo } from './dumpinfo.ts';
import { configurationOf, readDump, type Files } from './model.ts';
import { buildVariant } from './variant.ts';

/** Dumps kept in the repository as Designer's files (edited by hand or re-dumped from Designer). */
export const SOURCE_DUMPS = ['onec/regate/src', 'onec/sputnik/rozn23'];
/** Dumps built from a base dump and an overlay of what differs. */
export const VARIANTS = [{ base: 'onec/sputnik/rozn23', overlay: 'onec/sputnik/ut11-overlay', out: 'onec/sputnik/ut11' }];
/** Every loadable dump. */
export const DUMPS = [...SOURCE_DUMPS, ...VARIANTS.map((v) => v.out)];

/** A module as Designer writes it: UTF-8 with a BOM, CRLF line ends. */
export function designerText(text: string): string {
  return `\uFEFF${text.replace(/^\uFEFF/, '').replace(/\r?\n/g, '\r\n')}`;
}

const isModule = (path: string) => path.endsWith('.bsl');

// Modules in Designer's bytes; other files as they are.
function normalized(files: Files): Files {
  return new Map([...files].map(([p, t]) => [p, isModule(p) ? designerText(t) : t]));
}

function withDumpInfo(files: Files): Files {
  const configuration = configurationOf(files);
  if (!configuration) return files;
  return new Map([...files, ['ConfigDumpInfo.xml', configDumpInfo(files, configuration)]]);
}

/**
 * Path relative to `root` → the text the file should have (a module's text starts with the BOM).
 * Source dumps contribute only their modules and ConfigDumpInfo.xml; variants, every file.
 */
export function expectedFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const put = (dir: string, files: Files, all: boolean) => {
    for (const [p, t] of files) if (all || isModule(p) || p === 'ConfigDumpInfo.xml') out.set(`${dir}/${p}`, t);
  };
  for (const dir of SOURCE_DUMPS) put(dir, withDumpInfo(normalized(readDump(join(root, dir)))), false);
  for (const v of VARIANTS) {
    const overlay = normalized(readDump(join(root, v.overlay)));
    put(v.overlay, overlay, false);
    put(v.out, withDumpInfo(buildVariant(normalized(readDump(join(root, v.base))), overlay)), true);
  }
  return out;
}

/** Files of a variant's folder that the build does not produce (left from a removed object). */
export function staleFiles(root: string, expected: Map<string, string>): string[] {
  return VARIANTS.flatMap((v) => (existsSync(join(root, v.out)) ? [...readDump(join(root, v.out)).keys()].map((p) => `${v.out}/${p}`) : [])).filter(
    (p) => !expected.has(p),
  );
}
