import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What the page's bundle is built from, relative to the repository: its own sources, the
 * client package, and the server's browser-safe modules it imports (the head reader in
 * src/lib and src/analysis, job states and limits in src/jobs). Node-side only (not part of
 * the bundle): `npm start`'s ensure-web-build and the browser tests rebuild src/web/dist
 * when any of these is newer than the last build.
 */
export const WEB_SOURCES = [
  'src/web/src',
  'src/web/index.html',
  'src/web/vite.config.ts',
  'src/client',
  'src/lib',
  'src/analysis',
  'src/jobs',
] as const;

/** The newest modification time (ms) of anything the bundle is built from. */
export function newestWebSourceMtime(repo: string): number {
  return Math.max(...WEB_SOURCES.map((source) => newestMtime(path.join(repo, source))));
}

/** mtime of the built page, 0 when it has not been built. */
export function webBuildMtime(repo: string): number {
  const built = path.join(repo, 'src/web/dist/index.html');
  return existsSync(built) ? statSync(built).mtimeMs : 0;
}

function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of readdirSync(entry, { withFileTypes: true })) {
    if (child.name === 'node_modules' || child.name === 'dist') continue;
    newest = Math.max(newest, newestMtime(path.join(entry, child.name)));
  }
  return newest;
}
