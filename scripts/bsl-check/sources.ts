/**
 * What the BSL check reads in a repository: every .bsl file under onec/ and every ```bsl block in
 * the repository's Markdown, each with what it needs to know about its module — which dump
 * (configuration or extension folder) it belongs to, the common module it is, and where its code
 * is compiled by default.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import type { Context } from './module.ts';

export interface Source {
  /** Path relative to the repository root, with `/`. */
  file: string;
  /** Line of the file where `text` starts (a code block in Markdown starts below its fence). */
  firstLine: number;
  text: string;
  /** The dump or folder whose common modules `Модуль.Метод(` resolves against; none for doc blocks (they see all). */
  dump?: string;
  /** Set when this is a common module: its name. */
  commonModule?: string;
  /** Where code without an `&НаКлиенте`-style directive is compiled, and why; none when unknown (doc blocks). */
  context?: { context: Context; why: string };
  /** Set when the module's context could not be found out (a common module with no flags anywhere). */
  problem?: string;
}

export function repoSources(root: string): Source[] {
  const sources: Source[] = [];
  const onec = join(root, 'onec');
  if (existsSync(onec)) for (const file of walk(onec, '.bsl')) sources.push(moduleSource(root, file));
  for (const file of walk(root, '.md')) sources.push(...docSources(root, file));
  return sources;
}

function walk(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...walk(join(dir, e.name), ext));
    } else if (e.name.endsWith(ext)) {
      out.push(join(dir, e.name));
    }
  }
  return out;
}

const rel = (root: string, file: string): string => relative(root, file).split(sep).join('/');

function moduleSource(root: string, path: string): Source {
  const text = readFileSync(path, 'utf8');
  const file = rel(root, path);
  const common = /^(.*)\/CommonModules\/([^/]+)(?:\/Ext\/Module)?\.bsl$/.exec(path.split(sep).join('/'));
  const dump = rel(root, dumpOf(path, common?.[1]));
  if (!common) return { file, firstLine: 1, text, dump, context: moduleContext(file) };

  const [, parent, name] = common;
  const flags = xmlFlags(join(parent, 'CommonModules', `${name}.xml`)) ?? readmeFlags(join(parent, 'README.md'), name) ?? readmeFlags(path, name);
  if (!flags) {
    return {
      file, firstLine: 1, text, dump, commonModule: name,
      problem: `не найдены флажки общего модуля «${name}»: нет ни CommonModules/${name}.xml, ни строки «общий модуль «${name}» (флажки: …)» в README.md рядом или в начале модуля`,
    };
  }
  const context: Context = flags.client ? (flags.server ? 'both' : 'client') : 'server';
  return {
    file, firstLine: 1, text, dump, commonModule: name,
    context: { context, why: `общий модуль «${name}» компилируется на клиенте (флажок «Клиент (управляемое приложение)», ${flags.from})` },
  };
}

// The configuration or extension a module belongs to: the nearest folder with Configuration.xml;
// for loose modules (onec/CommonModules/X.bsl), the folder that holds CommonModules.
function dumpOf(path: string, commonParent: string | undefined): string {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'Configuration.xml'))) return dir;
  }
  return commonParent ?? dirname(path);
}

// Modules other than common ones: by their place in Designer's dump.
function moduleContext(file: string): Source['context'] {
  if (/\/Forms\/[^/]+\/Ext\/Form\/Module\.bsl$/.test(file)) return { context: 'server', why: 'модуль формы' };
  if (/\/Ext\/(CommandModule|ManagedApplicationModule)\.bsl$/.test(file)) {
    return { context: 'client', why: `${basename(file, '.bsl')} компилируется на клиенте` };
  }
  return { context: 'server', why: 'серверный модуль' };
}

interface Flags {
  client: boolean;
  server: boolean;
  from: string;
}

function xmlFlags(path: string): Flags | undefined {
  if (!existsSync(path)) return undefined;
  const doc = new DOMParser().parseFromString(readFileSync(path, 'utf8'), 'text/xml');
  const flag = (tag: string) => doc.getElementsByTagName(tag)[0]?.textContent?.trim() === 'true';
  return { client: flag('ClientManagedApplication'), server: flag('Server') || flag('ExternalConnection'), from: `CommonModules/${basename(path)}` };
}

// `общий модуль «Спутник» (флажки: Сервер, Клиент (управляемое приложение), Внешнее соединение)`,
// as onec/README.md and the modules' first comments describe them.
function readmeFlags(path: string, name: string): Flags | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').replace(/\s*(?:\/\/)?\s*\n\s*(?:\/\/)?\s*/g, ' ');
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`общий модуль «${escaped}» \\(флажки: ((?:[^()]|\\([^()]*\\))*)\\)`, 'i').exec(text);
  if (!m) return undefined;
  const items = m[1].split(/,(?![^(]*\))/).map((s) => s.trim().toLowerCase());
  return {
    client: items.some((s) => s.startsWith('клиент')),
    server: items.some((s) => s === 'сервер' || s.startsWith('внешнее соединение')),
    from: `по ${basename(path)}`,
  };
}

function docSources(root: string, path: string): Source[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const out: Source[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})\s*bsl\s*$/i.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[end])) end++;
    out.push({ file: rel(root, path), firstLine: i + 2, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return out;
}
