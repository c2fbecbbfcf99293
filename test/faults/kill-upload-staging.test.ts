import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepStagedUploads } from '../../src/db/jobs/staged-uploads.ts';
import { thisProcess } from '../../src/lib/process-identity.ts';
import { openTestDb } from '../support/app-db.ts';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startHalfUpload } from '../support/half-upload.ts';

// Chunks staged by an upload whose API process is killed -9 are orphans: nothing will
// adopt them. The next start on the same host sweeps them; a staging whose writer lives
// on another host is left alone until its lease runs out.

const children: ChildTally[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const clean of cleanups) await clean();
});

async function counts(sql: pg.Pool) {
  const { rows } = await sql.query<{ staged: number; orphans: number; jobs: number }>(`
    select (select count(*)::int from staged_uploads) as staged,
           (select count(*)::int from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)) as orphans,
           (select count(*)::int from jobs) as jobs`);
  return rows[0]!;
}

describe('orphaned staged chunks', () => {
  // Its own timeout: two process starts with an embedded PostgreSQL: ~63 s measured under load 16.
  it('are swept by the next start after a kill -9 of the API mid-upload', async () => {
    const database: TestDatabase = await createTestDatabase();
    const sql = database.sql; // closed by database.drop()
    cleanups.push(() => database.drop());
    const port = await freePort();
    const env = { DATABASE_URL: database.url, PORT: String(port) };
    const first = spawnTally('src/main.ts', ['api'], env);
    children.push(first);
    await first.waitForLog(/tally started/, 60_000);

    // ~3 MB of a 10 MB body: chunks are staged, then the process dies under the upload.
    const socket = await startHalfUpload(port, 10_000_000, 200_000);
    await waitUntil(async () => (await counts(sql)).orphans >= 2, { what: 'two chunks staged' });
    first.kill('SIGKILL');
    await first.exited;
    socket.destroy();
    const left = await counts(sql);
    expect(left.staged).toBe(1);
    expect(left.orphans).toBeGreaterThanOrEqual(2);

    // Same host, well within the lease (120 s by default): swept because its process is gone.
    const second = spawnTally('src/main.ts', ['api'], env);
    children.push(second);
    await second.waitForLog(/tally started/, 60_000);
    expect(second.logs.some((l) => /deleted chunks of interrupted uploads/.test(l))).toBe(true);
    expect(await counts(sql)).toEqual({ staged: 0, orphans: 0, jobs: 0 });
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);

  it('of a live upload on another host are kept until its lease runs out', async () => {
    const { db, close } = await openTestDb({ max: 2 });
    cleanups.push(close);
    const id = '01900000-0000-7000-8000-000000000001';
    await db.pool.query(
      `insert into staged_uploads (id, host, pid, instance) values ($1, 'another-host/boot/pid:[1]', $2, gen_random_uuid())`,
      [id, process.pid + 1_000_000], // a pid that is not alive here: must not matter on another host
    );
    await db.pool.query(`insert into job_file_chunks (job_id, seq, data) values ($1, 0, '\\x00')`, [id]);
    expect(await sweepStagedUploads(db.kysely, { leaseMs: 60_000, self: thisProcess })).toEqual([]);

    // The other host stops renewing: backdate its heartbeat past the lease.
    await db.pool.query(`update staged_uploads set heartbeat_at = now() - interval '61 seconds'`);
    expect(await sweepStagedUploads(db.kysely, { leaseMs: 60_000, self: thisProcess })).toEqual([id]);
    const { rows } = await db.pool.query('select count(*)::int as n from job_file_chunks');
    expect(rows[0].n).toBe(0);
  });

  it('of a live upload in this process are kept; those of a dead pid on this host are swept', async () => {
    const { db, close } = await openTestDb({ max: 2 });
    cleanups.push(close);
    const live = '01900000-0000-7000-8000-000000000002';
    const dead = '01900000-0000-7000-8000-000000000003';
    await db.pool.query(
      `insert into staged_uploads (id, host, pid, instance) values ($1, $2, $3, $4), ($5, $2, $6, gen_random_uuid())`,
      [
        live,
        thisProcess.host,
        thisProcess.pid,
        thisProcess.instance,
        dead,
        2 ** 22 + 12345, // above any pid_max: never alive
      ],
    );
    expect(await sweepStagedUploads(db.kysely, { leaseMs: 60_000, self: thisProcess })).toEqual([dead]);
  });
});
