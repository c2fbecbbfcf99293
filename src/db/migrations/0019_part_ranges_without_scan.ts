import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// A split file's parts all know their ranges when they are queued: the plan no longer scans
// the file, so no part waits for the attempt to write its end and CRC-32 (migrations 0014,
// 0015). Part rows live only as long as their split: a split in flight across this
// migration loses its attempt, and the job's next attempt splits the file again.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts drop column range_end, drop column range_crc32`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts add column range_end bigint, add column range_crc32 bigint`.execute(
    db,
  );
}
