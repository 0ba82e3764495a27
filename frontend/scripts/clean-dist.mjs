// Empties dist/ before a build, all but .gitkeep: that empty file keeps the
// folder in git so `//go:embed all:dist` (embed.go) compiles on a fresh
// checkout, before anyone has run the build.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name !== '.gitkeep') rmSync(dist + name, { recursive: true, force: true });
}
writeFileSync(dist + '.gitkeep', '');
