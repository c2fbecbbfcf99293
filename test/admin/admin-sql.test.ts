import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/queue/boss.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { withDatabase } from '../support/global-setup.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// The admin SQL of docs/reference.md ("Admin SQL"), used the way an operator would: connected as a login
// role that was only granted tally_readonly, running the ready queries copied straight
// from docs/operations.md, against jobs made by real uploads.

const root = path.resolve(import.meta.dirname, '..', '..');

/** The fenced sql blocks of docs/operations.md whose first line is `-- ready: <name>`. */
async function readyQueries(): Promise<Map<string, string>> {
  const doc = await readFile(path.join(root, 'docs', 'operations.md'), 'utf8');
  const queries = new Map<string, string>();
  for (const [, body] of doc.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const name = /^-- ready: ([\w-]+)/.exec(body ?? '')?.[1];
    if (name) queries.set(name, body ?? '');
  }
  return queries;
}

const good = (n: number) =>
  `date,amount,customer\n${Array.from({ length: n }, (_, i) => `2024-01-${String((i % 28) + 1).padStart(2, '0')},${i + 1}.50,c${i % 7}`).join('\n')}\n`;
// The cells quote what an export may hold; they reach the owner's error message, never the admin views.
const SECRET_CELL = 'SSN 123-45-6789';
const noValidRows = `date,amount\n${SECRET_CELL},abc\nalso not,${SECRET_CELL}\n`;

let tally: TestTally;
let owner: pg.Pool;
let reader: pg.Pool;
const readerRole = `tally_t_reader_${randomBytes(4).toString('hex')}`;
let releaseStall: () => void = () => undefined;
let explode = true;
const ids: { good1: string; good2: string; bad1: string; bad2: string; exploded: string; stalled: string } =
  {} as never;

beforeAll(async () => {
  const stall = new Promise<void>((resolve) => (releaseStall = resolve));
  tally = await startTestTally({
    // One attempt only, so a simulated outage fails the job as RETRIES_EXHAUSTED at once.
    env: { JOB_RETRY_LIMIT: '0' },
    workerHooks: {
      // Markers in the CSV pick the fault, so the test needs no race on job ids.
      wrapSource: (_jobId, source) =>
        (async function* () {
          let first = true;
          for await (const chunk of source) {
            if (first) {
              first = false;
              const text = chunk.toString();
              if (text.includes('stall-me')) await stall;
              if (explode && text.includes('explode-me')) throw new Error('simulated outage');
            }
            yield chunk;
          }
        })(),
    },
  });
  owner = tally.database.sql;
  await owner.query(`create role ${readerRole} login password 'reader-pw' in role tally_readonly`);
  const u = new URL(tally.database.url);
  u.username = readerRole;
  u.password = 'reader-pw';
  // A pool of its own, not database.sql: it logs in as the read-only role, not as the owner.
  reader = new pg.Pool({ connectionString: u.toString(), max: 2 });

  const upload = async (csv: string) => {
    const res = await postCsv(tally.url, csv);
    expect(res.status).toBe(202);
    return res.body.jobId as string;
  };
  [ids.good1, ids.good2, ids.bad1, ids.bad2, ids.exploded] = await Promise.all([
    upload(good(50)),
    upload(good(20)),
    upload(noValidRows),
    upload(noValidRows),
    upload('date,amount,customer\n2024-02-01,5,explode-me\n'),
  ]);
  for (const id of Object.values(ids)) await waitForFinal(tally.url, id);
  ids.stalled = await upload('date,amount,customer\n2024-03-01,7,stall-me\n');
  await waitUntil(
    async () => {
      const { body } = await trpcQuery(tally.url, 'jobs.status', { jobId: ids.stalled });
      return body.result.data.state === 'running';
    },
    { what: 'the stalled job to be running' },
  );
  // Backdate instead of sleeping: the state a worker that hangs for ten minutes leaves.
  await owner.query(`update jobs set updated_at = now() - interval '10 minutes' where id = $1`, [
    ids.stalled,
  ]);
  // And one completed job that took three minutes.
  await owner.query(`update jobs set started_at = finished_at - interval '3 minutes' where id = $1`, [
    ids.good1,
  ]);
});

