import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';
import { ClaimExtensions } from '../../src/queue/claim-extension.ts';
import { AttemptStartsOnClaim } from '../../src/worker/start-on-claim.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startOneConnectionBoss } from '../support/one-connection-boss.ts';

// A worker's claim takes a run of small jobs at once (src/db/jobs/small-batch-claim.ts): the
// first entry whatever its size, then the next ones while each is small. A batch runs its
// jobs one after another, so it must never hold two big jobs, nor a small one behind a big one.

const SMALL_UP_TO = 64 * 1024;
let database: TestDatabase;
let boss: PgBoss;
const starts = new AttemptStartsOnClaim(SMALL_UP_TO);

beforeAll(async () => {
  database = await createTestDatabase();
  const claims = new ClaimExtensions();
  claims.extend(ANALYSIS_QUEUE, starts);
  boss = await startOneConnectionBoss(database.url, claims);
});
afterAll(async () => {
  await boss?.stop({ graceful: false, close: true });
  await database?.drop();
});

type Kind = 'small' | 'big' | 'gzip';
const sizes: Record<Kind, { bytes: number; compression: string }> = {
  small: { bytes: 1_000, compression: 'none' },
  big: { bytes: SMALL_UP_TO + 1, compression: 'none' },
  // Small stored, but its analysis reads what it inflates to: not small.
  gzip: { bytes: 1_000, compression: 'gzip' },
};

/** Queued jobs of these kinds, each with its entry, sent in this order. */
async function queue(kinds: Kind[]): Promise<string[]> {
  const ids: string[] = [];
  for (const kind of kinds) {
    const id = randomUUID();
    await database.sql.query(
      `insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter)
       values ($1, 'owner', 'queued', 'a.csv', $2, repeat('0', 64), $3, '{}', ',')`,
      [id, sizes[kind].bytes, sizes[kind].compression],
    );
    await boss.send(ANALYSIS_QUEUE, { jobId: id });
    ids.push(id);
  }
  return ids;
}

/**
 * The jobs each claim of up to eight entries takes until the queue is empty, each claim's
 * sorted: an UPDATE returns its rows in no set order (pg-boss's own batches neither), and
 * the worker runs a batch's few small jobs in the order they come.
 */
async function claims(): Promise<string[][]> {
  const taken: string[][] = [];
  for (;;) {
    const batch = await boss.fetch<{ jobId: string }>(ANALYSIS_QUEUE, { batchSize: 8 });
    if (batch.length === 0) return taken;
    taken.push(batch.map((job) => job.data.jobId).sort());
    for (const job of batch) starts.done(job.id);
    await boss.complete(ANALYSIS_QUEUE, batch);
  }
}

describe("a worker's claim of several entries", () => {
  it('is asked for in batches when small files come back with the claim, one at a time when none do', () => {
    expect(starts.batchSize).toBeGreaterThan(1);
    expect(new AttemptStartsOnClaim(0).batchSize).toBe(1);
  });

  it('takes a run of small jobs, in order, and stops before a big one', async () => {
    const [a, b, big, c, d] = await queue(['small', 'small', 'big', 'small', 'small']);
    expect(await claims()).toEqual([[a!, b!].sort(), [big], [c!, d!].sort()]);
  });

  it('takes a big job first in line alone, and never two big ones', async () => {
    const [big1, big2, a, b] = await queue(['big', 'big', 'small', 'small']);
    expect(await claims()).toEqual([[big1], [big2], [a!, b!].sort()]);
  });

  it('counts a gzip file as big, whatever its stored size', async () => {
    const [a, gz, b] = await queue(['small', 'gzip', 'small']);
    expect(await claims()).toEqual([[a], [gz], [b]]);
  });

  it('takes no more than it was asked for, and starts each job it took', async () => {
    const ids = await queue(Array.from({ length: 10 }, (): Kind => 'small'));
    const batch = await boss.fetch<{ jobId: string }>(ANALYSIS_QUEUE, { batchSize: 8 });
    expect(batch.map((job) => job.data.jobId).sort()).toEqual(ids.slice(0, 8).sort());
    for (const job of batch) expect(starts.take(job.id)?.started.id).toBe(job.data.jobId);
    // Two left behind: the claim says so, and the worker fetches again at once.
    expect(batch.map((job) => starts.done(job.id))).toEqual(Array(8).fill(true));
    await boss.complete(ANALYSIS_QUEUE, batch);
    expect(await claims()).toEqual([ids.slice(8).sort()]);
  });
});
