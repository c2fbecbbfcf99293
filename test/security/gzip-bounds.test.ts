import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzip } from '../../src/analysis/read/gzip-stream.ts';
import { HEAD_BYTES } from '../../src/lib/file-head.ts';
import { gunzipHead, gunzipHeadStreaming, inflateHead } from '../../src/lib/gzip-head.ts';
import { TallyError } from '../../src/errors.ts';
import { postCsv, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

/**
 * Gzip uploads: the head is inflated as a stream that stops once it is full (never a
 * synchronous inflate on the API's event loop), and the worker's inflate is bounded by a
 * ratio (MAX_DECOMPRESSION_RATIO) besides the absolute MAX_DECOMPRESSED_BYTES.
 *
 * Ratios measured with gzip(1) on this repository's generators: the browser tests' revenue
 * export (200,000 rows, 10.6 MB) compresses 4.3× (-1) to 6.4× (-9); rows that vary only in
 * a counter and a date 15× (-9); one row repeated 1,000,000 times 412× (-9), deflate's
 * ceiling being ~1,030×. The default of 200 is 30× above the real export.
 */
const realCsv = (rows: number) =>
  'date,amount,customer,product\n' +
  Array.from(
    { length: rows },
    (_, i) =>
      `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},${((i * 7919) % 100_000) / 100},c-${(i * 104_729) % 50_000},p${i % 40}`,
  ).join('\n') +
  '\n';

function chunks(buf: Buffer, size = 16 * 1024): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) parts.push(buf.subarray(at, at + size));
  return Readable.from(parts);
}

async function drain(source: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of source) n += c.length;
  return n;
}

describe('the upload head inflates as a stream that stops at the head', () => {
  it('gives the same first 64 KiB as inflating the whole head', async () => {
    const gz = gzipSync(realCsv(20_000)).subarray(0, 64 * 1024);
    const streamed = await gunzipHeadStreaming(gz);
    expect(streamed.length).toBe(HEAD_BYTES);
    expect(streamed.equals(gunzipHead(gz))).toBe(true);
  });

  it('a small whole file inflates whole', async () => {
    const text = 'date,amount\n2024-01-01,5\n';
    expect((await gunzipHeadStreaming(gzipSync(text))).toString()).toBe(text);
  });

  // Its own timeout: inflates a 64 MiB bomb's head: ~31 s measured under load 16.
  it('a bomb’s head gives its 64 KiB of text instead of inflating 64 MiB (and refusing)', async () => {
    const text = Buffer.concat([Buffer.from('date,amount\n'), Buffer.alloc(200 * 1024 * 1024, '1')]);
    const head = gzipSync(text, { level: 9 }).subarray(0, 64 * 1024); // ~1000×
    // The old synchronous inflate ran to its 64 MiB cap on the event loop, then refused.
    expect(() => gunzipHead(head)).toThrow(/64 MiB/);
    const inflated = await gunzipHeadStreaming(head);
    expect(inflated.length).toBe(HEAD_BYTES);
    expect(inflated.subarray(0, 12).toString()).toBe('date,amount\n');
  }, 90_000);

  it('yields to the event loop while it inflates (a timer runs before it is done)', async () => {
    const head = gzipSync(realCsv(20_000)).subarray(0, 64 * 1024);
    let ticks = 0;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const inflated = await inflateHead(head);
    done = true;
    expect(inflated.compression).toBe('gzip');
    expect(ticks).toBeGreaterThan(0);
  });

  it('corrupt gzip is INVALID_CSV; gzip in gzip is refused', async () => {
    await expect(
      gunzipHeadStreaming(Buffer.from([0x1f, 0x8b, 0x08, 0xff, 0xff, 0, 0, 0])),
    ).rejects.toMatchObject({
      code: 'INVALID_CSV',
    });
    await expect(inflateHead(gzipSync(gzipSync('date,amount\n')))).rejects.toThrow(/gzip inside gzip/);
  });
});

describe('the worker’s inflate has a ratio bound', () => {
  it('refuses output past ratio × compressed bytes read, once past the first MiB', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 'a'), { level: 9 }); // ~1000×
    const error = await drain(gunzip(chunks(bomb), 8 * 1024 ** 3, 200)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TallyError);
    expect(error).toMatchObject({
      code: 'DECOMPRESSED_TOO_LARGE',
      message: expect.stringMatching(/200 times/),
    });
  });

  it('passes a real export, and a small file of any ratio (under 1 MiB out)', async () => {
    const real = Buffer.from(realCsv(100_000));
    expect(await drain(gunzip(chunks(gzipSync(real, { level: 9 })), 8 * 1024 ** 3, 200))).toBe(real.length);
    const tiny = Buffer.alloc(900 * 1024, 'a'); // ~1000× but 900 KiB
    expect(await drain(gunzip(chunks(gzipSync(tiny)), 8 * 1024 ** 3, 200))).toBe(tiny.length);
  });

  describe('in a real worker (MAX_DECOMPRESSION_RATIO default 200)', () => {
    let tally: TestTally;
    beforeAll(async () => {
      tally = await startTestTally();
    });
    afterAll(() => tally?.stop());

    // Its own timeout: a 412x file and a real export analysed end to end: ~25 s measured under load 16.
    it('a 412× file far below MAX_DECOMPRESSED_BYTES fails with the ratio named; a real export completes', async () => {
      const bomb = gzipSync(`date,amount\n${'2024-01-01,10.00\n'.repeat(3_000_000)}`, { level: 9 });
      const refused = await postCsv(tally.url, new Uint8Array(bomb), { filename: 'bomb.csv.gz' });
      expect(refused.status).toBe(202); // its head is good text
      const failed = await waitForFinal(tally.url, refused.body.jobId);
      expect(failed).toMatchObject({ state: 'failed', error: { code: 'DECOMPRESSED_TOO_LARGE' } });
      expect(failed.error.message).toMatch(/MAX_DECOMPRESSION_RATIO/);

      const real = gzipSync(realCsv(50_000));
      const ok = await postCsv(tally.url, new Uint8Array(real), { filename: 'export.csv.gz' });
      expect((await waitForFinal(tally.url, ok.body.jobId)).state).toBe('completed');
    }, 90_000);
  });
});
