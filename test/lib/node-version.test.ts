import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../src/lib/node-version.ts';

describe('the Node.js check at start-up', () => {
  it('refuses what is older than 22.15, in one line that says what to install', () => {
    for (const old of ['v20.20.2', 'v22.11.0', 'v22.14.0', 'v18.0.0', 'v21.99.0'])
      expect(nodeVersionProblem(old)).toBe(
        `Tally needs Node.js 22.15.0 or later (24 LTS recommended); this is ${old}.`,
      );
    for (const ok of ['v22.15.0', 'v22.20.1', 'v24.21.0', 'v30.0.0'])
      expect(nodeVersionProblem(ok)).toBeUndefined();
  });

  // Debian's own /usr/bin/node (20 on these machines) shows the whole path: src/main.ts run by
  // an old Node exits 1 with that line instead of an import error. Machines without an old
  // Node have nothing to run this against.
  const oldNode = '/usr/bin/node';
  const oldNodeHere =
    existsSync(oldNode) &&
    nodeVersionProblem(execFileSync(oldNode, ['-v'], { encoding: 'utf8' }).trim()) !== undefined;
  it.runIf(oldNodeHere)('npm start on an old Node stops with that line', () => {
    const repo = path.resolve(import.meta.dirname, '..', '..');
    const run = spawnSync(oldNode, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^Tally needs Node\.js 22\.15\.0 or later .* this is v\d+\./);
  });

  // The fresh-machine path: with only the old Node and its npm on PATH (as on a new machine of
  // this project), every npm script runs on the Node the project brings (devDependency `node`,
  // which npm links into node_modules/.bin, first on a script's PATH). Red without it: the
  // script would run on /usr/bin/node, i.e. Node 20.
  const oldNpm = '/usr/bin/npm';
  it.runIf(oldNodeHere && existsSync(oldNpm))("npm scripts run on the project's own Node", () => {
    const repo = path.resolve(import.meta.dirname, '..', '..');
    const run = spawnSync(oldNpm, ['exec', '--', 'node', '-p', 'process.version'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 60_000,
      env: freshMachineEnv(),
    });
    expect(run.status, run.stderr).toBe(0);
    expect(nodeVersionProblem(run.stdout.trim())).toBeUndefined();
  });
});

/**
 * This process's environment as a new shell would have it: PATH without the Node that runs the
 * tests, and none of the npm_* or NODE variables an outer `npm test` sets (npm puts the Node
 * they name on a script's PATH, which would hide the old one).
 */
function freshMachineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(npm_|NODE$)/i.test(key)) env[key] = value;
  return { ...env, PATH: '/usr/bin:/bin' };
}
