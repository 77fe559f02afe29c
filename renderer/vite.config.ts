import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Paths are relative to the working directory: npm scripts always run from the package root.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    // The polyfill would be an inline script, which the CSP forbids.
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
});
