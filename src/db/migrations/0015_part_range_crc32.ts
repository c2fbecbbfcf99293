import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// A split file's first part checks its bytes against the CRC-32 the scan took of them, no
// longer a SHA-256 (analysis/split/part-checksum.ts says why). Part rows live only as long
// as their split: a split in flight across this migration loses its attempt (its write of
// the old column fails) and the job's next attempt splits the file again.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts drop column range_sha256, add column range_crc32 bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts drop column range_crc32, add column range_sha256 text`.execute(db);
}
