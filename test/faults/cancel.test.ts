import { describe, expect, it } from 'vitest';
import { AttemptSuperseded } from '../../src/worker/progress-writer.ts';
import { holdSource } from '../support/held-source.ts';
import { postCsv, trpcMutation } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { useTestTallies } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// Cancelling a running job, with the attempt held mid-file so the test knows it has not
// finished by itself: real PostgreSQL, HTTP and pg-boss.

const start = useTestTallies();

describe('cancel', () => {
  it('stops the running attempt: the abort is observed, nothing more is read, no result, the entry is settled', async () => {
    // The attempt is held mid-file until the cancel is committed and the worker has noticed
    // it; only then may it read on. A worker that ignored the cancel would read the rest of
    // the file (reachedEnd) or never abort (`aborted` would not resolve).
    const held = holdSource();
    const tally = await start({
      workerHooks: { wrapSource: held.wrapSource },
      env: { FILE_RETENTION_HOURS: '0' },
    });
    const sql = tally.database.sql;
    const { csv } = generateCsv(20_000); // ~600 KB: far past the hold at 96 KiB
    const { body } = await postCsv(tally.url, csv);
    await held.atHold;
    const res = await trpcMutation(tally.url, 'jobs.cancel', { jobId: body.jobId });
    expect(res.body.result.data.state).toBe('cancelled');

    // The progress writer's next check finds the token cleared and aborts the attempt.
    expect(await held.aborted()).toBeInstanceOf(AttemptSuperseded);
    held.release();
    // pg-boss hears the handler end: its entry is completed, nothing stays active.
    await waitUntil(
      async () => {
        const { rows } = await sql.query(`select state from pgboss.job where id = $1`, [body.jobId]);
        return rows[0]?.state === 'completed';
      },
      { what: "pg-boss's job to be completed" },
    );
    expect(held.stats.reachedEnd).toBe(false);
    expect(held.stats.bytes).toBeLessThan(Buffer.byteLength(csv));
    const { rows } = await sql.query(
      'select state, error_code, result, attempt_token from jobs where id = $1',
      [body.jobId],
    );
    expect(rows[0]).toEqual({
      state: 'cancelled',
      error_code: 'CANCELLED',
      result: null,
      attempt_token: null,
    });
    // Its file is released: the retention sweep (retention 0 h) removes the bytes.
    await tally.maintenance?.runOnce();
    const chunks = await sql.query('select count(*)::int as n from job_file_chunks where job_id = $1', [
      body.jobId,
    ]);
    expect(chunks.rows[0].n).toBe(0);
  });
});
