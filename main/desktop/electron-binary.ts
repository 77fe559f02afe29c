import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Electron executable installed by the `electron` package, or null when its download
 * failed (offline installs). Read from path.txt directly: `require('electron')` would try to
 * download the binary again.
 */
export function electronBinary(root: string): string | null {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const relative = readFileSync(pathFile, 'utf8').trim();
  if (relative === '') return null;
  const binary = join(pkg, 'dist', relative);
  return existsSync(binary) ? binary : null;
}
