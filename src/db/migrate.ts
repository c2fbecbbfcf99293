import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import type { Logger } from '../logger.ts';
import { createDb } from './database.ts';
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

/**
 * Migrates over a connection of its own to `sessionUrl` (LISTEN_DATABASE_URL): kysely's
 * migrator holds a session advisory lock (`pg_advisory_lock`) across its transaction.
 * Through a transaction pooler that lock would stay behind on whichever server connection
 * ran it, held forever, and the unlock would run on another one (a warning, no effect).
 */
export async function migrateOverSession(sessionUrl: string, log?: Logger): Promise<void> {
  const db = createDb(sessionUrl, { max: 1, applicationName: 'tally-migrate' });
  try {
    await migrateToLatest(db.kysely, log);
  } finally {
    await db.close();
  }
}
