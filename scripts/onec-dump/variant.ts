/**
 * A variant of an extension dump: the base dump with an overlay's files put over it. The overlay
 * holds only what differs (the configuration-specific adapter module, a borrowed object under
 * another name, an event subscription on it) and `variant.json`: what to drop from the base and
 * how the variant presents itself. Configuration.xml's list of objects is rebuilt from the files,
 * so the base's order is kept and the overlay's new objects join their kind.
 */
import { z } from 'zod';
import { KINDS, objectsOf, type Files } from './model.ts';

const variantSchema = z.strictObject({
  /** Base dump files (and their object folders) the variant does not have. */
  drop: z.array(z.string().regex(/^[^/]+\/[^/]+\.xml$/, 'путь вида Папка/Имя.xml')),
  synonym: z.string().min(1),
  briefInformation: z.string().min(1),
  detailedInformation: z.string().min(1),
});

export type Variant = z.infer<typeof variantSchema>;

export function readVariant(overlay: Files): Variant {
  const body = overlay.get('variant.json');
  if (body === undefined) throw new Error('variant.json: нет файла');
  const parsed = variantSchema.safeParse(JSON.parse(body));
  if (!parsed.success) throw new Error(`variant.json: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The first `<v8:content>` inside a Configuration property (Synonym, BriefInformation, …).
function setLocalString(xml: string, property: string, value: string): string {
  const re = new RegExp(`(<${property}>\\s*<v8:item>\\s*<v8:lang>ru</v8:lang>\\s*<v8:content>)[^<]*(</v8:content>)`);
  if (!re.test(xml)) throw new Error(`Configuration.xml: нет свойства ${property} с русским текстом`);
  return xml.replace(re, (_, open: string, close: string) => `${open}${xmlText(value)}${close}`);
}

/** The variant's files (without ConfigDumpInfo.xml: it is written from the result). */
export function buildVariant(base: Files, overlay: Files): Files {
  const variant = readVariant(overlay);
  const dropped = (path: string) => variant.drop.some((d) => path === d || path.startsWith(`${d.slice(0, -'.xml'.length)}/`));
  for (const d of variant.drop) if (!base.has(d)) throw new Error(`variant.json: в базовой выгрузке нет ${d}`);

  const out: Files = new Map();
  for (const [path, body] of base) if (path !== 'ConfigDumpInfo.xml' && !dropped(path)) out.set(path, body);
  for (const [path, body] of overlay) if (path !== 'variant.json') out.set(path, body);

  let configuration = out.get('Configuration.xml');
  if (configuration === undefined) throw new Error('Configuration.xml: нет в базовой выгрузке');
  configuration = setLocalString(configuration, 'Synonym', variant.synonym);
  configuration = setLocalString(configuration, 'BriefInformation', variant.briefInformation);
  configuration = setLocalString(configuration, 'DetailedInformation', variant.detailedInformation);

  // Kind by kind: the base's objects in the base's order, then the overlay's new ones by name.
  const eol = configuration.includes('\r\n') ? '\r\n' : '\n';
  const present = new Set(objectsOf(out).map((o) => `${o.kind}.${o.name}`));
  const listed = [...configuration.matchAll(/^\t\t\t<(\w+)>([^<]+)<\/\1>\r?$/gm)].map((m) => `${m[1]}.${m[2]}`);
  const lines: string[] = [];
  for (const [kind] of KINDS) {
    const ofKind = (k: string) => k.startsWith(`${kind}.`);
    const names = [...listed.filter((k) => ofKind(k) && present.has(k)), ...[...present].filter((k) => ofKind(k) && !listed.includes(k)).sort()];
    for (const k of names) lines.push(`\t\t\t<${kind}>${k.slice(kind.length + 1)}</${kind}>`);
  }
  configuration = configuration.replace(/(<ChildObjects>)[\s\S]*(\t\t<\/ChildObjects>)/, (_, open: string, close: string) => `${open}${eol}${lines.join(eol)}${eol}${close}`);
  out.set('Configuration.xml', configuration);
  return out;
}
