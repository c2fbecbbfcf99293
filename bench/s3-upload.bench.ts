/**
 * FILE_STORE=s3: P1s, upload ingest into the S3 store through the real API process
 * beside a bare lib-storage `Upload` of the same body to the same server (the floor); its
 * API peak RSS, small and large; P1r, the same file as a resumable upload in 64 MiB PATCHes
 * beside P1a on the same store (the multipart route); and how much PostgreSQL grows per GiB
 * uploaded (pg_database_size). The S3 server is fauxqs in a process of its own, objects on disk.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import pg from 'pg';
import { Agent, request } from 'undici';
import { createS3Client } from '../src/files/s3-settings.ts';
import { PART_BYTES, PARTS_IN_FLIGHT } from '../src/files/s3-part-pipeline.ts';
import { peakRssMib, startRole, stopAll } from './support/processes.ts';
import { startBenchS3 } from './support/s3-server.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, round } from './support/stats.ts';

const MiB = 1024 * 1024;
const boundary = 'tallybenchboundary';
const ROW = '2024-03-15,123.45,customer-000042@example.com,sku-0007\n';
const BLOCK = Buffer.from(ROW.repeat(Math.floor(MiB / ROW.length)));
const HEADER = Buffer.from('date,amount,customer,product\n');

/** `bytes` (rounded down to whole blocks) of CSV, generated as it is sent. */
function* csv(bytes: number): Generator<Buffer> {
  yield HEADER;
  for (let sent = HEADER.length; sent + BLOCK.length <= bytes; sent += BLOCK.length) yield BLOCK;
}
const csvLength = (bytes: number) =>
  HEADER.length + Math.floor((bytes - HEADER.length) / BLOCK.length) * BLOCK.length;

