import type pg from 'pg';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

/**
 * The two places uploaded bytes may live (CONTRACT §8), for tests that run against both:
 * what a Tally needs in its environment, and how a test sees what is stored.
 */
export interface StoreUnderTest {
  name: 'postgres' | 's3';
  env: Record<string, string>;
  /** Pieces of stored bytes that exist for `id` (chunks, or objects, tails and open multipart uploads). */
  storedPieces(sql: pg.Pool, id: string): Promise<number>;
  /** Pieces of stored bytes no job owns (what a refused or cut-off upload must not leave). */
  orphanPieces(sql: pg.Pool): Promise<number>;
  stop(): Promise<void>;
}

export async function startStore(name: 'postgres' | 's3'): Promise<StoreUnderTest> {
  if (name === 'postgres') {
    return {
      name,
      env: {},
      storedPieces: async (sql, id) => {
        const { rows } = await sql.query<{ n: number }>(
          'select count(*)::int as n from job_file_chunks where job_id = $1',
          [id],
        );
        return rows[0]!.n;
      },
      orphanPieces: async (sql) => {
        const { rows } = await sql.query<{ n: number }>(
          'select count(*)::int as n from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)',
        );
        return rows[0]!.n;
      },
      stop: () => Promise.resolve(),
    };
  }
  const s3: TestS3 = await startTestS3();
  return {
    name,
    env: s3.env,
    storedPieces: async (sql, id) => {
      const keys = (await s3.keys()).filter((k) => k.includes(id));
      const recorded = await sql.query('select 1 from s3_multipart_uploads where id = $1', [id]);
      // fauxqs keeps open multipart uploads as folders; any open one counts (tests run one at a time).
      return keys.length + (recorded.rowCount ?? 0) + (await s3.openMultipartUploads()).length;
    },
    orphanPieces: async (sql) => {
      const { rows } = await sql.query<{ id: string }>('select id from jobs');
      const jobs = new Set(rows.map((r) => r.id));
      const unowned = (await s3.keys()).filter((k) => !jobs.has(k.slice(s3.prefix.length)));
      const recorded = await sql.query('select 1 from s3_multipart_uploads');
      return unowned.length + (recorded.rowCount ?? 0) + (await s3.openMultipartUploads()).length;
    },
    stop: () => s3.stop(),
  };
}
