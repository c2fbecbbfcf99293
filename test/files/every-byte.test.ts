import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { trpcQuery } from '../support/http.ts';
import { useApiWithoutWorkers } from '../support/api-without-workers.ts';
import { waitUntil } from '../support/wait-until.ts';

// Every byte uploaded is the byte analysed, or there is no figure: a staging batch that does
// not commit refuses its upload (503, no job, nothing staged), and a job whose stored bytes
// do not read back as uploaded fails FILE_CORRUPT, never `completed`. Real PostgreSQL, real
// HTTP, real faults (pg_terminate_backend, rows deleted and changed under a queued job).

const MiB = 1024 * 1024;
const queued = useApiWithoutWorkers();

/** A revenue CSV of about `bytes`, every row 1.00, so the revenue is the row count. */
function revenueCsv(bytes: number): { csv: Buffer; rows: number } {
  const row = '2024-03-05,cust-0001,1.00\n';
  const rows = Math.ceil(bytes / row.length);
  return { csv: Buffer.from(`date,customer,amount\n${row.repeat(rows)}`), rows };
}

async function stored(): Promise<{ jobs: number; staged: number; chunks: number; queued: number }> {
  const { rows } = await queued.sql.query(`
    select (select count(*)::int from jobs) as jobs,
           (select count(*)::int from staged_uploads) as staged,
           (select count(*)::int from job_file_chunks) as chunks,
           (select count(*)::int from pgboss.job where name = 'analysis') as queued`);
  return rows[0];
}

describe('a staging batch that does not commit', () => {
  it('refuses the upload (503, Retry-After) when the idle commit fails: no job, nothing staged', async () => {
    const boundary = 'everybyte';
    const { csv } = revenueCsv(3 * MiB);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n`),
      csv,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const socket = net.connect(Number(new URL(queued.api.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${new URL(queued.api.url).port}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    try {
      // 1.5 MiB: the first chunk is staged and committed by the idle timer (the first
      // batch), so the staged_uploads row exists and a later batch could renew it.
      socket.write(body.subarray(0, 1.5 * MiB));
      await waitUntil(async () => (await stored()).staged === 1, { what: 'the first batch committed' });
      // The second chunk opens a second batch, idle in its transaction until the timer.
      socket.write(body.subarray(1.5 * MiB, 2.5 * MiB));
      const pid = await waitUntil(
        async () => {
          const { rows } = await queued.sql.query<{ pid: number }>(
            `select pid from pg_stat_activity
              where datname = current_database() and state = 'idle in transaction'
                and query like 'insert into job_file_chunks%'`,
          );
          return rows[0]?.pid;
        },
        { what: 'the second batch idle in its transaction' },
      );
      const connections = queued.api.db.pool.totalCount;
      await queued.sql.query('select pg_terminate_backend($1)', [pid]);
      // The idle commit fails on the cut connection, which goes out of the pool.
      await waitUntil(() => queued.api.db.pool.totalCount < connections, { what: 'the failed commit' });
      // (Not `end`: a half-closed request is aborted by Node's server, unanswered.)
      socket.write(body.subarray(2.5 * MiB));
      await waitUntil(() => answer.includes('\r\n\r\n{'), { what: 'the answer' });
    } finally {
      socket.destroy();
    }
    expect(answer).toMatch(/^HTTP\/1.1 503/);
    expect(answer).toMatch(/\r\nretry-after: \d+\r\n/i);
    expect(answer).toMatch(/"code":"SERVICE_UNAVAILABLE"/);
    await waitUntil(async () => (await stored()).chunks === 0, { what: 'the staged chunks deleted' });
    expect(await stored()).toEqual({ jobs: 0, staged: 0, chunks: 0, queued: 0 });
  });
});

describe('a job whose stored bytes do not read back as uploaded', () => {
  const runDamaged = (csv: Buffer, damage: (jobId: string) => Promise<void>) =>
    queued.uploadThenWork(csv, damage);

  function expectCorrupt(status: { state: string; error: unknown; progress?: unknown }) {
    expect(status.state).toBe('failed');
    expect(status.error).toMatchObject({
      code: 'FILE_CORRUPT',
      message: 'The stored file does not read back as it was uploaded; upload it again.',
    });
  }

  it('fails FILE_CORRUPT, with no figures, when a chunk of the queued job is gone', async () => {
    const { csv } = revenueCsv(3.5 * MiB);
    const { jobId, status } = await runDamaged(csv, async (id) => {
      const { rowCount } = await queued.sql.query(
        'delete from job_file_chunks where job_id = $1 and seq = 3',
        [id],
      );
      expect(rowCount).toBe(1); // the last chunk: without the check, the figures of 3 MiB
    });
    expectCorrupt(status);
    const result = await trpcQuery(queued.api.url, 'jobs.result', { jobId });
    expect(result.status).not.toBe(200);
    const { rows } = await queued.sql.query('select result, attempts from jobs where id = $1', [jobId]);
    expect(rows[0]).toEqual({ result: null, attempts: 1 }); // final at once: never retried
  });

  it('fails FILE_CORRUPT when one stored byte changed (a digit of an amount)', async () => {
    const { csv } = revenueCsv(2.5 * MiB);
    const { status } = await runDamaged(csv, async (id) => {
      // Byte 1 MiB + … of the file is inside chunk 1; '1.00' → '9.00' parses just as well.
      const { rows } = await queued.sql.query<{ at: number }>(
        `select position('1.00'::bytea in data) as at from job_file_chunks where job_id = $1 and seq = 1`,
        [id],
      );
      const at = rows[0]!.at;
      expect(at).toBeGreaterThan(0);
      await queued.sql.query(
        `update job_file_chunks set data = overlay(data placing '\\x39'::bytea from $2 for 1)
          where job_id = $1 and seq = 1`,
        [id, at],
      );
      const { rows: check } = await queued.sql.query<{ sha: string }>(
        `select encode(sha256(string_agg(data, ''::bytea order by seq)), 'hex') as sha
           from job_file_chunks where job_id = $1`,
        [id],
      );
      expect(check[0]!.sha).not.toBe(createHash('sha256').update(csv).digest('hex'));
    });
    expectCorrupt(status);
  });

  it('completes an undamaged job of the same shape, with every row counted', async () => {
    const { csv, rows } = revenueCsv(2.5 * MiB);
    const { jobId, status } = await runDamaged(csv, () => Promise.resolve());
    expect(status.state).toBe('completed');
    const result = await trpcQuery(queued.api.url, 'jobs.result', { jobId });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(rows);
  });
});
