// Copies Redoc's standalone bundle (the npm package redoc, a
// devDependency) into dist/docs/, where GET /api/docs loads it from this
// origin: the API reference renders offline, with no CDN. Run by
// `npm run build` after vite.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const bundles = join(dirname(require.resolve('redoc/package.json')), 'bundles');
const out = fileURLToPath(new URL('../dist/docs/', import.meta.url));
mkdirSync(out, { recursive: true });
for (const name of ['redoc.standalone.js', 'redoc.standalone.js.LICENSE.txt']) {
  copyFileSync(join(bundles, name), join(out, name));
}
