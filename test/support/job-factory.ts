import { createHash, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type pg from 'pg';
import type { JobState } from '../../src/db/schema.ts';

/** What a test may say about the job it needs; everything else gets a plausible default. */
export interface TestJobFields {
  id?: string;
  owner?: string;
  state?: JobState;
  filename?: string;
  /** The stored file (one chunk in PostgreSQL); `bytes`, `sha256` and `crc32` are taken from it. */
  csv?: string;
  attempts?: number;
  createdAt?: Date;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  updatedAt?: Date;
  fileDeletedAt?: Date | null;
  errorCode?: string | null;
  result?: unknown;
  options?: unknown;
}

const DEFAULT_CSV = 'date,amount\n2024-01-15,10.00\n';

/**
 * Inserts one job row in any state, backdated as the test says, with its file stored as one
 * chunk — the state a long history or a crash leaves, in one call (as River's
 * `testfactory.Job`), instead of uploading and then rewriting the row with UPDATEs. It writes
 * no pg-boss entry: a test that needs one sends it, so the factory cannot hide a missing one.
 */
export async function insertTestJob(
  sql: pg.Pool | pg.PoolClient,
  fields: TestJobFields = {},
): Promise<string> {
  const id = fields.id ?? randomUUID();
  const state = fields.state ?? 'queued';
  const final = state === 'completed' || state === 'failed' || state === 'cancelled';
  const csv = Buffer.from(fields.csv ?? DEFAULT_CSV);
  const createdAt = fields.createdAt ?? new Date();
  const startedAt = fields.startedAt !== undefined ? fields.startedAt : state === 'queued' ? null : createdAt;
  const finishedAt = fields.finishedAt !== undefined ? fields.finishedAt : final ? createdAt : null;
  await sql.query(
    `insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter,
        attempts, attempt_token, error_code, error_message, result,
        created_at, started_at, finished_at, updated_at, file_deleted_at, crc32)
     values ($1, $2, $3, $4, $5, $6, 'none', $7::jsonb, ',', $8, $9, $10, $11, $12::jsonb,
        $13, $14, $15, $16, $17, $18)`,
    [
      id,
      fields.owner ?? 'local',
      state,
      fields.filename ?? 'orders.csv',
      csv.length,
      createHash('sha256').update(csv).digest('hex'),
      JSON.stringify(fields.options ?? {}),
      fields.attempts ?? (state === 'queued' ? 0 : 1),
      state === 'running' ? randomUUID() : null,
      fields.errorCode ?? (state === 'failed' ? 'INVALID_CSV' : null),
      fields.errorCode !== null && state === 'failed' ? 'made by the test factory' : null,
      fields.result === undefined ? null : JSON.stringify(fields.result),
      createdAt,
      startedAt,
      finishedAt,
      fields.updatedAt ?? finishedAt ?? startedAt ?? createdAt,
      fields.fileDeletedAt ?? null,
      crc32(csv),
    ],
  );
  if (!fields.fileDeletedAt) {
    await sql.query(`insert into job_file_chunks (job_id, seq, data) values ($1, 0, $2)`, [id, csv]);
  }
  return id;
}
