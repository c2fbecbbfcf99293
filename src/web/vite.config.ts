import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

/**
 * The web UI. `npm run build:web` writes src/web/dist, which the API serves at `/` and
 * `/jobs/:id`. In development (`npx vite --config src/web/vite.config.ts`) the API calls
 * go to a Tally on 127.0.0.1:3000 through the proxy below.
 */
const root = import.meta.dirname;

/**
 * Tally without auth serves only requests naming its own loopback host and port, from no
 * other origin (docs/reference.md, "Security"): the proxy presents itself as Tally's own page to it.
 */
const tally: ProxyOptions = {
  target: 'http://127.0.0.1:3000',
  changeOrigin: true,
  configure: (proxy) =>
    proxy.on('proxyReq', (req) => {
      req.removeHeader('origin');
      req.removeHeader('sec-fetch-site');
    }),
};

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024, // recharts is most of the bundle; it is one page
  },
  server: {
    proxy: { '/api': tally, '/trpc': tally },
  },
});
