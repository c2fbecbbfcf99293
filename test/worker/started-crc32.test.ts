import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttempt } from '../../src/db/jobs/start-attempt.ts';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';
import { ClaimExtensions } from '../../src/queue/claim-extension.ts';
import { AttemptStartsOnClaim } from '../../src/worker/start-on-claim.ts';
import { useTestDb } from '../support/app-db.ts';
import { startOneConnectionBoss } from '../support/one-connection-boss.ts';

// A started attempt carries the file's CRC-32 taken at upload (migration 0018), as a number,
// whichever way it started: by startAttempt, or in pg-boss's claim (where it comes back in
// JSON). Null for a job stored before the migration. Real PostgreSQL, real pg-boss claims.

const testDb = useTestDb({ max: 3 });
const starts = new AttemptStartsOnClaim(64 * 1024);
let boss: PgBoss;

beforeAll(async () => {
  const claims = new ClaimExtensions();
  claims.extend(ANALYSIS_QUEUE, starts);
  boss = await startOneConnectionBoss(testDb.database.url, claims);
});
afterAll(async () => {
  await boss?.stop({ graceful: false, close: true });
});

/** A queued job whose jobs.crc32 is `crc32` (null: stored before migration 0018). */
async function queuedJob(crc32: number | null): Promise<string> {
  const id = randomUUID();
  await testDb.database.sql.query(
    `insert into jobs (id, owner, state, filename, bytes, sha256, crc32, compression, options, delimiter)
     values ($1, 'owner', 'queued', 'a.csv', 100, repeat('0', 64), $2, 'none', '{}', ',')`,
    [id, crc32],
  );
  return id;
}

// 0xffffffff: past a signed 32-bit integer's range; 0x80000000: its sign bit alone.
const values = [0xffffffff, 0x80000000, 0, 123_456_789, null];

describe("a started attempt's crc32", () => {
  it('is jobs.crc32 as a number (null when none) when startAttempt starts it', async () => {
    for (const crc32 of values) {
      const id = await queuedJob(crc32);
      const started = await startAttempt(testDb.db.kysely, id, randomUUID());
      expect({ crc32, started: started?.crc32 }).toEqual({ crc32, started: crc32 });
    }
  });

  it('is jobs.crc32 as a number (null when none) when the claim starts it', async () => {
    for (const crc32 of values) {
      const id = await queuedJob(crc32);
      await boss.send(ANALYSIS_QUEUE, { jobId: id });
      const [entry] = await boss.fetch<{ jobId: string }>(ANALYSIS_QUEUE);
      expect(entry?.data.jobId).toBe(id);
      const started = starts.take(entry!.id)?.started;
      expect({ crc32, started: started?.crc32 }).toEqual({ crc32, started: crc32 });
      expect(started?.id).toBe(id);
      starts.done(entry!.id);
      await boss.complete(ANALYSIS_QUEUE, entry!.id);
    }
  });
});
