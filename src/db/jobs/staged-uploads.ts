import { sql, type Kysely } from 'kysely';
import { TallyError } from '../../errors.ts';
import { ownerIsGone, type ProcessIdentity } from '../../lib/process-identity.ts';
import type { Database } from '../schema.ts';

/**
 * Staged uploads: chunks committed as they arrive, under the id their job will get, before
 * the job exists (migration 0003). The life of one:
 *   beginStaging (with the first chunk) → stageChunk… / renewStaging… → adoptStaging in the
 *   upload's one transaction, or discardStaging on any refusal; sweepStagedUploads takes
 *   the ones whose writer died.
 *
 * Every chunk write renews the lease and is fenced on the staged row: a staging the sweep
 * took (its writer paused past the lease) accepts no more chunks and cannot be adopted, so
 * the upload fails instead of becoming a job with a hole in its file.
 */

/**
 * Staged chunks are committed with synchronous_commit off, for the transaction of that
 * one statement (set_config(..., true)): they are worthless until the upload's own
 * transaction adopts them, and that commit (synchronous) flushes the WAL up to its own
 * record, so every chunk written before it is durable by the time the client hears 202.
 */
const ASYNC_COMMIT = sql`(select set_config('synchronous_commit', 'off', true))`;

export async function beginStaging(
  db: Kysely<Database>,
  id: string,
  owner: ProcessIdentity,
  firstChunk: Buffer,
): Promise<void> {
  await sql`
    with config as ${ASYNC_COMMIT},
    staged as (
      insert into staged_uploads (id, host, pid, instance) values (${id}, ${owner.host}, ${owner.pid}, ${owner.instance})
      returning id
    )
    insert into job_file_chunks (job_id, seq, data)
    select staged.id, 0, ${firstChunk} from staged, config
  `.execute(db);
}

export async function stageChunk(db: Kysely<Database>, id: string, seq: number, data: Buffer): Promise<void> {
  const res = await sql`
    with config as ${ASYNC_COMMIT},
    lease as (update staged_uploads set heartbeat_at = now() where id = ${id} returning id)
    insert into job_file_chunks (job_id, seq, data)
    select lease.id, ${seq}, ${data} from lease, config
  `.execute(db);
  if (res.numAffectedRows === 0n) throw stagingLost();
}

/** Keeps a slow upload's staging alive between chunks. */
export async function renewStaging(db: Kysely<Database>, id: string): Promise<void> {
  const res = await sql`update staged_uploads set heartbeat_at = now() where id = ${id}`.execute(db);
  if (res.numAffectedRows === 0n) throw stagingLost();
}

/**
 * Inside the upload transaction: claims the staging for its job. False when the sweep
 * took it; the caller must then fail the upload (its chunks are gone).
 */
export async function adoptStaging(trx: Kysely<Database>, id: string): Promise<boolean> {
  const res = await sql`delete from staged_uploads where id = ${id}`.execute(trx);
  return res.numAffectedRows === 1n;
}

/**
 * Deletes a staging and its chunks. Two statements in one transaction, in this order: the
 * first waits for a chunk write still holding the staged row's lock, and the second, with
 * a fresh snapshot, then sees (and deletes) that chunk too.
 */
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

function stagingLost(): TallyError {
  return new TallyError(
    'SERVICE_UNAVAILABLE',
    'The upload was interrupted on the server (its partial file was cleaned up); send it again.',
  );
}
