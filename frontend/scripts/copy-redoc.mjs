// Copies Redoc's standalone bundle (the npm package redoc, a
// devDependency) into dist/docs/, where GET /api/docs loads it from this
// origin: the API reference renders offline, with no CDN. Run by
// `npm run build` after vite.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const bundles = join(dirname(require.resolve('redoc/package.json')), 'bundles');
const out = fileURLToPath(new URL('../dist/docs/', import.meta.url));
mkdirSync(out, { recursive: true });
copyFileSync(join(bundles, 'redoc.standalone.js.LICENSE.txt'), join(out, 'redoc.standalone.js.LICENSE.txt'));
// The sidebar's "API docs by Redocly" mark is an <img> from Redoc's CDN:
// offline, and against the page's CSP (img-src 'self' data:). Point it at
// a copy served from this origin, so the page fetches nothing elsewhere.
const CDN_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const bundle = readFileSync(join(bundles, 'redoc.standalone.js'), 'utf8');
if (!bundle.includes(CDN_LOGO)) throw new Error(`copy-redoc: ${CDN_LOGO} not found in the bundle; check the page's CSP by hand`);
writeFileSync(join(out, 'redoc.standalone.js'), bundle.split(CDN_LOGO).join('/docs/logo-mini.svg'));
writeFileSync(
  join(out, 'logo-mini.svg'),
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#d8232a"/></svg>\n',
);
