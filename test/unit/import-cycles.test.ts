import madge from 'madge';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../main/', import.meta.url));
const detective = { skipTypeImports: true, skipAsyncImports: true };

// A loop between modules that run makes one of them see the other half-initialised at start.
// Type-only imports and a descriptor's lazy `load: () => import('./index.ts')` are not loops when the code runs.
describe('main/ imports', () => {
  it('has no loop among the modules that load at run time', async () => {
    const graph = await madge(root, { fileExtensions: ['ts'], detectiveOptions: { ts: detective, tsx: detective } });
    expect(graph.circular()).toEqual([]);
  }, 60_000);
});
