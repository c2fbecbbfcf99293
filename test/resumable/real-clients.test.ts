import { crc32 } from 'node:zlib';
import pg from 'pg';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { createTallyClient } from '../../src/client/index.ts';
import { trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startCuttingProxy, type CuttingProxy } from './cutting-proxy.ts';
import { startStore, type StoreUnderTest } from './stores.ts';

// Clients nobody here wrote (tus-js-client) and our own (@tally/client), each through a
// proxy that drops the connection mid-upload: they resume from the server's offset and the
// job's figures are exact. Both stores (docs/reference.md, "Where bytes live").
const MiB = 1024 * 1024;
// Auth on: the proxy's port is not the server's, which auth-off mode refuses (docs/reference.md, "Security").
const KEY = 'real-clients-key-4b7e1d9c2a6f';
const auth = { authorization: `Bearer ${KEY}` };

/** `rows` sales of 12.34 each (exactly 12.34 × rows in revenue), dated through 2024. */
function salesCsv(rows: number): Buffer<ArrayBuffer> {
  const lines = ['date,amount,customer'];
  for (let i = 0; i < rows; i++) {
    lines.push(`2024-${String((i % 12) + 1).padStart(2, '0')}-15,12.34,customer-${i % 1000}`);
  }
  return Buffer.from(new TextEncoder().encode(`${lines.join('\n')}\n`).buffer);
}

