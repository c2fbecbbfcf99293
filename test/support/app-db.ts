import { afterAll, beforeAll } from 'vitest';
import { createDb, type Db, type DbOptions } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/** A fresh test database with the app's own handle on it (the pool and Kysely the app uses). */
export interface TestDb {
  database: TestDatabase;
  db: Db;
  /** Closes the handle, then drops the database. */
  close: () => Promise<void>;
}

export async function openTestDb(opts: DbOptions = { max: 3 }): Promise<TestDb> {
  const database = await createTestDatabase();
  const db = createDb(database.url, opts);
  return {
    database,
    db,
    close: async () => {
      await db.close();
      await database.drop();
    },
  };
}

/**
 * One TestDb for a whole test file: opened before its tests, closed after them. Call it at
 * the top level of the file; read `.db` inside hooks and tests.
 */
export function useTestDb(opts?: DbOptions): { readonly db: Db; readonly database: TestDatabase } {
  let opened: TestDb | undefined;
  beforeAll(async () => {
    opened = await openTestDb(opts);
  });
  afterAll(async () => {
    await opened?.close();
  });
  return {
    get db() {
      if (!opened) throw new Error('useTestDb: the database is opened in beforeAll, read .db in a test');
      return opened.db;
    },
    get database() {
      if (!opened)
        throw new Error('useTestDb: the database is opened in beforeAll, read .database in a test');
      return opened.database;
    },
  };
}
