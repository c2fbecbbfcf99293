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
});
