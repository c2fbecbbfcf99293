import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import * as plans from 'pg-boss/dist/plans.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES } from '../../src/files/postgres/read-file-chunks.ts';
import { createStoredFiles } from '../../src/files/create-stored-files.ts';
import type { StagedFile, StoredFiles } from '../../src/files/stored-files.ts';
import { createJob } from '../../src/job-lifecycle/create-job.ts';
import { createLogger } from '../../src/logger.ts';
import { ANALYSIS_QUEUE, BOSS_SCHEMA, startBoss } from '../../src/queue/boss.ts';
import { useTestDb } from '../support/app-db.ts';

// A new job is ONE statement when it has no Idempotency-Key (db/jobs/insert-job-with-entry.ts):
// the job row adopting its bytes, the owner's turn counted, pg-boss's entry and its NOTIFY.
// These tests hold it to what the transaction it replaced guaranteed: the row and the entry
// together or neither, the turn's priority, the wake-up of the workers.

const testDb = useTestDb();
const silent = createLogger('silent');
let boss: PgBoss;
let files: StoredFiles;
let listener: pg.Client;

beforeAll(async () => {
  boss = await startBoss(
    testDb.database.url,
    { heartbeatSeconds: 30, expireInSeconds: 60, retryLimit: 0, supervise: false },
    silent,
  );
  files = createStoredFiles({ store: 'postgres', stagingLeaseMs: 60_000 }, { db: testDb.db, log: silent });
  listener = new pg.Client({ connectionString: testDb.database.url });
  await listener.connect();
});
afterAll(async () => {
  await listener?.end();
  await boss?.stop({ graceful: false, close: true });
});

/** Statements the app's pool sends while `run` runs (every client it hands out, begin and commit included). */
async function statementsOf(run: () => Promise<unknown>): Promise<number> {
  const { pool } = testDb.db;
  let sent = 0;
  const wrapped = new WeakSet<pg.PoolClient>();
  const count = (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      sent += 1;
      return query(...args);
    };
  };
  pool.on('acquire', count);
  try {
    await run();
  } finally {
    pool.off('acquire', count);
  }
  return sent;
}

/** A finished staging: in hand (one chunk, never staged) or staged (bigger than a chunk). */
async function stagedFile(content: number | Buffer): Promise<StagedFile> {
  const staging = files.stage();
  await staging.write(typeof content === 'number' ? randomBytes(content) : content);
  return staging.finish();
}

function newJob(file: StagedFile, owner: string) {
  return {
    id: file.id,
    owner,
    filename: 'a.csv',
    bytes: file.bytes,
    sha256: file.sha256,
    crc32: file.crc32,
    compression: 'none' as const,
    options: {},
    delimiter: ',',
  };
}

async function make(file: StagedFile, owner: string, idempotencyKey?: string) {
  const job = newJob(file, owner);
  return createJob(
    { db: testDb.db, boss },
    { job, adoption: files.adoption(file, job), idempotencyKey, requestId: 'req-1' },
  );
}

async function entryOf(id: string) {
  const { rows } = await testDb.db.pool.query<{
    priority: number;
    group_id: string;
    data: unknown;
    state: string;
  }>(`select priority, group_id, data, state from ${BOSS_SCHEMA}.job where name = $1 and id = $2`, [
    ANALYSIS_QUEUE,
    id,
  ]);
  return rows[0];
}

async function jobRow(id: string) {
  const { rows } = await testDb.db.pool.query<{ state: string; chunks: number }>(
    `select state, (select count(*)::int from job_file_chunks where job_id = j.id) as chunks from jobs j where id = $1`,
    [id],
  );
  return rows[0];
}

describe('a new job without an Idempotency-Key', () => {
  it('is one statement: the row with its bytes, the entry, and the NOTIFY that wakes the workers', async () => {
    const { rows } = await listener.query<{ channel: string }>(
      `select ${plans.notifyChannelSql(BOSS_SCHEMA)} as channel`,
    );
    const channel = rows[0]!.channel;
    await listener.query(`listen "${channel}"`);
    const woken = new Promise<string | undefined>((resolve) =>
      listener.once('notification', (n) => resolve(n.payload)),
    );
    for (const bytes of [100, 2 * FILE_CHUNK_BYTES]) {
      const file = await stagedFile(bytes);
      const owner = randomUUID();
      const sent = await statementsOf(() => make(file, owner));
      expect(sent).toBe(1);
      expect(await jobRow(file.id)).toEqual({ state: 'queued', chunks: Math.ceil(bytes / FILE_CHUNK_BYTES) });
      expect(await entryOf(file.id)).toEqual({
        priority: 0,
        group_id: owner,
        data: { jobId: file.id, requestId: 'req-1' },
        state: 'created',
      });
    }
    expect(await woken).toBe(ANALYSIS_QUEUE);
    await listener.query(`unlisten "${channel}"`);
  });

  it("takes its owner's turn: priority minus the owner's other jobs in flight", async () => {
    const owner = randomUUID();
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) {
      const file = await stagedFile(10);
      await make(file, owner);
      ids.push(file.id);
    }
    const priorities = await Promise.all(ids.map(async (id) => (await entryOf(id))?.priority));
    expect(priorities).toEqual([0, -1, -2]);
  });

  it('is neither row nor entry when its staging was swept meanwhile', async () => {
    const file = await stagedFile(2 * FILE_CHUNK_BYTES);
    await testDb.db.pool.query('delete from staged_uploads where id = $1', [file.id]); // the sweep
    await expect(make(file, randomUUID())).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(await jobRow(file.id)).toBeUndefined();
    expect(await entryOf(file.id)).toBeUndefined();
  });
});

describe('a new job with an Idempotency-Key', () => {
  it('claims the key in the same transaction, and the entry takes the turn all the same', async () => {
    const owner = randomUUID();
    const content = Buffer.from('date,amount\n2024-01-01,1\n');
    await make(await stagedFile(10), owner);
    const file = await stagedFile(content);
    const sent = await statementsOf(() => make(file, owner, 'key-1'));
    expect(sent).toBeGreaterThan(1); // begin, the key, the row, the entry, commit
    expect((await entryOf(file.id))?.priority).toBe(-1);
    const again = await make(await stagedFile(content), owner, 'key-1');
    expect(again).toMatchObject({ jobId: file.id, created: false });
  });
});