afterAll(async () => {
  releaseStall();
  await reader?.end();
  await owner?.query(`drop role if exists ${readerRole}`);
  await tally?.stop();
});

describe('tally_readonly reads the admin views', () => {
  it('finds the stuck job with the documented query', async () => {
    const q = (await readyQueries()).get('stuck-jobs');
    expect(q).toBeDefined();
    const { rows } = await reader.query(q!);
    expect(rows.map((r) => r.id)).toEqual([ids.stalled]);
    expect(rows[0].state).toBe('running');
  });

  it('finds the slow job with the documented query', async () => {
    const { rows } = await reader.query((await readyQueries()).get('slow-jobs')!);
    expect(rows.map((r) => r.id)).toEqual([ids.good1]);
    expect(Number(rows[0].rows)).toBe(50);
  });

  it('counts failures by code with the documented query', async () => {
    const { rows } = await reader.query((await readyQueries()).get('failures-by-code')!);
    expect(rows.map((r) => [r.error_code, Number(r.jobs)])).toEqual([
      ['NO_VALID_ROWS', 2],
      ['RETRIES_EXHAUSTED', 1],
    ]);
  });

  it('queue_health counts states and run-time percentiles', async () => {
    const { rows } = await reader.query((await readyQueries()).get('queue-health')!);
    const h = rows[0];
    expect([h.queued, h.running, h.completed, h.failed, h.cancelled].map(Number)).toEqual([0, 1, 2, 3, 0]);
    expect(Number(h.failures_1h)).toBe(3);
    expect(Number(h.completed_1h)).toBe(2);
    // good1 was backdated to 180 s; good2 ran in well under a second.
    expect(h.run_seconds_p95_1h).toBeGreaterThan(100);
    expect(h.run_seconds_p50_1h).toBeGreaterThan(h.run_seconds_p95_1h / 100);
    expect(h.oldest_queued_age).toBeNull();
  });

  it('tally_admin.jobs joins pg-boss state by id and shows no file contents or results', async () => {
    const { rows } = await reader.query(
      'select id, queue_state, error_code, rows from tally_admin.jobs where id = any($1) order by id',
      [[ids.good2, ids.stalled, ids.bad1]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(ids.good2)?.queue_state).toBe('completed');
    expect(byId.get(ids.stalled)?.queue_state).toBe('active');
    expect(byId.get(ids.bad1)?.error_code).toBe('NO_VALID_ROWS');
    const failures = await reader.query('select id from tally_admin.failures');
    expect(failures.rows.map((r) => r.id).sort()).toEqual([ids.bad1, ids.bad2, ids.exploded].sort());
    for (const column of ['result', 'error_details', 'options', 'sha256'])
      await expect(reader.query(`select ${column} from tally_admin.jobs`)).rejects.toMatchObject({
        code: '42703', // undefined_column
      });
  });

  it("reads no cell of any file: the owner's error message quotes it, no admin view does", async () => {
    const mine = await trpcQuery(tally.url, 'jobs.status', { jobId: ids.bad1 });
    expect(JSON.stringify(mine.body.result.data.error)).toContain(SECRET_CELL); // the owner is told
    const { rows: views } = await reader.query(
      `select table_name from information_schema.views where table_schema = 'tally_admin'`,
    );
    expect(views.map((v) => v.table_name).sort()).toEqual([
      'failures',
      'job_files',
      'jobs',
      'queue_health',
      'webhook_deliveries',
      'workers',
    ]);
    for (const { table_name } of views) {
      const { rows } = await reader.query(`select * from tally_admin.${table_name}`);
      expect(rows.length, table_name).toBeGreaterThan(0);
      expect(JSON.stringify(rows), table_name).not.toContain(SECRET_CELL);
    }
    const { rows } = await reader.query('select error_hint from tally_admin.failures where id = $1', [
      ids.bad1,
    ]);
    expect(rows[0].error_hint).toMatch(/no row had a readable date and amount/);
  });

  it('cannot read our tables, the file bytes, idempotency keys or pg-boss', async () => {
    for (const table of [
      'public.jobs',
      'public.job_file_chunks',
      'public.idempotency_keys',
      'public.kysely_migration',
      'pgboss.job',
      'pgboss.queue',
    ]) {
      await expect(reader.query(`select 1 from ${table} limit 1`), table).rejects.toMatchObject({
        code: '42501', // insufficient_privilege
      });
    }
    await expect(reader.query(`update jobs set state = 'failed'`)).rejects.toMatchObject({ code: '42501' });
  });
});

describe('retrying a failed job', () => {
  const runCli = (...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/admin/admin-cli.ts', ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: tally.database.url, LOG_LEVEL: 'silent' },
      });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      proc.on('exit', (code) => resolve({ code, out }));
    });

  it('puts it back in the queue, and it runs to completed', async () => {
    explode = false; // the "outage" is over
    const { code, out } = await runCli('retry', ids.exploded);
    expect(out).toContain(`${ids.exploded} queued`);
    expect(code).toBe(0);
    const final = await waitForFinal(tally.url, ids.exploded);
    expect(final.state).toBe('completed');
    expect(final.error).toBeNull();
    expect(final.attempts).toBe(2); // the row keeps its history
  });

  it('refuses a job that is not failed, and a malformed id', async () => {
    const done = await runCli('retry', ids.good2);
    expect(done.code).toBe(1);
    expect(done.out).toContain('NOT_FAILED');
    const bogus = await runCli('retry', 'nope');
    expect(bogus.code).toBe(1);
    expect(bogus.out).toContain('NOT_FOUND');
  });
});

