import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * The `resumable_uploads` rows (migration 0007): one per tus upload. The bytes themselves
 * are a staging of the stored-bytes seam (src/files/stored-files.ts) under the same id; this
 * row says who owns the upload, how long it is, what its metadata was, how far it got, and
 * which request may write it now.
 *
 * The lease instead of a lock held for the request: a PATCH can run for minutes and a
 * PostgreSQL row lock would hold a pool connection that long. A PATCH takes the lease with a
 * token of its own, renews it while it streams, and gives it back when it ends; a host that
 * died lets go when `locked_until` passes, and any host continues the upload.
 */
export interface ResumableUpload {
  id: string;
  owner: string;
  uploadLength: number;
  uploadOffset: number;
  filename: string;
  optionsText: string | null;
  idempotencyKey: string | null;
  expiresAt: Date;
  /** Set by the PATCH that completed the upload. */
  jobId: string | null;
  /** Another request holds the lease now. */
  locked: boolean;
}

type Q = Kysely<Database>;

const columns = sql`id, owner, upload_length as "uploadLength", upload_offset as "uploadOffset", filename,
  options_text as "optionsText", idempotency_key as "idempotencyKey", expires_at as "expiresAt",
  job_id as "jobId", (lock_token is not null and locked_until > now()) as locked`;

export async function insertResumableUpload(
  db: Q,
  row: {
    id: string;
    owner: string;
    uploadLength: number;
    filename: string;
    optionsText: string | undefined;
    idempotencyKey: string | undefined;
    /** The staging is kept until the same moment (StageOptions.keepUntil). */
    expiresAt: Date;
  },
): Promise<void> {
  await sql`
    insert into resumable_uploads (id, owner, upload_length, filename, options_text, idempotency_key, expires_at)
    values (${row.id}, ${row.owner}, ${row.uploadLength}, ${row.filename}, ${row.optionsText ?? null},
            ${row.idempotencyKey ?? null}, ${row.expiresAt})
  `.execute(db);
}

/** The owner's upload, unexpired; undefined for another owner's (404, indistinguishable). */
export async function findResumableUpload(
  db: Q,
  id: string,
  owner: string,
): Promise<ResumableUpload | undefined> {
  const { rows } = await sql<ResumableUpload>`
    select ${columns} from resumable_uploads where id = ${id} and owner = ${owner} and expires_at > now()
  `.execute(db);
  return rows[0];
}

/**
 * Takes the lease for `token` unless another live request holds it. Returns the row as the
 * holder sees it, or undefined (look the row up to tell "none" from "locked").
 */
export async function takeLease(
  db: Q,
  id: string,
  owner: string,
  token: string,
  leaseMs: number,
): Promise<ResumableUpload | undefined> {
  const { rows } = await sql<ResumableUpload>`
    update resumable_uploads
       set lock_token = ${token}, locked_until = now() + make_interval(secs => ${leaseMs / 1000})
     where id = ${id} and owner = ${owner} and expires_at > now() and job_id is null
       and (lock_token is null or locked_until <= now())
    returning ${columns}
  `.execute(db);
  return rows[0];
}

/** Renews the lease; false when it was lost (it ran out and another request took it). */
export async function renewLease(db: Q, id: string, token: string, leaseMs: number): Promise<boolean> {
  const res = await sql`
    update resumable_uploads set locked_until = now() + make_interval(secs => ${leaseMs / 1000})
     where id = ${id} and lock_token = ${token}
  `.execute(db);
  return res.numAffectedRows === 1n;
}

/** Gives the lease back, with the offset now committed. */
export async function releaseLease(db: Q, id: string, token: string, offset: number): Promise<void> {
  await sql`
    update resumable_uploads set upload_offset = ${offset}, lock_token = null, locked_until = null
     where id = ${id} and lock_token = ${token}
  `.execute(db);
}

/** In the job's transaction: the upload is now that job's; the row stays for a late HEAD. */
export async function markCompleted(db: Q, id: string, jobId: string, offset: number): Promise<void> {
  await sql`
    update resumable_uploads set job_id = ${jobId}, upload_offset = ${offset}, lock_token = null, locked_until = null
     where id = ${id}
  `.execute(db);
}

export async function deleteResumableUpload(db: Q, id: string): Promise<void> {
  await sql`delete from resumable_uploads where id = ${id}`.execute(db);
}

/**
 * Deletes rows past RESUMABLE_UPLOAD_TTL_HOURS, unless a request holds one. An unfinished
 * upload's staging was kept until the same moment (StageOptions.keepUntil), and the stored
 * bytes' own sweep takes it; a completed one's bytes belong to its job. Returns the ids of the
 * unfinished ones deleted.
 */
export async function expireResumableUploads(db: Q, limit = 500): Promise<string[]> {
  const { rows } = await sql<{ id: string; jobId: string | null }>`
    delete from resumable_uploads where id in (
      select id from resumable_uploads
       where expires_at <= now() and (lock_token is null or locked_until <= now())
       limit ${limit}
       for update skip locked
    )
    returning id, job_id as "jobId"
  `.execute(db);
  return rows.filter((r) => r.jobId === null).map((r) => r.id);
}
