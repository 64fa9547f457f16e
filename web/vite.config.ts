// The web app: built from web/ into public/app/, which the worker serves as static assets (the ASSETS
// binding) at /app/. No CDN at run time: everything the page loads comes from this origin.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/app/',
  publicDir: 'public',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../public/app', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Vite's modulepreload polyfill is an inline script: not needed by the browsers we support, and the
    // page's Content-Security-Policy allows no inline script.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 300,
  },
});
