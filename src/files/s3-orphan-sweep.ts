import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { validate as isUuid } from 'uuid';
import type { Db } from '../db/database.ts';
import type { S3Settings } from './s3-settings.ts';

/** Keys listed per pass: one ListObjectsV2 page; the next pass goes on from there. */
const KEYS_PER_PASS = 1000;

interface SweepDeps {
  s3: S3Client;
  settings: S3Settings;
  db: Db;
  leaseMs: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * What a crash leaves in the bucket, found and removed without ever touching a live upload
 * on another host. Three passes, each safe on many processes at once:
 *
 * 1. Multipart uploads recorded in `s3_multipart_uploads` whose staging is gone (its row was
 *    swept: lease run out, or its writer died on this host) and that no job owns: aborted,
 *    with their tail objects. A live staging keeps its row, renewed, so it is never among them.
 * 2. Objects under S3_PREFIX (one listing page per pass) whose id neither a job that still
 *    keeps its bytes nor a staging owns, and older than the lease: deleted. The age spares a
 *    re-run's copy whose transaction has not committed yet.
 * 3. Where the server lists multipart uploads (AWS does; fauxqs does not), uploads under the
 *    prefix older than the lease that no record names: aborted. That covers a kill -9 between
 *    CreateMultipartUpload and its record; elsewhere a bucket lifecycle rule
 *    (AbortIncompleteMultipartUpload) does, as the README says.
 */
export class S3OrphanSweep {
  private continuation: string | undefined;
  private listsUploads = true;

  constructor(private readonly deps: SweepDeps) {}

  /** `swept`: staging ids the shared sweep just removed. Returns the ids whose leftovers were removed. */
  async run(swept: readonly string[]): Promise<string[]> {
    const aborted = await this.abortAbandonedUploads(swept);
    const deleted = await this.deleteUnownedObjects();
    await this.abortUnrecordedUploads();
    return [...aborted, ...deleted];
  }

  private async abortAbandonedUploads(swept: readonly string[]): Promise<string[]> {
    const { rows } = await sql<{ id: string; key: string; uploadId: string | null }>`
      select m.id, m.object_key as key, m.upload_id as "uploadId" from s3_multipart_uploads m
       where (m.id = any(${swept}::uuid[]) or m.created_at < now() - make_interval(secs => ${this.deps.leaseMs / 1000}))
         and not exists (select 1 from staged_uploads s where s.id = m.id)
         and not exists (select 1 from jobs j where j.id = m.id)
       limit 100
    `.execute(this.deps.db.kysely);
    const done: string[] = [];
    for (const row of rows) {
      try {
        if (row.uploadId !== null) await this.abort(row.key, row.uploadId);
        await this.deleteKeys([row.key, `${row.key}.tail`]);
        await sql`delete from s3_multipart_uploads where id = ${row.id}`.execute(this.deps.db.kysely);
        done.push(row.id);
      } catch (error) {
        this.deps.log.warn(
          { err: error, stagedUpload: row.id },
          'could not abort an abandoned multipart upload; next pass',
        );
      }
    }
    if (done.length > 0)
      this.deps.log.info({ multipartUploads: done.length }, 'aborted abandoned multipart uploads');
    return done;
  }

  private async deleteUnownedObjects(): Promise<string[]> {
    const { bucket, prefix } = this.deps.settings;
    const page = await this.deps.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: KEYS_PER_PASS,
        ContinuationToken: this.continuation,
      }),
    );
    this.continuation = page.IsTruncated ? page.NextContinuationToken : undefined;
    // <prefix><job or staging id>, and `.tail` after a staging's id; any other key is not ours.
    const ours = new RegExp(`^${escapeRegExp(prefix)}(.+?)(\\.tail)?$`);
    const oldEnough = Date.now() - this.deps.leaseMs;
    const candidates = (page.Contents ?? []).flatMap((o) => {
      const match = o.Key ? ours.exec(o.Key) : null;
      if (!match || !isUuid(match[1]!) || !o.LastModified || o.LastModified.getTime() > oldEnough) return [];
      return [{ key: o.Key!, id: match[1]!.toLowerCase(), tail: match[2] !== undefined }];
    });
    if (candidates.length === 0) return [];
    const ids = [...new Set(candidates.map((c) => c.id))];
    const { rows } = await sql<{ id: string; job: boolean }>`
      select id, true as job from jobs where id = any(${ids}::uuid[]) and file_deleted_at is null
      union all
      select id, false as job from staged_uploads where id = any(${ids}::uuid[])
    `.execute(this.deps.db.kysely);
    const jobs = new Set(rows.filter((r) => r.job).map((r) => r.id));
    const staged = new Set(rows.filter((r) => !r.job).map((r) => r.id));
    // A tail belongs to a staging only; an object to its job, or to a staging finishing.
    const orphans = candidates.filter((c) => !staged.has(c.id) && (c.tail || !jobs.has(c.id)));
    if (orphans.length === 0) return [];
    await this.deleteKeys(orphans.map((o) => o.key));
    this.deps.log.info({ objects: orphans.length }, 'deleted objects no job or upload owns');
    return [...new Set(orphans.map((o) => o.id))];
  }

  private async abortUnrecordedUploads(): Promise<void> {
    if (!this.listsUploads) return;
    const { bucket, prefix } = this.deps.settings;
    let uploads;
    try {
      uploads = await this.deps.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    } catch {
      this.listsUploads = false; // not offered by this server (fauxqs): the records cover it
      return;
    }
    const oldEnough = Date.now() - this.deps.leaseMs;
    const stale = (uploads.Uploads ?? []).filter(
      (u) => u.Key && u.UploadId && u.Initiated && u.Initiated.getTime() < oldEnough,
    );
    if (stale.length === 0) return;
    const { rows } = await sql<{ uploadId: string }>`
      select upload_id as "uploadId" from s3_multipart_uploads where upload_id = any(${stale.map((u) => u.UploadId!)})
    `.execute(this.deps.db.kysely);
    const recorded = new Set(rows.map((r) => r.uploadId));
    for (const u of stale)
      if (!recorded.has(u.UploadId!)) await this.abort(u.Key!, u.UploadId!).catch(() => undefined);
  }

  private async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.deps.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.deps.settings.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'NoSuchUpload') throw error; // already gone: done
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    await this.deps.s3.send(
      new DeleteObjectsCommand({
        Bucket: this.deps.settings.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
