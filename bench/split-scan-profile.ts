/**
 * The split's plan scan against PostgreSQL (P6), without worker processes: the cached bench
 * file stored as a job, then each round the stored chunks read alone (binary COPY, one chunk
 * ahead) and the whole plan (verified read, head, boundary scan, part hashes).
 *   npx tsx bench/split-scan-profile.ts [rounds] [rows]     (PROF=<file>: a CPU profile of the rounds)
 * Prints wall and CPU ms and the peak RSS of each step (reset between steps): read the
 * figures of one round against each other, the machine's load moves them all.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { planSplit } from '../src/analysis/split/plan-split.ts';
import { startTally } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { readFileChunks } from '../src/files/postgres/read-file-chunks.ts';
import { createLogger } from '../src/logger.ts';
import { benchFile } from './lib/revenue-csv.ts';
import { benchServer } from './support/database.ts';
import { peakRssMib, resetPeakRss } from './support/processes.ts';
import { storeUpload } from './support/store-upload.ts';

const rounds = Number(process.argv[2] ?? 3);
const rows = Number(process.argv[3] ?? 1_000_000);
const file = await benchFile(rows);
const server = await benchServer();
const database = await server.createDatabase();
const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0' });
const tally = await startTally({
  role: 'api',
  config,
  databaseUrl: database.url,
  log: createLogger('silent'),
});
const mark = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
/** The step since `from`; resets the peak RSS (VmHWM) for the next one. */
function since(from: { wall: number; cpu: NodeJS.CpuUsage }): string {
  const cpu = process.cpuUsage(from.cpu);
  const wall = performance.now() - from.wall;
  const peak = peakRssMib(process.pid);
  resetPeakRss(process.pid);
  const mbs = Math.round(file.bytes / 1e6 / (wall / 1000));
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  return `${Math.round(wall)} ms wall (${mbs} MB/s), ${cpuMs} ms CPU, peak ${peak} MiB`;
}
try {
  const { jobId } = await storeUpload(
    { db: tally.db, boss: tally.boss, files: tally.files },
    { path: file.path },
  );
  const { rows: found } = await tally.db.pool.query<{ sha256: string }>(
    'select sha256 from jobs where id = $1',
    [jobId],
  );
  console.log(`stored ${since(mark())}`);
  const ref = { jobId, bytes: file.bytes, sha256: found[0]!.sha256 };
  const session = process.env.PROF ? new Session() : null;
  session?.connect();
  await session?.post('Profiler.enable');
  await session?.post('Profiler.start');
  for (let round = 0; round < rounds; round++) {
    let t = mark();
    for await (const piece of readFileChunks(tally.db.pool, jobId)) void piece;
    console.log(`read ${since(t)}`);
    t = mark();
    const out = await planSplit(tally.files.read(ref), file.bytes, 2, {});
    if ('refused' in out) throw new Error(out.refused);
    console.log(`plan ${since(t)}`);
  }
  if (session)
    writeFileSync(process.env.PROF!, JSON.stringify((await session.post('Profiler.stop')).profile));
} finally {
  await tally.close();
  await database.drop();
  await server.stop();
}
