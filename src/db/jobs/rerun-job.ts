import { sql } from 'kysely';
import { fromKysely, type PgBoss } from 'pg-boss';
import { v7 as uuidv7 } from 'uuid';
import type { JobOptions } from '../../analysis/options.ts';
import { jobNotFound, TallyError } from '../../errors.ts';
import { ANALYSIS_QUEUE, type AnalysisJobData } from '../../queue/boss.ts';
import { fairShareSendOptions } from '../../queue/fair-share.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import type { Db } from '../database.ts';

export interface RerunJob {
  jobId: string;
  state: 'queued';
  /** The job whose bytes were re-run. */
  rerunOf: string;
}

/**
 * A new job from the bytes an earlier job stored, with other options (jobs.rerun): its own
 * id, state and history; the old job is not touched. In ONE transaction, as an upload:
 * the job row, the file's bytes (StoredFiles.reuse) and the pg-boss entry commit together
 * or not at all.
 *
 * The old row is read `for key share`: the retention sweep locks the rows it deletes
 * `for update skip locked`, so it skips a job being re-run right now, and a re-run that
 * arrives while the sweep holds the row waits, then sees `file_deleted_at` set. A job
 * therefore never gets a partial copy. `key share` rather than `share`: it does not hold
 * up the old job's own progress writes if it is still running.
 *
 * Throws NOT_FOUND for an unknown job or another owner's (indistinguishable, as
 * everywhere), FILE_EXPIRED once retention deleted the bytes.
 */
export async function rerunJob(
  deps: { db: Db; boss: PgBoss; files: StoredFiles },
  input: { owner: string; jobId: string; options: JobOptions },
): Promise<RerunJob> {
  const jobId = uuidv7();
  return deps.db.kysely.transaction().execute(async (trx) => {
    const old = await trx
      .selectFrom('jobs')
      .select(['id', 'bytes', 'sha256', 'file_deleted_at'])
      .where('id', '=', input.jobId)
      .where('owner', '=', input.owner)
      .forKeyShare()
      .executeTakeFirst();
    if (!old) throw jobNotFound();
    if (old.file_deleted_at !== null) throw fileExpired(old.file_deleted_at);

    // The new row copies what describes the file (name, size, hash, compression, the
    // delimiter sniffed at upload unless the options name one); everything else starts anew.
    await sql`
      insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter, rerun_of)
      select ${jobId}, owner, 'queued', filename, bytes, sha256, compression,
             ${JSON.stringify(input.options)}::jsonb, coalesce(${input.options.delimiter ?? null}, delimiter), id
        from jobs where id = ${input.jobId}
    `.execute(trx);
    // The bytes, in the same transaction (src/files/: PostgreSQL copies its chunks inside
    // the database); FILE_MISSING rolls it back.
    await deps.files.reuse(trx, { jobId: old.id, bytes: old.bytes, sha256: old.sha256 }, jobId);
    const data: AnalysisJobData = { jobId };
    await deps.boss.send(ANALYSIS_QUEUE, data, {
      id: jobId,
      ...(await fairShareSendOptions(trx, input.owner)),
      db: fromKysely(trx),
    });
    return { jobId, state: 'queued', rerunOf: input.jobId };
  });
}

function fileExpired(deletedAt: Date): TallyError {
  return new TallyError(
    'FILE_EXPIRED',
    'This job’s uploaded file has been deleted (files are kept for a limited time after a job ends), ' +
      'so it cannot be re-run. Upload the file again with the options you want.',
    { fileDeletedAt: deletedAt.toISOString() },
  );
}