function* multipart(bytes: number): Generator<Buffer> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n`,
  );
  yield* csv(bytes);
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/**
 * CPU seconds (user + system) a process has used so far: per GiB, a figure the other loads on
 * a shared machine disturb far less than MB/s.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ 100)
}

async function databaseSize(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('checkpoint').catch(() => undefined);
    const { rows } = await client.query<{ n: string }>('select pg_database_size(current_database()) as n');
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

export const runS3UploadBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const bytes = quick ? 64 * MiB : 1024 * MiB;
  const smallBytes = quick ? 16 * MiB : 100 * MiB;
  const s3 = await startBenchS3();
  const database = await server.createDatabase();
  const dispatcher = new Agent({ connections: 8 });
  const env = {
    ...s3.env,
    MAX_UPLOAD_BYTES: String(4 * 1024 * MiB),
    // The body pauses while four parts are in flight: on a loaded machine fauxqs took over 30 s
    // for them (a 408 at 3 MB/s). Ingest is measured here, not the client-side cut-off.
    UPLOAD_IDLE_TIMEOUT_MS: '600000',
    UPLOAD_MIN_BYTES_PER_SECOND: '0',
    // BENCH_PROF=1: CPU profiles of the API processes in BENCH_PROF_DIR (default /tmp/prof).
    ...(process.env.BENCH_PROF
      ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROF_DIR ?? '/tmp/prof'}` }
      : {}),
  };
  const mbps = (ms: number, n: number) => n / MiB / (ms / 1000);
  try {
    // The floor: lib-storage alone, same part size and concurrency as Tally's store, same server,
    // and the client Tally's store makes (src/files/s3-settings.ts: checksums only where
    // required, file bytes unsigned), so that the two differ only in what Tally adds.
    process.env.AWS_ACCESS_KEY_ID ??= s3.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY ??= s3.env.AWS_SECRET_ACCESS_KEY;
    const client = createS3Client({
      bucket: s3.bucket,
      prefix: '',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
    });
    let started = performance.now();
    const floorCpu = cpuSeconds(process.pid);
    await new Upload({
      client,
      params: { Bucket: s3.bucket, Key: 'bench/bare', Body: Readable.from(csv(bytes)) },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
    }).done();
    const bareMbps = mbps(performance.now() - started, csvLength(bytes));
    client.destroy();
    const gib = csvLength(bytes) / (1024 * MiB);
    const perGiB = (cpu: number) => `${round(cpu / gib)} CPU s/GiB`;
    log(
      `P1s floor (bare lib-storage): ${round(bareMbps)} MB/s; client ${perGiB(cpuSeconds(process.pid) - floorCpu)}`,
    );

    const postOnce = async (url: string, n: number) => {
      const body = [...multipart(n)].reduce((a, b) => a + b.length, 0);
      const t = performance.now();
      const res = await request(`${url}/api/jobs`, {
        method: 'POST',
        dispatcher,
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(body),
        },
        body: Readable.from(multipart(n)),
      });
      await res.body.dump();
      if (res.statusCode !== 202) throw new Error(`Tally answered ${res.statusCode}`);
      return performance.now() - t;
    };
    const measure = async (n: number) => {
      const api = await startRole('api', database.url, env);
      try {
        const cpu = cpuSeconds(api.child.pid);
        const ms = await postOnce(api.url, n);
        return { ms, rss: peakRssMib(api.child.pid), cpu: cpuSeconds(api.child.pid) - cpu };
      } finally {
        await stopAll([api.child]);
      }
    };
    const small = await measure(smallBytes);
    // After the first start (migrations, pg-boss's schema): what the large upload adds.
    const sizeBefore = await databaseSize(database.url);
    const large = await measure(bytes);
    const sizeAfter = await databaseSize(database.url);
    const tallyMbps = mbps(large.ms, csvLength(bytes));
    const growthPerGiB = (sizeAfter - sizeBefore) / MiB / (csvLength(bytes) / (1024 * MiB));
    log(
      `P1s Tally → S3: ${round(tallyMbps)} MB/s, API ${perGiB(large.cpu)}; RSS ${small.rss} → ${large.rss} MiB; PostgreSQL +${round(growthPerGiB)} MiB/GiB`,
    );

    // P1r: the same bytes as tus PATCHes of 64 MiB, beside the multipart route (P1a on this store).
    const api = await startRole('api', database.url, env);
    let resumableMbps = 0;
    let multipartMbps = 0;
    let multipartCpu = 0;
    let resumableCpu = 0;
    try {
      let cpu = cpuSeconds(api.child.pid);
      multipartMbps = mbps(median([await postOnce(api.url, bytes)]), csvLength(bytes));
      multipartCpu = cpuSeconds(api.child.pid) - cpu;
      cpu = cpuSeconds(api.child.pid);
      const length = csvLength(bytes);
      started = performance.now();
      const created = await fetch(`${api.url}/api/uploads`, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': String(length),
          'upload-metadata': `filename ${Buffer.from('big.csv').toString('base64')}`,
        },
      });
      const location = new URL(created.headers.get('location')!, api.url).toString();
      const source = csv(bytes);
      let offset = 0;
      let carry: Buffer[] = [];
      let carried = 0;
      for (const block of source) {
        carry.push(block);
        carried += block.length;
        if (carried >= 64 * MiB || offset + carried === length) {
          const res = await request(location, {
            method: 'PATCH',
            dispatcher,
            headers: {
              'tus-resumable': '1.0.0',
              'upload-offset': String(offset),
              'content-type': 'application/offset+octet-stream',
              'content-length': String(carried),
            },
            body: Readable.from(carry),
          });
          await res.body.dump();
          if (res.statusCode !== 204) throw new Error(`PATCH answered ${res.statusCode}`);
          offset += carried;
          carry = [];
          carried = 0;
        }
      }
      resumableMbps = mbps(performance.now() - started, length);
      resumableCpu = cpuSeconds(api.child.pid) - cpu;
    } finally {
      await stopAll([api.child]);
    }
    log(
      `P1r resumable (64 MiB PATCHes): ${round(resumableMbps)} MB/s, API ${perGiB(resumableCpu)}; ` +
        `multipart route ${round(multipartMbps)} MB/s, API ${perGiB(multipartCpu)}`,
    );

    return [
      {
        id: 'P1s',
        what: `upload ingest into S3, ${bytes / MiB} MiB, first byte → 202`,
        value: round(tallyMbps),
        unit: 'MB/s',
        floor: { what: 'bare lib-storage Upload → same server, MB/s', value: round(bareMbps) },
        ratio: round(tallyMbps / bareMbps),
        goal: '≥ 0.9× floor',
        pass: tallyMbps / bareMbps >= 0.9,
      },
      {
        id: 'P1s-rss',
        what: `API peak RSS with FILE_STORE=s3, ${smallBytes / MiB} → ${bytes / MiB} MiB`,
        value: large.rss,
        unit: 'MiB',
        floor: { what: `after ${smallBytes / MiB} MiB, MiB`, value: small.rss },
        ratio: round(large.rss / small.rss),
        goal: '≤ 256 MiB, no growth',
        pass: large.rss <= 256 && large.rss <= small.rss * 1.1,
      },
      {
        id: 'P1r',
        what: `resumable upload, ${bytes / MiB} MiB in 64 MiB PATCHes`,
        value: round(resumableMbps),
        unit: 'MB/s',
        floor: { what: 'multipart route (P1a), same store, MB/s', value: round(multipartMbps) },
        ratio: round(resumableMbps / multipartMbps),
        goal: '≥ 0.8× floor',
        pass: resumableMbps / multipartMbps >= 0.8,
      },
      {
        id: 'P1s-pg',
        what: 'PostgreSQL growth per GiB uploaded, FILE_STORE=s3',
        value: round(growthPerGiB),
        unit: 'MiB',
        goal: '< 1 MiB per GiB',
        pass: growthPerGiB < 1,
      },
    ];
  } finally {
    await dispatcher.close();
    await database.drop();
    await s3.stop();
  }
};

await runIfMain(import.meta.url, runS3UploadBench);
