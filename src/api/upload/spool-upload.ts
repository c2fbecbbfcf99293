import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform, type Writable } from 'node:stream';
import busboy from 'busboy';
import { TallyError } from '../../errors.ts';

/** Bytes of the file's head kept in memory for sniffing (gzip magic, text, header, delimiter). */
export const HEAD_BYTES = 64 * 1024;
const MAX_OPTIONS_BYTES = 64 * 1024;
const MAX_FILENAME_CHARS = 255;

export interface SpooledUpload {
  path: string;
  filename: string;
  bytes: number;
  sha256: string;
  head: Buffer;
  optionsText: string | undefined;
}

export interface SpoolLimits {
  maxFileBytes: number;
  /** Cut a body that sends nothing for this long (a stalled client). */
  idleTimeoutMs: number;
  /**
   * Cut a body slower than this on average once `rateGraceMs` have passed: a client
   * trickling one byte a second would otherwise hold a connection and a temp file forever
   * while never tripping the idle timer.
   */
  minBytesPerSecond: number;
  rateGraceMs: number;
}

/**
 * Streams the multipart body to a private temp file: constant memory whatever the size.
 * Counts and hashes the bytes as they pass and keeps the first 64 KiB for sniffing.
 *
 * busboy reports an oversized file only by truncating it (the 'limit' event), never as an
 * error, and treats a non-number limit as Infinity; `maxFileBytes` is a validated number
 * and both signals are turned into FILE_TOO_LARGE here. On any failure the temp file is
 * removed before the error propagates.
 */
