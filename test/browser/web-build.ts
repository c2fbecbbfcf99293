import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { newestWebSourceMtime, webBuildMtime } from '../../src/web/sources.ts';

/** Rebuild src/web/dist when any source of the page is newer than the last build. */
export function buildWebIfStale(repo: string): void {
  if (webBuildMtime(repo) >= newestWebSourceMtime(repo)) return;
  execFileSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'src/web/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    { cwd: repo, stdio: 'inherit' },
  );
}
