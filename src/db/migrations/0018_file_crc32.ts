import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Every stored file's CRC-32, taken at upload beside its SHA-256 (files/file-digest.ts), so
// a file analysed in parallel parts can be checked whole by combining the parts' CRC-32s
// (lib/crc32-combine.ts) without any part reading the whole file. Unsigned 32-bit, hence
// bigint. Nullable: jobs stored before this have none (nor do their re-runs, which copy it),
// and the split analyses such a file in one piece.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs add column crc32 bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs drop column crc32`.execute(db);
}
