import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import type { Database } from '../db/schema.ts';

const migrationFolder = path.join(import.meta.dirname, '..', 'db', 'migrations');

export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Ready = the database answers and every migration file in this build has been applied.
 * A process of a newer build next to an older database (a deploy whose release step has
 * not run yet) is therefore not ready, rather than failing requests on a missing column.
 */
export function createReadinessCheck(
  db: Kysely<Database>,
): (onDatabaseError?: (error: unknown) => void) => Promise<Readiness> {
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
  // Applied migrations are never un-applied under a running process: check until true once.
  let migrated = false;
  return async (onDatabaseError) => {
    try {
      await sql`select 1`.execute(db);
      if (!migrated) {
        const pending = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined);
        if (pending.length > 0)
          return {
            ready: false,
            reason: `Migrations are pending: ${pending.map((m) => m.name).join(', ')}.`,
          };
        migrated = true;
      }
      return { ready: true };
    } catch (error) {
      // The driver's text is for the log (onDatabaseError), not for anonymous callers.
      onDatabaseError?.(error);
      return { ready: false, reason: 'The database is unreachable; retry shortly.' };
    }
  };
}
