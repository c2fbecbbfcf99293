import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// A split file's first part starts as soon as the file's head is read, before the scan has
// found where it ends (the first record start past its target): the attempt writes the end
// and the SHA-256 of the part's bytes here when the scan passes it, and the part reads them
// once it has read up to its target.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts add column range_end bigint, add column range_sha256 text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table analysis_parts drop column range_end, drop column range_sha256`.execute(db);
}
