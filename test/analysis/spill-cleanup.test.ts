import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryName } from '../../src/lib/dead-process-entries.ts';
import { thisProcess } from '../../src/lib/process-identity.ts';
import { postCsv, trpcMutation, waitForFinal } from '../support/http.ts';
import { AttemptSuperseded } from '../../src/worker/progress-writer.ts';
import { holdSource } from '../support/held-source.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// The spill directory on every path of a real worker (real PostgreSQL, HTTP, pg-boss):
// success, input failure (ANALYSIS_TOO_LARGE), a transient failure mid-analysis, cancel,
// and the start-up sweep of a dead process's directory.

const running: TestTally[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function spillRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-spill-test-'));
  dirs.push(dir);
  return dir;
}

async function start(...args: Parameters<typeof startTestTally>) {
  const t = await startTestTally(...args);
  running.push(t);
  return t;
}

/** `rows` rows, every customer distinct: each row is a new key for the customer table. */
function distinctCustomersCsv(rows: number): string {
  const lines = ['date,amount,customer,product'];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `2024-${String(1 + (i % 12)).padStart(2, '0')}-01,${1 + (i % 97)}.25,customer-${i},p${i % 30}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Resolves once the attempt has returned from its handler: pg-boss completes the queue
 * entry only then. The job row turns final earlier, at the result's commit, and the
 * attempt removes its spill directory after that, on its way out (its `finally`), so a
 * look at the directory as soon as the row is final can race the removal: a loaded
 * machine showed the directory still there.
 */
async function attemptReturned(tally: TestTally, jobId: string): Promise<void> {
  await waitUntil(
    async () => {
      const { rows } = await tally.database.sql.query('select state from pgboss.job where id = $1', [jobId]);
      return rows[0]?.state === 'completed';
    },
    { what: `the queue entry of job ${jobId} to be completed` },
  );
}

/** Files under `root`, recursively, with their modes. */
async function listTree(root: string): Promise<{ name: string; mode: number; dir: boolean }[]> {
  const out: { name: string; mode: number; dir: boolean }[] = [];
  for (const name of await readdir(root)) {
    const full = path.join(root, name);
    const s = await stat(full);
    out.push({ name: path.relative(root, full), mode: s.mode & 0o777, dir: s.isDirectory() });
    if (s.isDirectory())
      for (const e of await listTree(full)) out.push({ ...e, name: path.join(name, e.name) });
  }
  return out;
}

describe('spill files', () => {
  it('success: a private per-analysis directory while merging, nothing left after', async () => {
    const root = await spillRoot();
    const seen: { name: string; mode: number; dir: boolean }[][] = [];
    const tally = await start({
      env: { SPILL_DIR: root, SPILL_THRESHOLD_KEYS: '100' },
      workerHooks: { beforeFinish: async () => void seen.push(await listTree(root)) },
    });
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    const { body } = await postCsv(tally.url, distinctCustomersCsv(3000));
    const status = await waitForFinal(tally.url, body.jobId);
    expect(status.state).toBe('completed');
    // The analysis did spill: its directory existed (runs already merged and removed).
    expect(seen).toHaveLength(1);
    const dirsSeen = seen[0]!.filter((e) => e.dir);
    expect(dirsSeen).toHaveLength(1);
    expect(dirsSeen[0]!.name).toMatch(new RegExp(`^[0-9a-f]{16}-${process.pid}-[0-9a-f-]{36}$`));
    expect(dirsSeen[0]!.mode).toBe(0o700);
    await attemptReturned(tally, body.jobId);
    expect(await readdir(root)).toEqual([]);
  });

  it('a file needing more than SPILL_MAX_BYTES fails once with ANALYSIS_TOO_LARGE and leaves nothing', async () => {
    const root = await spillRoot();
    const tally = await start({
      env: { SPILL_DIR: root, SPILL_THRESHOLD_KEYS: '100', SPILL_MAX_BYTES: String(1024 * 1024) },
    });
    const { body } = await postCsv(tally.url, distinctCustomersCsv(40_000)); // ~1.8 MB of spill
    const status = await waitForFinal(tally.url, body.jobId);
    expect(status).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'ANALYSIS_TOO_LARGE' } });
    expect(status.error.message).toMatch(/SPILL_MAX_BYTES/);
    await attemptReturned(tally, body.jobId);
    expect(await readdir(root)).toEqual([]);
  });

  it('a transient failure mid-analysis removes the attempt’s spill files', async () => {
    const root = await spillRoot();
    const atFailure: string[][] = [];
    const tally = await start({
      env: { SPILL_DIR: root, SPILL_THRESHOLD_KEYS: '100', JOB_RETRY_LIMIT: '0' },
      workerHooks: {
        wrapSource: (_jobId, source) =>
          (async function* () {
            let seen = 0;
            for await (const chunk of source) {
              for (let at = 0; at < chunk.length; at += 16 * 1024) {
                seen += 16 * 1024;
                if (seen > 200 * 1024) {
                  atFailure.push((await listTree(root)).filter((e) => !e.dir).map((e) => e.name));
                  throw new Error('Connection terminated unexpectedly');
                }
                yield chunk.subarray(at, at + 16 * 1024);
              }
            }
          })(),
      },
    });
    const { body } = await postCsv(tally.url, distinctCustomersCsv(20_000));
    const status = await waitForFinal(tally.url, body.jobId);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'RETRIES_EXHAUSTED' } });
    expect(atFailure[0]!.length).toBeGreaterThan(0); // runs were on disk when it failed
    await attemptReturned(tally, body.jobId);
    expect(await readdir(root)).toEqual([]);
  });

  it('cancel: the running attempt stops reading, writes no result and removes its spill files', async () => {
    const root = await spillRoot();
    // Held once spill runs are on disk, until the cancel is committed and noticed: a worker
    // that ignored the cancel would never abort, or would read on to the end.
    const held = holdSource(async () => (await listTree(root)).some((e) => !e.dir));
    const tally = await start({
      env: { SPILL_DIR: root, SPILL_THRESHOLD_KEYS: '100' },
      workerHooks: { wrapSource: held.wrapSource },
    });
    const csv = distinctCustomersCsv(30_000);
    const { body } = await postCsv(tally.url, csv);
    await held.atHold;
    const tree = await listTree(root);
    expect(tree.some((e) => !e.dir)).toBe(true);
    for (const e of tree) expect(e.mode).toBe(e.dir ? 0o700 : 0o600);
    const res = await trpcMutation(tally.url, 'jobs.cancel', { jobId: body.jobId });
    expect(res.body.result.data.state).toBe('cancelled');
    expect(await held.aborted()).toBeInstanceOf(AttemptSuperseded);
    held.release();
    await waitUntil(async () => (await readdir(root)).length === 0, {
      what: 'the spill directory to be emptied',
      timeoutMs: 10_000,
    });
    expect(held.stats.reachedEnd).toBe(false);
    expect(held.stats.bytes).toBeLessThan(Buffer.byteLength(csv));
    const { rows } = await tally.database.sql.query('select state, result from jobs where id = $1', [
      body.jobId,
    ]);
    expect(rows[0]).toEqual({ state: 'cancelled', result: null });
  });

  it('start-up sweep: removes the directories of dead processes, keeps living ones', async () => {
    const root = await spillRoot();
    // A pid that surely belongs to no process now: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const deadDir = path.join(root, entryName({ ...thisProcess, pid: dead })); // this namespace
    await mkdir(deadDir, { mode: 0o700 });
    await writeFile(path.join(deadDir, 'run-0.bin'), Buffer.alloc(4096), { mode: 0o600 });
    const liveDir = entryName({ ...thisProcess, pid: process.ppid }); // the test runner's parent: alive
    await mkdir(path.join(root, liveDir), { mode: 0o700 });
    const unrelated = 'notes.txt';
    await writeFile(path.join(root, unrelated), 'not ours');

    await start({ role: 'worker', env: { SPILL_DIR: root } });
    expect((await readdir(root)).sort()).toEqual([liveDir, unrelated].sort());
  });
});