describe('the views and pg-boss stay independent', () => {
  it('work before pg-boss created its schema, and never hold pg-boss migrations back', async () => {
    const adminUrl = inject('adminUrl');
    const name = `tally_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = withDatabase(adminUrl, name);
    const db = createDb(url, { max: 2 });
    try {
      await migrateToLatest(db.kysely); // ours first, as startTally does
      const before = await db.pool.query('select count(*)::int as n from tally_admin.jobs');
      expect(before.rows[0].n).toBe(0);

      const log = createLogger('silent');
      const settings = { heartbeatSeconds: 10, expireInSeconds: 60, retryLimit: 0, supervise: false };
      const boss = await startBoss(url, settings, log);
      await boss.stop({ graceful: false, close: true });
      // A view naming pgboss.job would be dropped by this cascade (or block a pg-boss
      // migration that alters the table); ours survives because nothing depends on pgboss.
      await db.pool.query('drop schema pgboss cascade');
      const after = await db.pool.query('select queue_state from tally_admin.jobs');
      expect(after.rows).toEqual([]);
    } finally {
      await db.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it('re-running the role and grants in many databases at once is harmless', async () => {
    const adminUrl = inject('adminUrl');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    const names = Array.from({ length: 4 }, () => `tally_t_${randomBytes(6).toString('hex')}`);
    try {
      for (const n of names) await admin.query(`create database ${n}`);
      await Promise.all(
        names.map(async (n) => {
          const db = createDb(withDatabase(adminUrl, n), { max: 1 });
          try {
            await migrateToLatest(db.kysely);
          } finally {
            await db.close();
          }
        }),
      );
      const { rows } = await admin.query(`select rolcanlogin from pg_roles where rolname = 'tally_readonly'`);
      expect(rows).toEqual([{ rolcanlogin: false }]);
    } finally {
      for (const n of names) await admin.query(`drop database if exists ${n} with (force)`);
      await admin.end();
    }
  });
});
