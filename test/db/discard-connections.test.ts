import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.ts';
import { isTransientDbError } from '../../src/db/transient-errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// A demoted primary keeps answering on the connections opened to it: every write fails with
// 25006 (read-only transaction) for as long as they live. The pools must drop such a
// connection when it is released, so the retry gets a new one (through the switched address,
// the new primary). Simulated here on one real connection: `default_transaction_read_only`
// set for its session makes it answer exactly as a standby does.

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 1 });
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const backendPid = async () =>
  (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.kysely)).rows[0]!.pid;
const write = () => sql`create table if not exists t_probe (x int)`.execute(db.kysely);
const turnReadOnly = () => sql`set session default_transaction_read_only = on`.execute(db.kysely);

describe('a connection that answered 25006', () => {
  it('is dropped on release: the next statement runs on a new connection, and succeeds', async () => {
    await turnReadOnly();
    const readOnlyPid = await backendPid();
    const error = await write().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe('25006');
    expect(isTransientDbError(error)).toBe(true);
    expect(await backendPid()).not.toBe(readOnlyPid);
    await expect(write()).resolves.toBeDefined();
  });

  it('inside a transaction: rolled back on it, then dropped', async () => {
    await turnReadOnly();
    const readOnlyPid = await backendPid();
    const attempt = db.kysely.transaction().execute(async (trx) => {
      await sql`create table t_probe2 (x int)`.execute(trx);
    });
    await expect(attempt).rejects.toMatchObject({ code: '25006' });
    expect(await backendPid()).not.toBe(readOnlyPid);
  });

  it('via Db.query (the status read) as well', async () => {
    await turnReadOnly();
    const readOnlyPid = await backendPid();
    await expect(
      db.query({ name: 'probe-write', text: 'create table t_probe3 (x int)', values: [] }),
    ).rejects.toMatchObject({ code: '25006' });
    expect(await backendPid()).not.toBe(readOnlyPid);
  });
});
