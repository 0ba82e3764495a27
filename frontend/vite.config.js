import { defineConfig } from 'vite';

// The built page is embedded into the Go binary (embed.go) and served on the
// same origin as the API, so base is "/" and the dev server proxies /api to a
// locally running `whistlegrid serve` (WHISTLEGRID_API, default :8080).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    // dist/.gitkeep must survive (go:embed needs a file in dist on a fresh
    // checkout), so scripts/clean-dist.mjs empties dist before the build.
    emptyOutDir: false,
    assetsDir: 'assets',
    // maplibre-gl alone is ~1 MB minified; one chunk is fine for a wall map.
    chunkSizeWarningLimit: 1500,
  },
  worker: {
    format: 'es',
  },
  server: {
    proxy: {
      '/api': process.env.WHISTLEGRID_API || 'http://127.0.0.1:8080',
    },
  },
});
