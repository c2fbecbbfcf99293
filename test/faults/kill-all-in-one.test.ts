import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';

// kill -9 of the whole all-in-one `npm start` (its embedded PostgreSQL included) while a
// job runs and an upload is half sent; then start it again on the same data directory.

const children: ChildTally[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A client of the child's embedded PostgreSQL (port from its log, password beside its data). */
async function embeddedDatabase(child: ChildTally, dataDir: string): Promise<pg.Client> {
  const line = await child.waitForLog(/embedded PostgreSQL ready/, 60_000);
  const { port } = JSON.parse(line) as { port: number };
  const { password } = JSON.parse(
    await readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8'),
  ) as {
    password: string;
  };
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  client.on('error', () => undefined); // killed with its server below
  await client.connect();
  return client;
}

/** Staged uploads and chunks that belong to no job. */
async function staged(db: pg.Client) {
  const { rows } = await db.query<{ uploads: number; chunks: number }>(`
    select (select count(*)::int from staged_uploads) as uploads,
           (select count(*)::int from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)) as chunks`);
  return rows[0]!;
}

describe('kill -9 of the all-in-one process', () => {
  // Its own timeout: kill -9 and restart of a process with its embedded PostgreSQL: ~61 s measured under load 16.
  it('keeps every accepted job, and a cut-off upload leaves nothing behind', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tally-kill-data-'));
    dirs.push(dataDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      WORKER_CONCURRENCY: '1',
      JOB_HEARTBEAT_SECONDS: '10',
      DATABASE_URL: '',
    };
    const first = spawnTally('src/main.ts', [], env, { group: true });
    children.push(first);
    await first.waitForLog(/tally started/, 60_000);

    // Each job must outlast the progress interval (250 ms) for the wait below to see it
    // mid-run: 200,000 rows took ~0.2 s here on 2026-12-05 and the wait timed out (3 of 3
    // runs, before and after that day's changes); 1,000,000 rows take 1–2 s.
    const { csv, revenueCents } = generateCsv(1_000_000);
    const gz = new Uint8Array(gzipSync(csv));
    const accepted: string[] = [];
    for (let i = 0; i < 3; i++)
      accepted.push((await postCsv(url, gz, { filename: `big-${i}.csv.gz` })).body.jobId);

    // A fourth upload, cut off halfway.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.on('error', () => undefined);
    const boundary = 'cutoff';
    socket.write(
      `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 10000000\r\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\n${csv.slice(0, 2_500_000)}`,
    );
    const db = await embeddedDatabase(first, dataDir);
    // Wait until a job is mid-run and the cut-off upload has chunks staged in PostgreSQL.
    await waitUntil(
      async () => {
        const list = await trpcQuery(url, 'jobs.list', {});
        const runningNow = list.body.result.data.items.some(
          (j: { state: string; progress: { bytesProcessed: number } }) =>
            j.state === 'running' && j.progress.bytesProcessed > 0,
        );
        return runningNow && (await staged(db)).chunks > 0;
      },
      { what: 'a job running and an upload with staged chunks', intervalMs: 20 },
    );
    first.kill('SIGKILL'); // Node's process group; its PostgreSQL (a group of its own) is orphaned, and the next start stops it
    await first.exited;
    socket.destroy();
    await db.end().catch(() => undefined);

    const second = spawnTally('src/main.ts', [], env, { group: true });
    children.push(second);
    await second.waitForLog(/tally started/, 60_000);
    // Chunks staged by the dead upload are swept at start-up.
    const db2 = await embeddedDatabase(second, dataDir);
    expect(await staged(db2)).toEqual({ uploads: 0, chunks: 0 });
    await db2.end();

    for (const jobId of accepted) {
      const status = await waitForFinal(url, jobId, {}, 90_000);
      expect(status.state).toBe('completed');
      const result = await trpcQuery(url, 'jobs.result', { jobId });
      expect(result.body.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
    }
    // The cut-off upload never became a job.
    const list = await trpcQuery(url, 'jobs.list', { limit: 100 });
    expect(list.body.result.data.items.map((j: { id: string }) => j.id).sort()).toEqual([...accepted].sort());

    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);
});
