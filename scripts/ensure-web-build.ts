/**
 * `npm start` runs this first: builds the web UI (src/web → src/web/dist) when it is
 * missing or older than its sources, so a fresh clone serves the page without a separate
 * build step. Production images build the UI at image build time and never run this.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const built = path.join(root, 'src/web/dist/index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const sources = Math.max(newestMtime(path.join(root, 'src/web')), newestMtime(path.join(root, 'src/client')));
if (existsSync(built) && statSync(built).mtimeMs >= sources) process.exit(0);

const vite = path.join(root, 'node_modules/.bin/vite');
if (!existsSync(vite)) {
  console.warn(
    'web UI not built and Vite is not installed (production install?): the API runs without the page',
  );
  process.exit(0);
}
console.log('building the web UI (src/web → src/web/dist)…');
const result = spawnSync(vite, ['build', '--config', 'src/web/vite.config.ts', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
