// Writes a .gz and a .br beside every compressible file of dist/ (JS, CSS,
// HTML, JSON, SVG, source maps, text), at the highest levels, after
// `vite build`: frontend/embed.go serves them by the request's
// Accept-Encoding. A file under 1 KiB, or one its compressed forms would
// not make smaller, gets none.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const compressible = /\.(js|mjs|css|html|json|svg|map|txt|wasm)$/;
const minSize = 1024;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

let raw = 0;
let gz = 0;
let br = 0;
for (const p of files(dist)) {
  if (!compressible.test(p)) continue;
  const data = readFileSync(p);
  if (data.length < minSize) continue;
  const g = gzipSync(data, { level: 9 });
  const b = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  if (g.length < data.length) writeFileSync(p + '.gz', g);
  if (b.length < data.length) writeFileSync(p + '.br', b);
  raw += data.length;
  gz += Math.min(g.length, data.length);
  br += Math.min(b.length, data.length);
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`precompressed: ${kib(raw)} raw, ${kib(gz)} gzip, ${kib(br)} brotli`);
