import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { logLines, type LogLines } from '../support/log-lines.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { waitUntil } from '../support/wait-until.ts';

// lib/plan-functions.ts through a real PgBouncer 1.18 in transaction mode, which carries no
// prepared statements: a statement sent again goes through a function of its own, and
// answers exactly what the statement answers.

let database: TestDatabase;
let bouncer: PgBouncer;
let db: Db;
let logs: LogLines;
let direct: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  direct = new pg.Pool({ connectionString: database.url, max: 2 });
  await direct.query('create table plan_t (id int primary key, v text not null)');
  bouncer = await startPgBouncer(database.url, { defaultPoolSize: 3 });
  logs = logLines();
  db = createDb(bouncer.pooledUrl(database.url), {
    max: 4,
    transactionPooled: true,
    log: createLogger('debug', {}, logs.stream),
  });
});

afterAll(async () => {
  await db?.close();
  await direct?.end();
  await bouncer?.stop();
  await database?.drop();
});

/** Functions made for statements, by their source. */
const planFunctions = async () =>
  (await direct.query<{ src: string }>(`select prosrc as src from pg_proc where proname like 'tally_plan_%'`))
    .rows;

/** A result that came through a function: its columns belong to no table. */
const throughFunction = (result: pg.QueryResult) => result.fields.every((f) => f.tableID === 0);

describe('plan functions behind a transaction pooler', () => {
  it('a statement sent again runs through a function, answering what the statement answers', async () => {
    const insert = (id: number) =>
      db.query<{ id: number; v: string }>({
        name: 'insert',
        text: 'insert into plan_t (id, v) values ($1, $2) returning id, v',
        values: [id, `v${id}`],
      });
    const first = await insert(1);
    expect(throughFunction(first)).toBe(false);
    await insert(2); // seen twice: its function is made, in the background
    let id = 2;
    const routed = await waitUntil(
      async () => {
        const result = await insert(++id);
        return throughFunction(result) && result;
      },
      { what: 'an insert through its function' },
    );
    expect(routed.rows).toEqual([{ id, v: `v${id}` }]);
    expect(routed.rowCount).toBe(1);
    expect(routed.command).toBe('INSERT');
    expect(routed.fields.map((f) => [f.name, f.dataTypeID])).toEqual(
      first.fields.map((f) => [f.name, f.dataTypeID]),
    );
    const sources = await planFunctions();
    expect(sources.some((f) => f.src.includes('insert into plan_t'))).toBe(true);

    // kysely reads the command tag for the rows a change touched: the same text through the
    // pool's client (as kysely sends it) until it is routed, then through kysely.
    const text = 'update plan_t set v = $1 where id <= 2 returning id';
    const client = await db.pool.connect();
    try {
      const routedUpdate = await waitUntil(
        async () => {
          const result = await client.query(text, ['a']);
          return throughFunction(result) && result;
        },
        { what: 'the update through its function' },
      );
      expect([routedUpdate.command, routedUpdate.rowCount]).toEqual(['UPDATE', 2]);
    } finally {
      client.release();
    }
    const viaKysely = await sql`update plan_t set v = ${'b'} where id <= 2 returning id`.execute(db.kysely);
    expect(viaKysely.numAffectedRows).toBe(2n);
  });

  it('leaves alone a change that answers no rows, and a column of no fixed type (no warning)', async () => {
    for (let i = 0; i < 4; i++) {
      const { rowCount, command } = await db.query({
        name: 'touch',
        text: 'update plan_t set v = $1 where id = 1',
        values: [`t${i}`],
      });
      expect([rowCount, command]).toEqual([1, 'UPDATE']);
    }
    const sleeper = () =>
      db.query<{ n: number }>({ name: 'void', text: 'select pg_sleep(0) as s, $1::int as n', values: [7] });
    await sleeper();
    await sleeper();
    await logs.waitFor(/"reason":"a column of no fixed type".*"msg":"statement left as written"/);
    expect((await sleeper()).rows[0]?.n).toBe(7);
    const sources = await planFunctions();
    expect(sources.some((f) => f.src.includes('pg_sleep') || f.src.includes('set v = $1 where id = 1'))).toBe(
      false,
    );
    expect(logs.lines.filter((l) => l.includes('could not create a function'))).toEqual([]);
  });

  it('where the database refuses the function, the statement runs as written and a warning says so', async () => {
    // A database whose sessions have no schema to create in (their search path names none
    // that exists): CREATE FUNCTION fails there as it does without CREATE on the schema.
    const nowhere = await createTestDatabase();
    const setup = new pg.Client({ connectionString: nowhere.url });
    await setup.connect();
    await setup.query('create table public.plan_w (id int primary key, v text not null)');
    await setup.query(`insert into public.plan_w values (1, 'one')`);
    await setup.query(`alter database ${nowhere.name} set search_path = tally_no_such_schema`);
    await setup.end();
    const refused = logLines();
    const pooled = createDb(bouncer.pooledUrl(nowhere.url), {
      max: 2,
      transactionPooled: true,
      log: createLogger('warn', {}, refused.stream),
    });
    try {
      const read = () =>
        pooled.query<{ v: string }>({
          name: 'w',
          text: 'select v from public.plan_w where id = $1',
          values: [1],
        });
      await read();
      await read(); // seen twice: its definition is tried, and refused
      await refused.waitFor(/could not create a function for a repeated statement/);
      for (let i = 0; i < 3; i++) {
        const after = await read();
        expect(throughFunction(after)).toBe(false);
        expect(after.rows).toEqual([{ v: 'one' }]);
      }
      expect(refused.lines.filter((l) => l.includes('could not create a function'))).toHaveLength(1);
    } finally {
      await pooled.close();
      await nowhere.drop();
    }
  });

  it('a function dropped under it: the statement runs as written, then gets its function again', async () => {
    const read = () =>
      db.query<{ v: string }>({ name: 'read', text: 'select v from plan_t where id = $1', values: [1] });
    await read();
    await read();
    await waitUntil(async () => throughFunction(await read()), { what: 'the read through its function' });
    const { rows } = await direct.query<{ sig: string }>(
      `select oid::regprocedure::text as sig from pg_proc where prosrc like '%select v from plan_t%'`,
    );
    expect(rows).toHaveLength(1);
    await direct.query(`drop function ${rows[0]!.sig}`);
    const after = await read(); // the call fails as a whole; the statement runs as written
    expect(throughFunction(after)).toBe(false);
    expect(after.rows).toHaveLength(1);
    await read();
    await waitUntil(async () => throughFunction(await read()), { what: 'the read through a new function' });
  });
});
