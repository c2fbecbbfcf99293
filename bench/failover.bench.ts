/**
 * F0 failover (a report row): the failover test's own scenario — a primary with a synchronous
 * standby, an API and a worker through a switchable TCP proxy, uploads, jobs mid-file and long
 * polls in flight; kill -9 the primary, promote, switch — run as it is in `npm test`, and its
 * figures read from the line it prints: kill → first completed job, jobs lost, results written
 * twice. The test asserts the last two are 0 (it fails, and this row with it, otherwise).
 * Running the test rather than a copy of it keeps one scenario to maintain.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';

const root = path.resolve(import.meta.dirname, '..');

async function runFailoverTest(): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    path.join(root, 'node_modules', '.bin', 'vitest'),
    ['run', 'test/failover/failover.test.ts', '-t', 'loses no job'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let output = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

export const runFailoverBench: BenchPart = async (_server, { log = () => {} }) => {
  const { code, output } = await runFailoverTest();
  const line = /\[failover\] promote \+ switch took.*/.exec(output)?.[0] ?? '';
  const figure = (re: RegExp) => Number(re.exec(line)?.[1] ?? Number.NaN);
  const killToCompleted = figure(/kill → first completed job (\d+) ms/);
  const lost = figure(/(\d+) lost/);
  const duplicated = figure(/(\d+) results written twice/);
  log(line || `F0 the failover test printed no figures (exit ${code}):\n${output.slice(-2000)}`);
  const result: GoalResult = {
    id: 'F0',
    what: 'failover: kill -9 → first completed job (report)',
    value: killToCompleted,
    unit: 'ms',
    goal: '0 lost, 0 twice',
    pass: code === 0 && lost === 0 && duplicated === 0,
    note: `jobs lost ${lost}, results written twice ${duplicated}; ${line.replace(/^\[failover\] /, '')}`,
  };
  return [result];
};

await runIfMain(import.meta.url, runFailoverBench);
