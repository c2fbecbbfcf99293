import { describe, expect, it } from 'vitest';
import { ANALYSIS_PART_QUEUE } from '../../src/queue/boss.ts';
import { spawnTally } from '../support/child-process.ts';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { waitUntil } from '../support/wait-until.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';
import { splitFile } from './split-files.ts';

// Real worker processes, real pg-boss sub-jobs. A big plain file (big: the threshold is
// lowered to 100 kB) is split into 3 parts that the workers take; the result must equal a
// one-worker run of the same file (both read back through jobs.result, the same jsonb), and
// a part whose worker is killed -9 mid-part is retried elsewhere without changing a figure.

const SPLIT_ENV = {
  WORKER_CONCURRENCY: '1',
  JOB_HEARTBEAT_SECONDS: '10',
  PARALLEL_ANALYSIS_MIN_BYTES: '100000',
  PARALLEL_ANALYSIS_PARTS: '3',
  SPILL_THRESHOLD_KEYS: '500',
};
const fleet = useWorkerFleet(SPLIT_ENV);
const csv = splitFile({ rows: 9000, seed: 5, customers: 4000 }).toString('utf8'); // ~1.1 MB

async function resultOf(jobId: string): Promise<unknown> {
  return (await trpcQuery(fleet.api.url, 'jobs.result', { jobId })).body.result.data;
}

/** What a lost heartbeat leads to, now: the part's claim backdated, failed into a retry, due at once. */
async function expirePartClaim(part: number): Promise<void> {
  const where = `name = '${ANALYSIS_PART_QUEUE}' and (data->>'part')::int = ${part}`;
  await fleet.sql.query(
    `update pgboss.job set heartbeat_on = now() - interval '1 hour' where ${where} and state = 'active'`,
  );
  await fleet.api.boss.supervise(ANALYSIS_PART_QUEUE);
  await fleet.sql.query(`update pgboss.job set start_after = now() where ${where} and state = 'retry'`);
}

let reference: unknown;

