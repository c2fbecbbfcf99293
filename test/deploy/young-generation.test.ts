// Every way Tally is started runs each role with the young generation
// src/roles/young-generation.ts measured for it: npm's start scripts, the image, the compose
// file's services and the Fly config. Red when one of them drifts from the numbers there.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { youngGenerationOption, type RoleName } from '../../src/roles/young-generation.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The semi-space options in `text`, in order. */
const options = (text: string) => [...text.matchAll(/--max-semi-space-size=\d+/g)].map((m) => m[0]);

/** One service's block of docker-compose.yml: from `  name:` to the next top-level key inside `services`. */
function composeService(name: string): string {
  const compose = read('docker-compose.yml');
  const start = compose.indexOf(`\n  ${name}:\n`);
  expect(start, `docker-compose.yml has no ${name} service`).toBeGreaterThan(-1);
  const rest = compose.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}\S|\n\S/);
  return end === -1 ? rest : rest.slice(0, end + 1);
}

describe('the young generation each start command gives a role', () => {
  it("npm's start scripts", () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const cases: [string, RoleName][] = [
      ['start', 'all'],
      ['start:api', 'api'],
      ['start:worker', 'worker'],
    ];
    for (const [script, role] of cases)
      expect(options(scripts[script] ?? ''), script).toEqual([youngGenerationOption(role)]);
  });

  it('the image (a worker unless told otherwise), the compose services and Fly', () => {
    expect(options(read('Dockerfile'))).toEqual([youngGenerationOption('worker')]);
    expect(options(composeService('api'))).toEqual([youngGenerationOption('api')]);
    expect(options(composeService('worker'))).toEqual([youngGenerationOption('worker')]);
    expect(options(read('deploy/fly.toml'))).toEqual([youngGenerationOption('worker')]);
  });
});
