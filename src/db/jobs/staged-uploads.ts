import { sql, type Kysely } from 'kysely';
import { TallyError } from '../../errors.ts';
import { ownerIsGone, type ProcessIdentity } from '../../lib/process-identity.ts';
import type { Database } from '../schema.ts';

/**
 * Staged uploads: chunks committed as they arrive, under the id their job will get, before
 * the job exists (migration 0003). The life of one (src/files/postgres/staging-batches.ts):
 *   batches of chunks (the first inserts the staged_uploads row, each later one renews and
 *   locks it) → the job's row adopts them in the statement that makes the job (jobAdoption,
 *   insert-job.ts), or discardStaging on any refusal; sweepStagedUploads takes the ones whose
 *   writer died.
 *
 * A staging the sweep took (its writer paused past the lease) accepts no more chunks and
 * cannot be adopted, so the upload fails instead of becoming a job with a hole in its file.
 *
 * A resumable staging (src/files/stored-files.ts, `keepUntil`) is held by its deadline, not
 * by a process: its row's host is RESUMABLE_HOST, which no process's host equals, so the
 * "writer is gone" sweep never takes it, and its heartbeat is set ahead to `keepUntil` − lease,
 * so the lease sweep takes it only after `keepUntil`. No schema change: the same two columns.
 */
export const RESUMABLE_HOST = 'resumable';

/** A pool or one checked-out client: staging batches hold a client across statements. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
}

/**
 * Opens a batch of staged chunks: a transaction committed with synchronous_commit off.
 * The chunks are worthless until the upload's own transaction adopts them, and that commit
 * (synchronous) flushes the WAL up to its own record, so every chunk written before it is
 * durable by the time the client hears 202.
 */
export async function beginStagingBatch(client: Queryable): Promise<void> {
  await client.query('begin; set local synchronous_commit = off');
}

/**
 * The first chunk, with the staged_uploads row that says who writes it (or, `heldUntil`
 * set, that it is a resumable staging held until then).
 */
export async function insertFirstChunk(
  client: Queryable,
  id: string,
  owner: ProcessIdentity,
  data: Buffer,
  heldUntil?: Date,
): Promise<void> {
  await client.query(
    `with staged as (
       insert into staged_uploads (id, host, pid, instance, heartbeat_at)
       values ($1, coalesce($6, $2), $3, $4, greatest(now(), $5::timestamptz)) returning id
     )
     insert into job_file_chunks (job_id, seq, data) select staged.id, 0, $7 from staged`,
    [id, owner.host, owner.pid, owner.instance, heldUntil ?? null, heldUntil ? RESUMABLE_HOST : null, data],
  );
}

/** The row of a resumable staging suspended before its first byte. */
export async function insertStagingRow(
  client: Queryable,
  id: string,
  owner: ProcessIdentity,
  heldUntil: Date,
): Promise<void> {
  await client.query(
    `insert into staged_uploads (id, host, pid, instance, heartbeat_at)
     values ($1, $2, $3, $4, greatest(now(), $5::timestamptz))`,
    [id, RESUMABLE_HOST, owner.pid, owner.instance, heldUntil],
  );
}

/**
 * Renews the lease, and locks the staged row for the batch: the sweep skips a locked row,
 * and a staging the sweep already took (its writer paused past the lease) takes no more
 * chunks. Run first in every batch after the first, and by the renew timer. `heldUntil`
 * makes (or keeps) it a resumable staging held until then; a heartbeat never moves back.
 */
export async function renewStaging(client: Queryable, id: string, heldUntil?: Date): Promise<void> {
  const res =
    heldUntil === undefined
      ? await client.query(
          'update staged_uploads set heartbeat_at = greatest(heartbeat_at, now()) where id = $1',
          [id],
        )
      : await client.query(
          `update staged_uploads set heartbeat_at = greatest(heartbeat_at, now(), $2::timestamptz), host = $3
            where id = $1`,
          [id, heldUntil, RESUMABLE_HOST],
        );
  if (res.rowCount === 0) throw stagingLost();
}

/**
 * What a resumed staging continues from: its committed chunks and their bytes. Undefined
 * when its row is gone (swept or discarded).
 */
export async function stagedExtent(
  db: Kysely<Database>,
  id: string,
): Promise<{ chunks: number; bytes: number } | undefined> {
  const { rows } = await sql<{ chunks: number; bytes: number }>`
    select (select count(*)::int from job_file_chunks where job_id = s.id) as chunks,
           (select coalesce(sum(octet_length(data)), 0)::bigint from job_file_chunks where job_id = s.id) as bytes
      from staged_uploads s where s.id = ${id}
  `.execute(db);
  return rows[0];
}

export async function insertChunk(client: Queryable, id: string, seq: number, data: Buffer): Promise<void> {
  await client.query('insert into job_file_chunks (job_id, seq, data) values ($1, $2, $3)', [id, seq, data]);
}

export async function discardStaging(db: Kysely<Database>, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`delete from staged_uploads where id = ${id}`.execute(trx);
    await sql`delete from job_file_chunks where job_id = ${id} and not exists (select 1 from jobs where id = ${id})`.execute(
      trx,
    );
  });
}

/**
 * Removes stagings nobody writes any more: every one whose lease ran out (any host), and
 * at once those written by a process of our own pid namespace that is gone (a kill -9 of
 * the previous process on this host). A live upload on another host renews its lease, so
 * it is never taken. Returns the ids swept.
 */
export async function sweepStagedUploads(
  db: Kysely<Database>,
  opts: { leaseMs: number; self: ProcessIdentity; limit?: number },
): Promise<string[]> {
  const local = await sql<{ id: string; pid: number; instance: string }>`
    select id, pid, instance from staged_uploads where host = ${opts.self.host}
  `.execute(db);
  const gone = local.rows
    .filter((r) => ownerIsGone({ host: opts.self.host, pid: r.pid, instance: r.instance }, opts.self))
    .map((r) => r.id);
  return db.transaction().execute(async (trx) => {
    const swept = await sql<{ id: string }>`
      delete from staged_uploads where id in (
        select id from staged_uploads
         where id = any(${gone}::uuid[])
            or heartbeat_at < now() - make_interval(secs => ${opts.leaseMs / 1000})
         limit ${opts.limit ?? 100}
         for update skip locked
      )
      returning id
    `.execute(trx);
    const ids = swept.rows.map((r) => r.id);
    if (ids.length > 0) {
      await sql`
        delete from job_file_chunks c where c.job_id = any(${ids}::uuid[])
           and not exists (select 1 from jobs j where j.id = c.job_id)
      `.execute(trx);
    }
    return ids;
  });
}

/**
 * The upload cannot become a job: its staging was swept, or a batch of its chunks did not
 * commit (`cause`). A 503 with Retry-After: sending it again is what helps.
 */
export function stagingLost(cause?: unknown): TallyError {
  return new TallyError(
    'SERVICE_UNAVAILABLE',
    'The upload was interrupted on the server (its partial file was cleaned up); send it again.',
    undefined,
    { retryAfterSeconds: 1, ...(cause === undefined ? {} : { cause }) },
  );
}
