import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

/**
 * Desktop bundles: out/main/desktop.js (package.json "main", the thin shell),
 * out/main/core-child.js (the core, in its own utility process), out/preload/index.cjs and
 * out/renderer (the same page service mode serves; renderer/vite.config.ts builds it alone).
 */
const root = import.meta.dirname;
const at = (path: string) => resolve(root, path);

export default defineConfig({
  main: {
    build: {
      outDir: at('out/main'),
      target: 'node24',
      // Runtime deps stay in node_modules; better-sqlite3 is native and must never be bundled.
      externalizeDeps: { include: ['better-sqlite3'] },
      rolldownOptions: {
        // The shell (desktop) forks the core's process by the name core-child.js (main/desktop/main.ts);
        // the ReGate upstream thread is a worker_threads entry of its own (main/regate/upstream.ts loads it by this name).
        input: {
          desktop: at('main/desktop/main.ts'),
          'core-child': at('main/desktop/core-child.ts'),
          'regate-upstream': at('main/regate/upstream-thread.ts'),
        },
        // Chunks beside the entries: upstream.ts finds regate-upstream.js next to itself.
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: at('out/preload'),
      target: 'node24',
      // A sandboxed preload can require only `electron`: bundle everything else, as CommonJS.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: at('preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: at('renderer'),
    base: './',
    plugins: [react()],
    build: {
      outDir: at('out/renderer'),
      emptyOutDir: true,
      target: 'es2022',
      // electron-vite skips minifying pages loaded from disk; ours is served over HTTP in both modes.
      minify: true,
      modulePreload: { polyfill: false },
      rolldownOptions: { input: at('renderer/index.html') },
    },
  },
});
