// The web UI's build (`npm run build` runs it after the server's): web/ bundled into dist/web,
// which the portal serves at / (src/http/web-app.ts). No CDN: every asset comes from the portal.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  // Nothing from the environment reaches the bundle: the UI learns everything from the API.
  envPrefix: 'MOSIS_WEB_',
  build: {
    outDir: '../dist/web',
    // dist/web is the web UI's alone (tsc writes the rest of dist/): a build replaces it whole.
    emptyOutDir: true,
    assetsDir: 'assets',
    // Names carry a hash of the content, so the portal can let browsers cache /assets/* for a year.
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
    // Inline nothing as data: URLs: one file per asset keeps the CSP simple and the caching right.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` serves the API on 8080; `npx vite web` proxies it so cookies stay same-origin.
    proxy: { '/v1': 'http://localhost:8080', '/docs': 'http://localhost:8080' },
  },
});