describe('one big file, every worker', () => {
  it('gives the one-worker result when its parts run as sub-jobs on two workers', async () => {
    // The reference: the same file on a worker that never splits.
    const single = spawnTally('test/support/tally-process.ts', ['worker'], {
      DATABASE_URL: fleet.database.url,
      ...SPLIT_ENV,
      PARALLEL_ANALYSIS_PARTS: '1',
    });
    await single.waitForLog(/tally started/);
    const one = await postCsv(fleet.api.url, csv);
    expect(await waitForFinal(fleet.api.url, one.body.jobId, {}, 60_000)).toMatchObject({
      state: 'completed',
    });
    reference = await resultOf(one.body.jobId);
    single.kill('SIGTERM');
    await single.exited;

    const a = fleet.worker();
    const b = fleet.worker();
    await Promise.all([a.waitForLog(/tally started/), b.waitForLog(/tally started/)]);
    const { body } = await postCsv(fleet.api.url, csv);
    const status = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'completed', attempts: 1, error: null });
    expect(await resultOf(body.jobId)).toEqual(reference);
    const { rows } = await fleet.sql.query(
      `select count(*)::int as n from pgboss.job where name = $1 and data->>'jobId' = $2 and state = 'completed'`,
      [ANALYSIS_PART_QUEUE, body.jobId],
    );
    // Parts 1 and 2 as pg-boss jobs; the attempt runs part 0 itself.
    expect(rows[0].n).toBe(2);
    // The attempt deleted its parts' figures and runs once merged.
    expect((await fleet.sql.query('select count(*)::int as n from analysis_parts')).rows[0].n).toBe(0);
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  });

  it('retries a part whose worker was killed -9 on another worker, changing no figure', async () => {
    // Slow workers (~200 KB/s), so a part is well under way when its worker dies.
    const a = fleet.worker(['--throttle', '2048:10']);
    const b = fleet.worker(['--throttle', '2048:10']);
    await Promise.all([a.waitForLog(/tally started/), b.waitForLog(/tally started/)]);
    const { body } = await postCsv(fleet.api.url, csv);
    // The attempt queues every part after the first at once: the other worker's first part is
    // killed while under way (not yet finished).
    const split = await Promise.race(
      [a, b].map(async (w) => (await w.waitForLog(/attempt started/, 60_000), w)),
    );
    const victim = split === a ? b : a;
    const line = await victim.waitForLog(/part started/, 60_000);
    const part = Number(JSON.parse(line).part);
    await waitUntil(
      async () => {
        const { rows } = await fleet.sql.query(
          'select bytes_processed, finished_at from analysis_parts where job_id = $1 and part = $2',
          [body.jobId, part],
        );
        if (rows[0]?.finished_at != null) throw new Error(`part ${part} finished before it could be killed`);
        return Number(rows[0]?.bytes_processed) > 60_000;
      },
      { what: `part ${part} to be under way`, intervalMs: 20 },
    );
    victim.kill('SIGKILL');
    await victim.exited;
    await expirePartClaim(part);
    const c = fleet.worker(); // takes the retried part

    const status = await waitForFinal(fleet.api.url, body.jobId, {}, 90_000);
    expect(status).toMatchObject({ state: 'completed', attempts: 1, error: null });
    expect(await resultOf(body.jobId)).toEqual(reference);
    const { rows } = await fleet.sql.query(
      `select retry_count from pgboss.job where name = $1 and data->>'jobId' = $2 and (data->>'part')::int = $3`,
      [ANALYSIS_PART_QUEUE, body.jobId, part],
    );
    expect(rows).toEqual([{ retry_count: 1 }]);
    split.kill('SIGTERM');
    c.kill('SIGTERM');
    await Promise.all([split.exited, c.exited]);
  });

  it('fails the job FILE_CORRUPT, with no figures, when a stored byte is not the upload', async () => {
    // One bit flipped in the stored file after the upload: no part can tell (each reads only
    // its range, and the parts still parse); their CRC-32s, combined, are not the upload's.
    const { body } = await postCsv(fleet.api.url, csv);
    const { rowCount } = await fleet.sql.query(
      `update job_file_chunks set data = set_byte(data, length(data) / 2, get_byte(data, length(data) / 2) # 1)
        where job_id = $1 and seq = 0`,
      [body.jobId],
    );
    expect(rowCount).toBe(1);
    const a = fleet.worker();
    const b = fleet.worker();
    const status = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'FILE_CORRUPT' } });
    const { rows } = await fleet.sql.query('select result from jobs where id = $1', [body.jobId]);
    expect(rows[0].result).toBeNull();
    const queued = await fleet.sql.query(
      `select (data->>'part')::int as part from pgboss.job where name = $1 and data->>'jobId' = $2 order by 1`,
      [ANALYSIS_PART_QUEUE, body.jobId],
    );
    expect(queued.rows).toEqual([{ part: 1 }, { part: 2 }]);
    await waitUntil(
      async () =>
        (await fleet.sql.query('select 1 from analysis_parts where job_id = $1', [body.jobId])).rowCount ===
        0,
      { what: "the failed attempt's parts deleted" },
    );
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  });

  it('stops every part when the job is cancelled', async () => {
    const a = fleet.worker(['--throttle', '2048:10']);
    const b = fleet.worker(['--throttle', '2048:10']);
    await Promise.all([a.waitForLog(/tally started/), b.waitForLog(/tally started/)]);
    const { body } = await postCsv(fleet.api.url, csv);
    // Cancelled while the parts run.
    const running = async () =>
      (
        await fleet.sql.query(
          `select count(*)::int as n from analysis_parts where job_id = $1 and bytes_processed > 0 and finished_at is null`,
          [body.jobId],
        )
      ).rows[0].n as number;
    await waitUntil(async () => (await running()) >= 1, { what: 'a part under way', intervalMs: 20 });
    const res = await trpcMutation(fleet.api.url, 'jobs.cancel', { jobId: body.jobId });
    expect(res.body.result.data.state).toBe('cancelled');
    // Every part's pg-boss job ends (the parts stop at their next progress write) and the
    // attempt deletes its parts' rows; no part runs to its end.
    await waitUntil(
      async () => {
        const { rows } = await fleet.sql.query(
          `select count(*)::int as n from pgboss.job where name = $1 and data->>'jobId' = $2 and state in ('created', 'active', 'retry')`,
          [ANALYSIS_PART_QUEUE, body.jobId],
        );
        return rows[0].n === 0;
      },
      { what: 'no part of the cancelled job left', timeoutMs: 30_000 },
    );
    await waitUntil(
      async () =>
        (await fleet.sql.query('select 1 from analysis_parts where job_id = $1', [body.jobId])).rowCount ===
        0,
      {
        what: "the cancelled attempt's parts deleted",
      },
    );
    expect(
      [...a.logs, ...b.logs].filter(
        (l) => /part finished|part result discarded/.test(l) && l.includes(body.jobId),
      ),
    ).toEqual([]);
  });
});
