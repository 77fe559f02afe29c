import { readFileSync } from 'node:fs';

/** One measured output of the real 1C platform (test/fixtures/conformance/onec-platform-cases.json). */
export interface PlatformCase {
  id: string;
  platformOutput: string | null;
  platformOutputUtf8Hex?: string;
  platformBytesHex?: string;
  platformRaisesError?: boolean;
}

export const PLATFORM_CASES: PlatformCase[] = JSON.parse(readFileSync(new URL('../fixtures/conformance/onec-platform-cases.json', import.meta.url), 'utf8')).cases;

export function platformCase(id: string): PlatformCase {
  const c = PLATFORM_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`conformance case ${id} is missing from onec-platform-cases.json`);
  return c;
}
