/**
 * `npm start` runs this first: builds the web UI (src/web → src/web/dist) when it is
 * missing or older than its sources, so a fresh clone serves the page without a separate
 * build step. Production images build the UI at image build time and never run this.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { newestWebSourceMtime, webBuildMtime } from '../src/web/sources.ts';

const root = path.resolve(import.meta.dirname, '..');
const built = webBuildMtime(root);
if (built > 0 && built >= newestWebSourceMtime(root)) process.exit(0);

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
