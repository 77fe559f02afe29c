import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const json = (path: string): any => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

describe('dependency hygiene', () => {
  const pkg = json('package.json');
  const ranges: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };

  it('every dependency has a bounded range: a fresh npm install cannot pull a new major', () => {
    const open = Object.entries(ranges).filter(([, r]) => /^(\*|latest|x|)$/i.test(r.trim()) || /^>=?/.test(r.trim()));
    expect(open).toEqual([]);
  });

  it('the lock records the same ranges and holds a version within each (npm ci installs exactly it)', () => {
    const lock = json('package-lock.json');
    const root = lock.packages[''];
    expect({ ...root.dependencies, ...root.devDependencies }).toEqual(ranges);
    for (const [name, range] of Object.entries(ranges)) {
      const locked: string = lock.packages[`node_modules/${name}`].version;
      const major = /^[\^~]?(\d+)/.exec(range)?.[1];
      expect(locked.split('.')[0], `${name} ${range} → ${locked}`).toBe(major);
    }
  });

  it('the conformance fixtures name where their values come from and under which licence', () => {
    const notice = readFileSync(join(ROOT, 'test/fixtures/conformance/NOTICE'), 'utf8');
    const cases = json('test/fixtures/conformance/onec-platform-cases.json');
    const paykeeper = json('test/fixtures/conformance/paykeeper/index.json');
    const sources: Array<{ repo: string; commit: string }> = [
      { repo: cases.sourceRepo, commit: cases.sourceCommit },
      ...paykeeper.fixtures.map((f: { repo: string; commit: string }) => ({ repo: f.repo, commit: f.commit })),
    ];
    for (const { repo, commit } of sources) {
      expect(notice).toContain(`https://github.com/${repo}`);
      expect(notice).toContain(commit.slice(0, 7));
    }
    for (const licence of ['GPL-3.0-or-later', 'MIT', 'Apache-2.0']) expect(notice).toContain(licence);
  });
});
