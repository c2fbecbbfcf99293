import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spoolUpload } from '../../src/api/upload/spool-upload.ts';

// The spooler alone, on real busboy and a real disk: every way an upload can fail leaves
// the spool directory empty, and only after the temp file's stream has closed.

const boundary = 'spooltest';
const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };
const limits = { maxFileBytes: 1000, idleTimeoutMs: 5000, minBytesPerSecond: 0, rateGraceMs: 1000 };
const part = (name: string, filename: string, content: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n\r\n${content}\r\n`;
const end = `--${boundary}--\r\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-spool-unit-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('spoolUpload', () => {
  it('spools one file and reports its size, hash and head', async () => {
    const csv = 'date,amount\n2024-01-01,1\n';
    const body = Readable.from([Buffer.from(part('file', 'a.csv', csv) + end)]);
    const spooled = await spoolUpload(body, headers, dir, limits);
    expect(spooled).toMatchObject({ filename: 'a.csv', bytes: csv.length });
    expect(spooled.head.toString()).toBe(csv);
    expect(spooled.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await readdir(dir)).toEqual([path.basename(spooled.path)]);
  });

  it('refuses a second file and removes the first one’s temp file', async () => {
    const csv = 'date,amount\n2024-01-01,1\n';
    const body = Readable.from([Buffer.from(part('file', 'a.csv', csv) + part('file', 'b.csv', csv) + end)]);
    await expect(spoolUpload(body, headers, dir, limits)).rejects.toThrow(/exactly one file/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an oversized file with FILE_TOO_LARGE and removes the partial file', async () => {
    const body = Readable.from([Buffer.from(part('file', 'a.csv', 'x'.repeat(5000)) + end)]);
    await expect(spoolUpload(body, headers, dir, limits)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('cleans up when the client goes away mid-file', async () => {
    const body = new PassThrough();
    const pending = spoolUpload(body, headers, dir, limits);
    body.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,amount\n`,
    );
    await new Promise((r) => setTimeout(r, 50));
    body.emit('aborted');
    await expect(pending).rejects.toThrow(/closed the connection/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('cuts off a stalled body after the idle timeout', async () => {
    const body = new PassThrough();
    const pending = spoolUpload(body, headers, dir, { ...limits, idleTimeoutMs: 200 });
    body.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,`);
    await expect(pending).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(await readdir(dir)).toEqual([]);
  });
});
