import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { RESUMABLE_HOST, stagingLost } from '../db/jobs/staged-uploads.ts';
import type { ProcessIdentity } from '../lib/process-identity.ts';

/**
 * What PostgreSQL keeps for an S3 staging (migration 0007): the `staged_uploads` row every
 * store shares (the lease the sweep reads), and the `s3_multipart_uploads` record of the
 * multipart upload, its parts and its tail once suspended.
 */
export interface S3Part {
  n: number;
  etag: string;
  size: number;
}

/**
 * The staging's row: a writer's lease (renewed by its timer), or held until `heldUntil`
 * (keepUntil − lease) for a resumable staging, whoever writes it.
 */
export async function insertStagedRow(
  db: Db,
  id: string,
  owner: ProcessIdentity,
  heldUntil: Date | undefined,
): Promise<void> {
  await db.pool.query(
    `insert into staged_uploads (id, host, pid, instance, heartbeat_at)
     values ($1, $2, $3, $4, greatest(now(), $5::timestamptz))`,
    [id, heldUntil ? RESUMABLE_HOST : owner.host, owner.pid, owner.instance, heldUntil ?? null],
  );
}

/** Renews the lease (a heartbeat never moves back); throws SERVICE_UNAVAILABLE when the row was swept. */
export async function renewStagedRow(db: Db, id: string, heldUntil: Date | undefined): Promise<void> {
  const res = await db.pool.query(
    `update staged_uploads
        set heartbeat_at = greatest(heartbeat_at, now(), $2::timestamptz),
            host = case when $2::timestamptz is null then host else $3 end
      where id = $1`,
    [id, heldUntil ?? null, RESUMABLE_HOST],
  );
  if (res.rowCount === 0) throw stagingLost();
}

export async function deleteStagedRow(db: Db, id: string): Promise<void> {
  await db.pool.query('delete from staged_uploads where id = $1', [id]);
}

export async function stagedRowExists(db: Db, id: string): Promise<boolean> {
  const res = await db.pool.query('select 1 from staged_uploads where id = $1', [id]);
  return (res.rowCount ?? 0) > 0;
}

/** Before any part is sent: the sweep can abort it by this record, whatever happens next. */
export async function recordMultipartUpload(
  db: Db,
  id: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await db.pool.query(
    `insert into s3_multipart_uploads (id, object_key, upload_id) values ($1, $2, $3)
     on conflict (id) do update set upload_id = excluded.upload_id`,
    [id, key, uploadId],
  );
}

/** A suspended staging's parts and tail: what `resume` continues from on any host. */
export async function recordSuspended(
  db: Db,
  id: string,
  key: string,
  uploadId: string | null,
  parts: readonly S3Part[],
  tailBytes: number,
): Promise<void> {
  await db.pool.query(
    `insert into s3_multipart_uploads (id, object_key, upload_id, parts, tail_bytes) values ($1, $2, $3, $4, $5)
     on conflict (id) do update set upload_id = excluded.upload_id, parts = excluded.parts, tail_bytes = excluded.tail_bytes`,
    [id, key, uploadId, JSON.stringify(parts), tailBytes],
  );
}

export interface SuspendedRecord {
  uploadId: string | null;
  parts: S3Part[];
  tailBytes: number;
}

/** A suspended staging, or undefined when it has no bytes yet; throws when its staged row is gone. */
export async function loadSuspended(db: Db, id: string): Promise<SuspendedRecord | undefined> {
  const { rows } = await sql<{
    staged: boolean;
    uploadId: string | null;
    parts: S3Part[] | null;
    tailBytes: number | null;
  }>`
    select true as staged, m.upload_id as "uploadId", m.parts, m.tail_bytes as "tailBytes"
      from staged_uploads s left join s3_multipart_uploads m on m.id = s.id
     where s.id = ${id}
  `.execute(db.kysely);
  const row = rows[0];
  if (!row) throw stagingLost();
  if (row.parts === null) return undefined;
  return { uploadId: row.uploadId, parts: row.parts, tailBytes: row.tailBytes ?? 0 };
}

export async function deleteMultipartRecord(db: Db, id: string): Promise<void> {
  await db.pool.query('delete from s3_multipart_uploads where id = $1', [id]);
}
