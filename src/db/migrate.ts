import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import type { Logger } from '../logger.ts';
import type { Database } from './schema.ts';

const migrationFolder = path.join(import.meta.dirname, 'migrations');

/**
 * Brings Tally's own schema to the latest migration. Safe to run from many processes at
 * once: kysely's Migrator serialises them with a lock table.
 */
export async function migrateToLatest(db: Kysely<Database>, log?: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') log?.info({ migration: r.migrationName }, 'migration applied');
    if (r.status === 'Error') log?.error({ migration: r.migrationName }, 'migration failed');
  }
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
}
