/**
 * Minified + gzipped size of what a browser app ships for the client, measured by
 * bundling a one-line app with esbuild (minify, tree-shaking) and gzip -9. The tRPC
 * client alone with the links the client uses (createTRPCClient, httpLink, and splitLink +
 * httpSubscriptionLink for jobs.watch since v1.2) is the floor; React itself is left out.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Budgets over the floor, in gzipped bytes. Measured 2026-12-01: floor 6.3 KB, the client
 * (upload with progress, long-poll watch, errors, token provider) adds 2.8 KB, the hook
 * 0.5 KB more. 2026-12-03 (v1.2, jobs.watch): floor 9.2 KB with tRPC's SSE links; the
 * client adds 4.1 KB (the fetch-based EventSource and watchJob ~1.3 KB of it), the hook 0.5 KB.
 * 2026-12-04: the client adds 5.0 KB (5,146 B: resumable tus uploads, and functions split to
 * at most 60 lines, which minify less tightly), the hook ~0.5 KB more. The budgets leave room
 * for fixes and still catch a stray runtime import (zod alone would add ~15 KB, any server
 * module far more).
 */
export const BUDGET_OVER_FLOOR = { client: 6 * 1024, react: 7 * 1024 } as const;

export interface BundleSizes {
  floor: number;
  client: number;
  react: number;
}

async function gzippedBundle(contents: string): Promise<number> {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external: ['react'],
    // A staged dist/ outside the repository still finds @trpc/client here.
    nodePaths: [path.join(root, 'node_modules')],
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]?.contents ?? new Uint8Array();
  return gzipSync(bytes, { level: 9 }).byteLength;
}

/** `dist`: the built packages/client/dist (or a test's staged copy). */
export async function measureBundleSizes(dist: string): Promise<BundleSizes> {
  const [floor, client, react] = await Promise.all([
    gzippedBundle(
      `import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';` +
        'console.log(createTRPCClient, httpLink, httpSubscriptionLink, splitLink);',
    ),
    gzippedBundle(
      `import * as tally from ${JSON.stringify(path.join(dist, 'index.js'))}; console.log(tally);`,
    ),
    gzippedBundle(
      `import * as tally from ${JSON.stringify(path.join(dist, 'index.js'))};` +
        `import * as hook from ${JSON.stringify(path.join(dist, 'react.js'))}; console.log(tally, hook);`,
    ),
  ]);
  return { floor, client, react };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export function printBundleSizes(s: BundleSizes): void {
  console.log('browser bundle, minified + gzipped (esbuild, gzip -9):');
  console.log(`  @trpc/client alone (floor)        ${kb(s.floor)}`);
  console.log(
    `  @tally/client                     ${kb(s.client)}  (+${kb(s.client - s.floor)}, budget +${kb(BUDGET_OVER_FLOOR.client)})`,
  );
  console.log(
    `  @tally/client + @tally/client/react ${kb(s.react)}  (+${kb(s.react - s.floor)}, budget +${kb(BUDGET_OVER_FLOOR.react)}; React itself not counted)`,
  );
}