describe.each(['postgres', 's3'] as const)(
  'resuming after a dropped connection, FILE_STORE=%s',
  (storeName) => {
    let store: StoreUnderTest;
    let tally: TestTally;
    let sql: pg.Pool;

    beforeAll(async () => {
      store = await startStore(storeName);
      tally = await startTestTally({ env: { ...store.env, API_TOKENS: `alice:${KEY}` } });
      sql = new pg.Pool({ connectionString: tally.database.url, max: 1 });
    });
    afterAll(async () => {
      await sql?.end();
      await tally?.stop();
      await store?.stop();
    });

    // On a failure (a hang included): the API's pool and what its database sessions wait on.
    beforeEach(() => {
      onTestFailed(async () => {
        const { totalCount, idleCount, waitingCount } = tally.db.pool;
        const client = new pg.Client({ connectionString: tally.database.url });
        await client.connect();
        try {
          const { rows } = await client.query(
            `select state, wait_event_type, wait_event, now() - xact_start as in_xact, left(query, 120) as query
               from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
          );
          // eslint-disable-next-line no-console -- where a failed (or hung) run stood, in its output
          console.error(
            `API pool: ${totalCount} open, ${idleCount} idle, ${waitingCount} waiting; sessions:`,
            rows,
          );
        } finally {
          await client.end();
        }
      });
    });

    /**
     * The proxy's cut waits for this: a PATCH holds its upload's lease, so its handler runs
     * and keeps what arrived. Cut sooner (the bytes went through in a millisecond, before the
     * handler's first query), the client's retry could take the lease first and the cut
     * PATCH would store nothing (423): a correct resume from 0 that shows nothing.
     */
    const whenLeaseHeld = () =>
      waitUntil(
        async () =>
          (await sql.query('select 1 from resumable_uploads where locked_until > now()')).rowCount === 1,
        { what: 'a PATCH holding its upload’s lease', timeoutMs: 10_000 },
      ).then(() => undefined);

    // Each run's proxy: what it saw is printed when the test fails.
    function traced(proxy: CuttingProxy): CuttingProxy {
      // eslint-disable-next-line no-console -- where a failed (or hung) run stood, in its output
      onTestFailed(() => console.error(`proxy (cuts ${proxy.cuts}):\n${proxy.trace.join('\n')}`));
      return proxy;
    }

    async function expectExactFigures(jobId: string, rows: number, file: Buffer): Promise<void> {
      const status = await waitForFinal(tally.url, jobId, auth, 60_000);
      expect(status).toMatchObject({ state: 'completed', bytes: file.length });
      // The whole file's CRC-32, continued across the requests that wrote it.
      const stored = await sql.query('select crc32::text as crc32 from jobs where id = $1', [jobId]);
      expect(stored.rows).toEqual([{ crc32: String(crc32(file)) }]);
      const result = await trpcQuery(tally.url, 'jobs.result', { jobId }, auth);
      expect(result.body.result.data.rows).toMatchObject({ total: rows, valid: rows });
      expect(result.body.result.data.currencies[0].totals.revenue).toBe(Math.round(1234 * rows) / 100);
    }

    // A PATCH cut off mid-body keeps what arrived before the cut (tus): the client's next PATCH
    // starts at the server's offset, not at 0.
    it('tus-js-client: cut at 1 MiB into the PATCH, resumes from the stored offset, one job', async () => {
      const rows = 120_000;
      const file = salesCsv(rows);
      const proxy = traced(await startCuttingProxy(tally.url, MiB, 1, { beforeCut: whenLeaseHeld }));
      const patchOffsets: number[] = [];
      let lastSent = 0;
      try {
        const jobId = await new Promise<string>((resolve, reject) => {
          // A hang says where it stood instead of ending in the test's timeout.
          setTimeout(() => {
            reject(
              new Error(
                `no end in 80 s: PATCHes at ${patchOffsets.join(',')}, sent ${lastSent}, cuts ${proxy.cuts}`,
              ),
            );
          }, 80_000).unref();
          const upload = new tus.Upload(file, {
            endpoint: `${proxy.url}/api/uploads`,
            metadata: { filename: 'sales.csv' },
            headers: auth,
            retryDelays: [0, 200, 500, 1000, 2000],
            onBeforeRequest: (req) => {
              if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
            },
            onError: reject,
            onProgress: (sent) => {
              lastSent = sent;
            },
            onSuccess: ({ lastResponse }) => {
              const id = lastResponse.getHeader('Tally-Job-Id');
              if (id) resolve(id);
              else reject(new Error('no Tally-Job-Id on the last response'));
            },
          });
          upload.start();
        });
        expect(proxy.cuts).toBe(1);
        // Resumed, not restarted: the second PATCH starts where the server had stored up to.
        expect(patchOffsets.length).toBeGreaterThanOrEqual(2);
        expect(patchOffsets[0]).toBe(0);
        expect(patchOffsets.at(-1)).toBeGreaterThan(0);
        await expectExactFigures(jobId, rows, file);
      } finally {
        await proxy.stop();
      }
    });

    it('@tally/client uploadCsv(file, {resumable: true}) resumes after a dropped connection', async () => {
      const rows = 420_000; // over the 8 MiB threshold
      const file = salesCsv(rows);
      expect(file.length).toBeGreaterThan(8 * MiB);
      const proxy = traced(await startCuttingProxy(tally.url, 5 * MiB, 1, { beforeCut: whenLeaseHeld }));
      const progress: number[] = [];
      const patchOffsets: number[] = [];
      // What the client asked and got, with times: a failure (a hang included) says where it stood.
      const trace: string[] = [];
      const t0 = Date.now();
      // Where a failed (or hung) run stood, in its output.
      const printTrace = () =>
        console.error(`@tally/client requests (cuts ${proxy.cuts}):\n${trace.join('\n')}`); // eslint-disable-line no-console
      onTestFailed(printTrace);
      const recordingFetch: typeof fetch = async (url, init) => {
        const offset = (init?.headers as Record<string, string> | undefined)?.['upload-offset'];
        if (init?.method === 'PATCH') patchOffsets.push(Number(offset));
        const asked = `${Date.now() - t0} ms ${init?.method} offset ${offset ?? '-'}`;
        trace.push(asked);
        try {
          const res = await fetch(url, init);
          trace.push(`${asked} → ${res.status} at ${Date.now() - t0} ms`);
          return res;
        } catch (error) {
          trace.push(`${asked} → ${String((error as Error).cause ?? error)} at ${Date.now() - t0} ms`);
          throw error;
        }
      };
      try {
        const client = createTallyClient({ baseUrl: proxy.url, token: KEY, fetch: recordingFetch });
        const { jobId } = await client.uploadCsv(new Blob([file]), {
          resumable: true,
          filename: 'big.csv',
          onUploadProgress: (p) => progress.push(p.loaded),
        });
        expect(proxy.cuts).toBe(1);
        expect(progress.at(-1)).toBe(file.length);
        expect(patchOffsets[0]).toBe(0);
        expect(patchOffsets.at(-1)).toBeGreaterThan(0);
        await expectExactFigures(jobId, rows, file);
      } finally {
        await proxy.stop();
      }
    });
  },
);