export async function spoolUpload(
  req: Readable,
  headers: IncomingHttpHeaders,
  spoolDir: string,
  limits: SpoolLimits,
): Promise<SpooledUpload> {
  if (!Number.isSafeInteger(limits.maxFileBytes) || limits.maxFileBytes <= 0) {
    throw new Error('maxFileBytes must be a positive integer'); // busboy would treat it as Infinity
  }
  const tempPath = path.join(spoolDir, `${process.pid}-${randomUUID()}.part`);
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers,
      limits: {
        fileSize: limits.maxFileBytes,
        files: 2, // one allowed; a second is seen (and refused) rather than silently dropped
        fields: 20,
        fieldSize: MAX_OPTIONS_BYTES,
        parts: 25,
        headerPairs: 20,
      },
    });
  } catch (error) {
    throw new TallyError('BAD_REQUEST', `The multipart request is malformed: ${(error as Error).message}.`);
  }

  return new Promise<SpooledUpload>((resolve, reject) => {
    let settled = false;
    let filesSeen = 0;
    let fileDone: Promise<{ bytes: number; sha256: string; head: Buffer; truncated: boolean }> | undefined;
    let stopWriting: (() => void) | undefined;
    let filename = 'upload.csv';
    let optionsText: string | undefined;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      req.unpipe(bb);
      bb.removeAllListeners();
      bb.on('error', () => undefined); // late parser errors after we gave up are expected
      // Stop writing and wait for the write stream to close before deleting: it opens the
      // temp file asynchronously, so deleting first could race its creation and leave the
      // file behind (seen under load). We destroy the file stream, not busboy's part stream:
      // busboy's part streams never emit 'close', so a pipeline on them never settles.
      stopWriting?.();
      void (fileDone ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => fs.rm(tempPath, { force: true }))
        .finally(() => reject(error instanceof Error ? error : new Error(String(error))));
    };
    const startedAt = Date.now();
    let lastDataAt = startedAt;
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      lastDataAt = Date.now();
      received += chunk.length;
    });
    const watchdog = setInterval(
      () => {
        const now = Date.now();
        if (now - lastDataAt >= limits.idleTimeoutMs) {
          fail(
            new TallyError(
              'REQUEST_TIMEOUT',
              `The upload stalled: no data for ${Math.round((now - lastDataAt) / 1000)} s.`,
            ),
          );
        } else if (
          now - startedAt >= limits.rateGraceMs &&
          (received * 1000) / (now - startedAt) < limits.minBytesPerSecond
        ) {
          fail(
            new TallyError(
              'REQUEST_TIMEOUT',
              `The upload is too slow (under ${limits.minBytesPerSecond} bytes/s); check the connection and try again.`,
            ),
          );
        }
      },
      Math.min(1000, limits.idleTimeoutMs),
    );
    req.on('aborted', () =>
      fail(new TallyError('BAD_REQUEST', 'The client closed the connection mid-upload.')),
    );
    req.on('error', (e) => fail(e));

    bb.on('file', (name, stream, info) => {
      filesSeen += 1;
      if (name !== 'file' || filesSeen > 1) {
        stream.resume();
        fail(
          new TallyError(
            'BAD_REQUEST',
            name !== 'file'
              ? `Unexpected file part "${truncate(name, 40)}": send the CSV in a part named "file".`
              : 'Send exactly one file per upload.',
          ),
        );
        return;
      }
      filename = sanitizeFilename(info.filename);
      // 'wx' + 0600: a fresh private file, never an existing path; the name is ours, not the client's.
      const sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
      stopWriting = () => {
        stream.resume(); // let busboy drain the rest of the part
        sink.destroy(new Error('upload abandoned'));
      };
      fileDone = writeFilePart(stream, sink, () => fail(tooLarge(limits.maxFileBytes)));
      fileDone.catch(fail);
    });
    bb.on('field', (name, value, info) => {
      if (name !== 'options') return; // unknown fields are ignored, as browsers add their own
      if (info.valueTruncated) {
        fail(new TallyError('BAD_REQUEST', `The options part is larger than ${MAX_OPTIONS_BYTES} bytes.`));
        return;
      }
      optionsText = value;
    });
    bb.on('filesLimit', () => fail(new TallyError('BAD_REQUEST', 'Send exactly one file per upload.')));
    bb.on('partsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many parts.')));
    bb.on('fieldsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many form fields.')));
    bb.on('error', (error: Error) =>
      fail(new TallyError('BAD_REQUEST', `The multipart request is malformed: ${error.message}.`)),
    );
    bb.on('close', () => {
      if (settled) return;
      if (!fileDone) {
        fail(new TallyError('BAD_REQUEST', 'No file: send the CSV as a multipart part named "file".'));
        return;
      }
      fileDone.then((file) => {
        if (settled) return;
        if (file.truncated) return fail(tooLarge(limits.maxFileBytes));
        settled = true;
        clearInterval(watchdog);
        resolve({ path: tempPath, filename, optionsText, ...file });
      }, fail);
    });
    req.pipe(bb);
  });
}

async function writeFilePart(
  stream: Readable & { truncated?: boolean },
  sink: Writable,
  onLimit: () => void,
): Promise<{ bytes: number; sha256: string; head: Buffer; truncated: boolean }> {
  const hash = createHash('sha256');
  const headParts: Buffer[] = [];
  let headBytes = 0;
  let bytes = 0;
  stream.on('limit', onLimit);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      hash.update(chunk);
      if (headBytes < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - headBytes);
        headParts.push(Buffer.from(part)); // copy: busboy may reuse its buffers
        headBytes += part.length;
      }
      done(null, chunk);
    },
  });
  await pipeline(stream, meter, sink);
  return {
    bytes,
    sha256: hash.digest('hex'),
    head: Buffer.concat(headParts),
    truncated: stream.truncated === true,
  };
}

function tooLarge(max: number): TallyError {
  return new TallyError('FILE_TOO_LARGE', `The file is larger than the ${formatBytes(max)} upload limit.`, {
    maxBytes: max,
  });
}

/**
 * The client's filename is data, shown back to its owner; it never becomes a path (spool
 * files are named by us). It is kept as sent, minus control characters (PostgreSQL text
 * cannot hold NUL) and cut to a bounded length.
 */
export function sanitizeFilename(raw: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const clean = (raw ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return truncate(clean, MAX_FILENAME_CHARS) || 'upload.csv';
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(2)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(2)} KiB`;
  return `${n} bytes`;
}
