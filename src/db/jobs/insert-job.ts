import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface NewJob {
  id: string;
  owner: string;
  filename: string;
  bytes: number;
  sha256: string;
  compression: 'none' | 'gzip';
  options: unknown;
  delimiter: string;
}

export async function insertJob(trx: Kysely<Database>, job: NewJob): Promise<void> {
  await trx
    .insertInto('jobs')
    .values({ ...job, state: 'queued', options: JSON.stringify(job.options) })
    .execute();
}
