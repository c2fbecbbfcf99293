/**
 * P1 upload ingest: first byte → 202 for a large CSV through the real API process, beside
 * two bare node:http floors run in the same session: streaming the same body into the same
 * table with the same 1 MiB chunking (the storage floor), and piping it to a file. Also
 * the API process's peak RSS (VmHWM) for a small and a large upload, and for 20
 * concurrent uploads.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { freePort, peakRssMib, startRole, stopAll } from './support/processes.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, round } from './support/stats.ts';

const root = path.resolve(import.meta.dirname, '..');
const MiB = 1024 * 1024;
const boundary = 'tallybenchboundary';

/** A multipart body of `bytes` bytes of CSV, generated as it is sent (no file, flat memory). */
function* multipartBody(bytes: number): Generator<Buffer> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n`,
  );
  const header = Buffer.from('date,amount,customer,product\n');
  yield header;
  const row = '2024-03-15,123.45,customer-000042@example.com,sku-0007\n';
  const block = Buffer.from(row.repeat(Math.floor(MiB / row.length)));
  let sent = header.length;
  while (sent + block.length <= bytes) {
    yield block;
    sent += block.length;
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

function bodyLength(bytes: number): number {
  let n = 0;
  for (const part of multipartBody(bytes)) n += part.length;
  return n;
}

async function upload(
  url: string,
  bytes: number,
  dispatcher: Agent,
): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const res = await request(url, {
    method: 'POST',
    dispatcher,
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(bodyLength(bytes)),
    },
    body: Readable.from(multipartBody(bytes), { objectMode: false }),
  });
  await res.body.dump();
  return { ms: performance.now() - started, status: res.statusCode };
}

async function bareServer(mode: 'store' | 'file', databaseUrl: string) {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/support/bare-upload-servers.ts', mode, String(port), databaseUrl],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((r) => proc.stdout.once('data', r));
  return { url: `http://127.0.0.1:${port}/`, stop: () => proc.kill() };
}

export const runUploadBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const opts = {
    bytes: quick ? 64 * MiB : 1024 * MiB,
    smallBytes: quick ? 8 * MiB : 100 * MiB,
    concurrentBytes: quick ? 4 * MiB : 50 * MiB,
    runs: quick ? 1 : 3,
  };
  const database = await server.createDatabase();
  const dispatcher = new Agent({ connections: 32 });
  const mbps = (ms: number, bytes: number) => bytes / MiB / (ms / 1000);
  try {
    // Tally's API (migrates the database on start), then the floors on the same database.
    const measureTally = async (bytes: number) => {
      const api = await startRole('api', database.url, { MAX_UPLOAD_BYTES: String(4 * 1024 * MiB) });
      try {
        const times: number[] = [];
        for (let i = 0; i < opts.runs; i++) {
          const r = await upload(`${api.url}/api/jobs`, bytes, dispatcher);
          if (r.status !== 202) throw new Error(`Tally answered ${r.status}`);
          times.push(r.ms);
        }
        return { ms: median(times), rss: peakRssMib(api.child.pid) };
      } finally {
        await stopAll([api.child]);
      }
    };
    const small = await measureTally(opts.smallBytes);
    const large = await measureTally(opts.bytes);
    log(
      `P1 Tally: ${round(mbps(large.ms, opts.bytes))} MB/s for ${opts.bytes / MiB} MiB; peak RSS ${small.rss} MiB after ${opts.smallBytes / MiB} MiB, ${large.rss} MiB after ${opts.bytes / MiB} MiB`,
    );

    const floors: Record<'store' | 'file', number> = { store: 0, file: 0 };
    for (const mode of ['store', 'file'] as const) {
      const bare = await bareServer(mode, database.url);
      try {
        const times: number[] = [];
        for (let i = 0; i < opts.runs; i++) times.push((await upload(bare.url, opts.bytes, dispatcher)).ms);
        floors[mode] = mbps(median(times), opts.bytes);
      } finally {
        bare.stop();
      }
      log(`P1 floor (${mode}): ${round(floors[mode])} MB/s`);
    }

    // 20 concurrent uploads against a fresh API process.
    const api = await startRole('api', database.url, { MAX_UPLOAD_BYTES: String(4 * 1024 * MiB) });
    let concurrentRss = 0;
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => upload(`${api.url}/api/jobs`, opts.concurrentBytes, dispatcher)),
      );
      const failed = results.filter((r) => r.status !== 202);
      if (failed.length > 0)
        throw new Error(`concurrent uploads failed: ${failed.map((r) => r.status).join(', ')}`);
      concurrentRss = peakRssMib(api.child.pid);
    } finally {
      await stopAll([api.child]);
    }
    log(`P1 20 concurrent ${opts.concurrentBytes / MiB} MiB uploads: peak RSS ${concurrentRss} MiB`);

    const tallyMbps = mbps(large.ms, opts.bytes);
    return [
      {
        id: 'P1a',
        what: `upload ingest, ${opts.bytes / MiB} MiB, first byte → 202`,
        value: round(tallyMbps),
        unit: 'MB/s',
        floor: { what: 'bare http → same table, MB/s', value: round(floors.store) },
        ratio: round(tallyMbps / floors.store),
        goal: '≥ 0.9× floor',
        pass: tallyMbps / floors.store >= 0.9,
        note: `against a bare pipe-to-file server (${round(floors.file)} MB/s): Tally ${round(tallyMbps / floors.file)}×, storage floor ${round(floors.store / floors.file)}×`,
      },
      {
        id: 'P1b',
        what: `API peak RSS, ${opts.smallBytes / MiB} MiB → ${opts.bytes / MiB} MiB upload`,
        value: large.rss,
        unit: 'MiB',
        floor: { what: `after ${opts.smallBytes / MiB} MiB, MiB`, value: small.rss },
        ratio: round(large.rss / small.rss),
        goal: '≤ 256 MiB, no growth',
        pass: large.rss <= 256 && large.rss <= small.rss * 1.1,
      },
      {
        id: 'P1c',
        what: `API peak RSS, 20 × ${opts.concurrentBytes / MiB} MiB at once`,
        value: concurrentRss,
        unit: 'MiB',
        goal: '≤ 384 MiB',
        pass: concurrentRss <= 384,
      },
    ];
  } finally {
    await dispatcher.close();
    await database.drop();
  }
};

await runIfMain(import.meta.url, runUploadBench);
