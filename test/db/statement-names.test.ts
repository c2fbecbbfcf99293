import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.ts';
import { StatementNames, withStatementName } from '../../src/lib/statement-names.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startOneConnectionBoss } from '../support/one-connection-boss.ts';

describe('StatementNames', () => {
  it('names a text the second time it is seen, and the same name ever after', () => {
    const names = new StatementNames();
    expect(names.nameFor('select $1')).toBeUndefined();
    const name = names.nameFor('select $1');
    expect(name).toMatch(/^t_/);
    expect(names.nameFor('select $1')).toBe(name);
    expect(names.nameFor('select $1 + 1')).toBeUndefined();
    expect(names.nameFor('select $1 + 1')).not.toBe(name);
  });

  it('leaves alone what the simple protocol must carry: commands without values, several statements', () => {
    const names = new StatementNames();
    for (const args of [
      ['begin', []],
      ['commit', []],
      ['select 1; select 2', []],
      ['select $1', [1], () => {}],
    ])
      for (let i = 0; i < 3; i++) expect(withStatementName(names, args)).toBe(args);
    const claim = ['with next as (select 1) update t set a = 1 from next', []];
    withStatementName(names, claim);
    expect(withStatementName(names, claim)).toEqual([
      expect.objectContaining({ text: claim[0], values: [] }),
    ]);
  });

  it('names no more than its limit, and forgets texts seen once when its window is full', () => {
    const names = new StatementNames(2, 3);
    for (const text of ['a', 'a', 'b', 'b', 'c']) names.nameFor(text);
    expect(names.nameFor('c')).toBeUndefined(); // third name: over the limit
    expect(names.nameFor('a')).toBeDefined(); // named before the limit: still named
    const window = new StatementNames(10, 2);
    window.nameFor('x');
    window.nameFor('y');
    window.nameFor('z'); // the window was full: x and y forgotten
    expect(window.nameFor('x')).toBeUndefined();
    expect(window.nameFor('z')).toBeDefined();
  });
});

// Against a real server: what the pools send, seen from PostgreSQL's side of the connection.
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const prepared = async (db: Db) =>
  (
    await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db.kysely)
  ).rows.map((r) => r.statement);
const lookup = (db: Db, n: number) => sql<{ n: number }>`select ${n}::int + 1 as n`.execute(db.kysely);

describe('a pool on a direct connection', () => {
  it('prepares a statement it runs again, once per connection, and its answers stay right', async () => {
    const db = createDb(database.url, { max: 1 });
    try {
      expect((await lookup(db, 1)).rows[0]?.n).toBe(2);
      expect(await prepared(db)).toEqual([]);
      expect((await lookup(db, 2)).rows[0]?.n).toBe(3);
      expect((await lookup(db, 41)).rows[0]?.n).toBe(42);
      const statements = await prepared(db);
      expect(statements.filter((s) => s.includes('::int + 1 as n'))).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('drops a connection whose prepared statement went stale under a migration; the next call succeeds', async () => {
    const db = createDb(database.url, { max: 1 });
    try {
      await sql`create table stale_probe (a int)`.execute(db.kysely);
      await sql`insert into stale_probe values (1)`.execute(db.kysely);
      const read = () =>
        db.kysely
          .selectFrom('stale_probe' as never)
          .selectAll()
          .where('a' as never, '=', 1 as never)
          .execute();
      await read();
      await read(); // now a prepared statement on this connection
      await sql`alter table stale_probe add column b int`.execute(db.kysely);
      const stale = await read().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((stale as { code?: string } | undefined)?.code).toBe('0A000');
      expect(await read()).toEqual([{ a: 1, b: null }]);
    } finally {
      await db.close();
    }
  });
});

describe('a pool behind a transaction pooler', () => {
  it('prepares nothing: the next statement may land on a server connection that never saw it', async () => {
    const db = createDb(database.url, { max: 1, transactionPooled: true });
    try {
      for (const n of [1, 2, 3]) await lookup(db, n);
      expect(await prepared(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe("pg-boss's statements on a direct connection", () => {
  it('are prepared once they repeat: its insert, its claim (finding its entries by key) and its complete', async () => {
    // One connection, so pg_prepared_statements (per session) shows all it prepared.
    const boss = await startOneConnectionBoss(database.url);
    try {
      for (let i = 0; i < 3; i++) {
        await boss.send('tally-analysis', { jobId: `j${i}` });
        const [job] = await boss.fetch('tally-analysis');
        await boss.complete('tally-analysis', job!.id);
      }
      const { rows } = await boss.getDb().executeSql('select statement from pg_prepared_statements');
      const statements = (rows as { statement: string }[]).map((r) => r.statement.replace(/\s+/g, ' '));
      expect(statements.some((s) => s.includes('INSERT INTO pgboss.job'))).toBe(true);
      // A claim's plan must hold as its table grows (test/queue/claim-plan.test.ts).
      const claims = statements.filter((s) => /SET state = 'active'/.test(s));
      expect(claims).toEqual([expect.stringContaining('j.id = ANY (ARRAY(SELECT id FROM next))')]);
      expect(statements.some((s) => /SET completed_on/.test(s))).toBe(true);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
